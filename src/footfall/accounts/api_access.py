"""API access: which key is asking, what it may do, how often (the Stats and Sites APIs).

A key acts for its user: it reaches exactly the sites that user may see. Its scope decides
what it may do there, as in Plausible: every key reads the Stats API and lists sites and
goals; only a Sites API key (`sites:provision:*`) creates, changes or deletes them, and a
Stats API key asking to is answered 401.

Each key has an hourly request limit: at most that many requests in any 60 minutes, counted
by the sliding-window limiter of `footfall.accounts.limiter` (the one the login throttle uses;
in Redis, `footfall:ratelimit:{key_id}`, when `REDIS_URL` is set, so every replica adds to one
count). A refused request is not counted, and its `Retry-After` says when the oldest counted
request leaves the hour. If Redis cannot be reached, requests are still served: each replica
counts on its own until Redis answers again (a key may then make up to its limit times the
number of replicas), and a warning is logged at most once a minute.

The Stats API keeps what it read of a key and of a site for `API_AUTH_CACHE_SECONDS` (2 by
default; 0 reads the metadata store on every request), so a dashboard's burst of queries
reads them once. A change made through this process (its sessions) empties the cache when it
commits; one made elsewhere (another replica, a script on the database) takes effect within
that many seconds. The rate limit is counted on every request all the same.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from itertools import chain
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction, selectinload, sessionmaker

from footfall.accounts.apikeys import find_api_key, may_provision
from footfall.accounts.errors import DomainError
from footfall.accounts.limiter import SlidingWindow, make_window
from footfall.meta.models import ApiKey, Goal, Membership, Site, SiteImport, User
from footfall.sites.sites import normalise_domain


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
NOT_A_SITES_KEY = (
    "Invalid API key. Please make sure you're using a valid API key with access to the resource "
    "you've requested."
)

log = logging.getLogger("footfall.auth")


def authenticate(db: Session, token: str) -> tuple[ApiKey, User]:
    key = find_api_key(db, token)
    if key is None:
        raise ApiError(401, INVALID_KEY_ONLY)
    return key, key.user


def require_provision(key: ApiKey) -> None:
    """Refuse a Stats API key on the Sites API's writing endpoints, with Plausible's 401."""
    if not may_provision(key):
        raise ApiError(401, NOT_A_SITES_KEY)


def site_domain(site_id: str | None) -> str:
    """The domain a request's `site_id` names; Plausible's 400 or 401 when it names none."""
    if not site_id or not str(site_id).strip():
        raise ApiError(400, MISSING_SITE)
    try:
        return normalise_domain(str(site_id))
    except DomainError:
        raise ApiError(401, INVALID_KEY) from None


def site_for(db: Session, user_id: int, is_superuser: bool, domain: str) -> Site:
    """The site of `domain` (see `site_domain`), with its goals, if this user may see it;
    otherwise Plausible's 401."""
    query = select(Site).options(selectinload(Site.goals)).where(Site.domain == domain)
    if not is_superuser:
        query = query.join(Membership).where(Membership.user_id == user_id)
    site = db.scalar(query)
    if site is None:
        raise ApiError(401, INVALID_KEY)
    return site


@dataclass(frozen=True)
class KeyGrant:
    """What the Stats API needs of an authenticated key: whose it is and how often it may ask."""

    key_id: int
    user_id: int
    is_superuser: bool
    hourly_request_limit: int

    @classmethod
    def of(cls, key: ApiKey, user: User) -> KeyGrant:
        return cls(key.id, user.id, user.is_superuser, key.hourly_request_limit)


# What a key and the sites it reaches are read from: a change to any of them (a key deleted, a
# member removed, a goal added, a site renamed) empties the cache when its session commits.
_GRANTING = (ApiKey, User, Membership, Site, Goal)
# Written by the key lookup itself (find_api_key), and grants nothing.
_BOOKKEEPING = frozenset({"last_used_at"})


