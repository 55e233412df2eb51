"""The Stats and Sites APIs' request side of API access: the Bearer token of a request, and
this app's rate limiter and auth cache. What a key may do, the limiters and the cache are
`footfall.accounts.api_access`; its names are kept here for the HTTP handlers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from starlette.requests import Request

from footfall.accounts.api_access import (
    INVALID_KEY,
    INVALID_KEY_ONLY,
    MISSING_KEY,
    MISSING_SITE,
    NOT_A_SITES_KEY,
    ApiError,
    AuthCache,
    KeyGrant,
    RateLimiter,
    authenticate,
    make_rate_limiter,
    require_provision,
    site_domain,
    site_for,
    too_many_requests,
)
from footfall.services import API_AUTH_CACHE, API_RATE_LIMITER, Services

__all__ = [
    "INVALID_KEY",
    "INVALID_KEY_ONLY",
    "MISSING_KEY",
    "MISSING_SITE",
    "NOT_A_SITES_KEY",
    "ApiError",
    "AuthCache",
    "KeyGrant",
    "RateLimiter",
    "auth_cache",
    "authenticate",
    "bearer_token",
    "make_rate_limiter",
    "rate_limiter",
    "require_provision",
    "site_domain",
    "site_for",
    "too_many_requests",
]

_extras_lock = threading.Lock()
T = TypeVar("T")


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, MISSING_KEY)
    return token.strip()


def _app_extra(request: Request, key: str, make: Callable[[Services], T]) -> T:
    """The app's one `key` object, made by `make` on first use (under a lock: two requests at
    once must not make two)."""
    services = request.app.state.services
    found = services.extras.get(key)
    if found is None:
        with _extras_lock:
            found = services.extras.get(key)
            if found is None:
                found = services.extras[key] = make(services)
    return found


def rate_limiter(request: Request) -> RateLimiter:
    """This app's limiter (and its one Redis connection pool); Services.close() closes it."""
    return _app_extra(
        request, API_RATE_LIMITER, lambda services: make_rate_limiter(services.settings.redis_url)
    )


def _watching_cache(services: Services) -> AuthCache:
    cache = AuthCache(services.settings.api_auth_cache_seconds)
    cache.watch(services.sessions)
    return cache


def auth_cache(request: Request) -> AuthCache:
    """This app's cache of authorised keys and sites, made (and set to watch its sessions) on
    first use."""
    return _app_extra(request, API_AUTH_CACHE, _watching_cache)
