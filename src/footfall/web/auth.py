"""Bearer API keys for the Stats and Sites APIs: who is asking, which sites they may read, how often.

A key acts for its user: it reaches exactly the sites that user may see. Each key has an
hourly request limit, counted here in-process (one fixed window per key and clock hour),
which is exact for the embedded, single-process deployment. With several app replicas
the counter belongs in Redis (INCR + EXPIRE on `ratelimit:{key_id}:{hour}`) so replicas
share it; `RateLimiter` is the seam for that.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from sqlalchemy.orm import Session
from starlette.requests import Request

from footfall.accounts.apikeys import find_api_key
from footfall.accounts.errors import DomainError
from footfall.meta.models import ApiKey, Site, User
from footfall.sites.sites import list_sites, normalise_domain


class ApiError(Exception):
    """An API failure with the HTTP status and the message Plausible gives for it."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


MISSING_KEY = "Missing API key. Please use a valid Plausible API key as a Bearer Token."
INVALID_KEY = (
    "Invalid API key or site ID. Please make sure you're using a valid API key with access to the site "
    "you've requested."
)
INVALID_KEY_ONLY = "Invalid API key. Please make sure you're using a valid API key."
MISSING_SITE = "Missing site ID. Please provide the required site_id parameter with your request."


@dataclass(frozen=True)
class Caller:
    user_id: int
    key_id: int
    hourly_limit: int


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, MISSING_KEY)
    return token.strip()


def authenticate(db: Session, token: str) -> tuple[ApiKey, User]:
    key = find_api_key(db, token)
    if key is None:
        raise ApiError(401, INVALID_KEY_ONLY)
    return key, key.user


def site_for(db: Session, user: User, site_id: str | None) -> Site:
    """The site named by `site_id` if this user may see it; otherwise Plausible's 401."""
    if not site_id or not str(site_id).strip():
        raise ApiError(400, MISSING_SITE)
    try:
        domain = normalise_domain(str(site_id))
    except DomainError:
        raise ApiError(401, INVALID_KEY) from None
    for site in list_sites(db, user):
        if site.domain == domain:
            return site
    raise ApiError(401, INVALID_KEY)


class RateLimiter:
    """Requests per key per clock hour, kept in this process."""

    def __init__(self, clock=time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._windows: dict[int, tuple[int, int]] = {}

    def hit(self, key_id: int, limit: int) -> None:
        now = self._clock()
        hour = int(now // 3600)
        with self._lock:
            window, count = self._windows.get(key_id, (hour, 0))
            if window != hour:
                window, count = hour, 0
            if count >= limit:
                retry_after = max(1, int((hour + 1) * 3600 - now))
                raise ApiError(
                    429,
                    f"Too many API requests. Your API key is limited to {limit} requests per hour.",
                    {"Retry-After": str(retry_after)},
                )
            self._windows[key_id] = (window, count + 1)


def rate_limiter(request: Request) -> RateLimiter:
    services = request.app.state.services
    limiter = services.extras.get("api_rate_limiter")
    if limiter is None:
        limiter = services.extras.setdefault("api_rate_limiter", RateLimiter())
    return limiter
