"""The Stats and Sites APIs' request side of API access: the Bearer token of a request, and
this app's rate limiter and auth cache. What a key may do, the limiters and the cache are
`footfall.accounts.api_access`; its names are kept here for the HTTP handlers.
"""

from __future__ import annotations

import threading

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
    MemoryRateLimiter,
    RateLimiter,
    RedisRateLimiter,
    authenticate,
    make_rate_limiter,
    require_provision,
    site_domain,
    site_for,
    too_many_requests,
)
from footfall.services import API_AUTH_CACHE, API_RATE_LIMITER

__all__ = [
    "INVALID_KEY",
    "INVALID_KEY_ONLY",
    "MISSING_KEY",
    "MISSING_SITE",
    "NOT_A_SITES_KEY",
    "ApiError",
    "AuthCache",
    "KeyGrant",
    "MemoryRateLimiter",
    "RateLimiter",
    "RedisRateLimiter",
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


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, MISSING_KEY)
    return token.strip()


def rate_limiter(request: Request) -> RateLimiter:
    services = request.app.state.services
    limiter = services.extras.get(API_RATE_LIMITER)
    if limiter is None:
        # One limiter (and one Redis connection pool) per running app; Services.close() closes it.
        with _extras_lock:
            limiter = services.extras.get(API_RATE_LIMITER)
            if limiter is None:
                limiter = services.extras[API_RATE_LIMITER] = make_rate_limiter(services.settings.redis_url)
    return limiter


def auth_cache(request: Request) -> AuthCache:
    """This app's cache of authorised keys and sites, made (and set to watch its sessions) on
    first use."""
    services = request.app.state.services
    cache = services.extras.get(API_AUTH_CACHE)
    if cache is None:
        with _extras_lock:
            cache = services.extras.get(API_AUTH_CACHE)
            if cache is None:
                cache = AuthCache(services.settings.api_auth_cache_seconds)
                cache.watch(services.sessions)
                services.extras[API_AUTH_CACHE] = cache
    return cache