def _changes_a_grant(instance: object, session: Session) -> bool:
    if isinstance(instance, SiteImport):
        # A site's completed imports are part of what a query reads of it; progress is not.
        return instance in session.deleted or inspect(instance).attrs.state.history.has_changes()
    if not isinstance(instance, _GRANTING):
        return False
    if instance in session.new or instance in session.deleted:
        return True
    return any(attr.history.has_changes() for attr in inspect(instance).attrs if attr.key not in _BOOKKEEPING)


class AuthCache:
    """Values read from the metadata store to authorise a request, each kept for `seconds`
    from the moment its read began, so a value is never older than that. Only what was found
    is kept (an unknown key is looked up every time), and at most `capacity` entries. A value
    whose read began before the cache was last emptied is not kept: it may predate the change
    that emptied it."""

    def __init__(
        self, seconds: float, clock: Callable[[], float] = time.monotonic, capacity: int = 10_000
    ) -> None:
        self.seconds = seconds
        self.clock = clock
        self._capacity = capacity
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._emptied = 0  # how many times clear() ran

    def get(self, name: Hashable) -> Any | None:
        entry = self._entries.get(name)
        if entry is None or self.clock() >= entry[0]:
            return None
        return entry[1]

    def ticket(self) -> tuple[float, int]:
        """To take before reading a value from the store, and give to `put` with it."""
        return self.clock(), self._emptied

    def put(self, name: Hashable, value: Any, ticket: tuple[float, int]) -> None:
        """Keep `value`, read from the store after `ticket` was taken, until `seconds` after
        that; unless the cache was emptied since."""
        read_at, emptied = ticket
        if self.seconds <= 0:
            return
        expires = read_at + self.seconds
        with self._lock:
            if emptied != self._emptied:
                return
            if len(self._entries) >= self._capacity:
                now = self.clock()
                self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
                if len(self._entries) >= self._capacity:
                    self._entries.clear()
            self._entries[name] = (expires, value)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._emptied += 1

    def watch(self, sessions: sessionmaker[Session]) -> None:
        """Empty this cache whenever a session of `sessions` commits a change to a key, user,
        membership, site or goal (ORM changes other than a key's `last_used_at`, and any bulk
        UPDATE or DELETE statement)."""

        def flushed(session: Session, _: UOWTransaction) -> None:
            changed = chain(session.new, session.dirty, session.deleted)
            if any(_changes_a_grant(instance, session) for instance in changed):
                session.info["footfall_auth_changed"] = True

        def executed(state: ORMExecuteState) -> None:
            if state.is_update or state.is_delete:
                state.session.info["footfall_auth_changed"] = True

        # A flag left by a rolled-back change only costs one needless emptying at the session's
        # next commit; clearing it on rollback could lose one made before a savepoint.
        def committed(session: Session) -> None:
            if session.info.pop("footfall_auth_changed", False):
                self.clear()

        event.listen(sessions, "after_flush", flushed)
        event.listen(sessions, "do_orm_execute", executed)
        event.listen(sessions, "after_commit", committed)


def too_many_requests(limit: int, retry_after: int) -> ApiError:
    return ApiError(
        429,
        f"Too many API requests. Your API key is limited to {limit} requests per hour.",
        {"Retry-After": str(retry_after)},
    )


class RateLimiter:
    """Requests per key in the last hour."""

    WINDOW_SECONDS = 3600

    def __init__(self, window: SlidingWindow) -> None:
        self._window = window

    def hit(self, key_id: int, limit: int) -> None:
        """Count one request of `key_id`; raise a 429 ApiError if it made `limit` in the last hour."""
        wait = self._window.take(str(key_id), limit)
        if wait is not None:
            raise too_many_requests(limit, wait)

    def close(self) -> None:
        self._window.close()


def make_rate_limiter(
    redis_url: str | None,
    prefix: str = "footfall:ratelimit:",
    clock: Callable[[], float] = time.time,
    timeout: float = 0.5,
) -> RateLimiter:
    """Counted in Redis when `REDIS_URL` is set (replicas share counts), else in this process;
    `timeout`: how long a Redis call may take before this process counts on its own."""
    window = make_window(
        redis_url,
        RateLimiter.WINDOW_SECONDS,
        prefix,
        what="API rate limiter",
        log=log,
        clock=clock,
        timeout=timeout,
    )
    return RateLimiter(window)
