"""Visits: which session an event belongs to, and the session rows to write.

A visit ends after 30 minutes without an event, measured by event timestamps. Each
change to a visit is written to the `sessions` table (a VersionedCollapsingMergeTree) as
a cancelling row (sign -1, the previous state and version) plus the new state (sign +1,
version + 1), so `sum(sign)`-style queries are exact before and after merges.

Rules, as Plausible's: a visit starts on any event but `engagement` (an engagement with
no open visit is dropped); entry and exit pages follow pageviews; a visit stops being a
bounce at its second pageview or first interactive custom event; `engagement` keeps the
visit alive without writing a session row; the first event's source, UTM, device and
location describe the visit.

The cache of open visits has two implementations behind `SessionCache`: in-process
(one server) and Redis (several replicas share visits; the read-modify-write is an
optimistic WATCH/MULTI transaction, so two replicas never fork a visit).
"""

from __future__ import annotations

import os
import random
import threading
from collections import OrderedDict
from typing import Any, Protocol

import msgspec

from footfall.events.schema import SESSIONS_COLUMNS
from footfall.ingest.request import EventRequest

SESSION_TIMEOUT_SECONDS = 30 * 60
# Session ids need to be unique, not secret: a fast generator seeded from the OS.
_ids = random.Random(int.from_bytes(os.urandom(16), "big"))


class SessionState(msgspec.Struct, array_like=True, gc=False):
    """One visit as the cache holds it. Not tracked by the garbage collector (it holds no
    references that could form a cycle), so a million open visits cost collections nothing."""

    session_id: int
    version: int
    site_id: int
    user_id: int
    hostname: str
    start: int  # unix seconds
    timestamp: int
    entry_page: str
    exit_page: str
    exit_page_hostname: str
    pageviews: int
    events: int
    duration: int
    is_bounce: int
    referrer: str
    referrer_source: str
    channel: str
    utm_medium: str
    utm_source: str
    utm_campaign: str
    utm_content: str
    utm_term: str
    country_code: str
    region: str
    city: str
    screen_size: str
    browser: str
    browser_version: str
    operating_system: str
    operating_system_version: str
    entry_meta_keys: tuple[str, ...]
    entry_meta_values: tuple[str, ...]

    def row(self, sign: int) -> tuple[Any, ...]:
        """The `sessions` row, in SESSIONS_COLUMNS order."""
        return (
            self.session_id,
            sign,
            self.version,
            self.site_id,
            self.user_id,
            self.hostname,
            self.start,
            self.timestamp,
            self.entry_page,
            self.exit_page,
            self.exit_page_hostname,
            self.pageviews,
            self.events,
            self.duration,
            self.is_bounce,
            self.referrer,
            self.referrer_source,
            self.channel,
            self.utm_medium,
            self.utm_source,
            self.utm_campaign,
            self.utm_content,
            self.utm_term,
            self.country_code,
            self.region,
            self.city,
            self.screen_size,
            self.browser,
            self.browser_version,
            self.operating_system,
            self.operating_system_version,
            self.entry_meta_keys,
            self.entry_meta_values,
        )


assert len(SessionState.__struct_fields__) == len(SESSIONS_COLUMNS) - 1  # all but sign


class SessionEvent(Protocol):
    """What visits need to know about one enriched event (the pipeline's `Event` is one)."""

    site_id: int
    user_id: int
    timestamp: int  # unix seconds
    request: EventRequest  # name, interactive, hostname, pathname

    def previous_user_id(self) -> int | None:
        """The visitor's id under yesterday's salt; asked only when no visit is under `user_id`."""

    def start(self) -> SessionState:
        """The state of a visit that this event opens."""


Key = tuple[int, int]  # (site id, visitor id)


class SessionCache(Protocol):
    def update(self, key: Key, event: SessionEvent) -> tuple[SessionState | None, SessionState | None]:
        """Atomically: find the open visit under `key` (else under `previous_key(event)`),
        apply the event to it (`apply_event`), store the result under `key`; returns
        (the visit found, the visit now)."""

    def close(self) -> None: ...


def previous_key(event: SessionEvent) -> Key | None:
    """Where a visit that began before midnight UTC (under yesterday's visitor id) would be:
    only for the first SESSION_TIMEOUT_SECONDS of the day. After that such a visit has
    either moved to today's key with an event since midnight or timed out, so the second
    hash is not computed."""
    if event.timestamp % 86_400 > SESSION_TIMEOUT_SECONDS:
        return None
    previous = event.previous_user_id()
    if previous is None or previous == event.user_id:
        return None
    return (event.site_id, previous)


def apply_event(found: SessionState | None, event: SessionEvent) -> SessionState | None:
    """The visit after `event`: `found` carried on, a new visit, or None for an engagement
    without an open visit."""
    if event.request.name == "engagement":
        if found is None:
            return None
        return msgspec.structs.replace(found, timestamp=max(found.timestamp, event.timestamp))
    if found is None:
        return event.start()
    return _updated_session(found, event)


def _open(state: SessionState | None, now: int) -> SessionState | None:
    if state is None or now - state.timestamp > SESSION_TIMEOUT_SECONDS:
        return None
    return state


class MemorySessionCache:
    """Open visits in this process, expiring by event time; bounded, least recent evicted."""

    def __init__(self, max_entries: int = 1_000_000) -> None:
        # Keyed by (site id, visitor id) packed into one int: an int is nothing the garbage
        # collector tracks, a tuple per open visit would be (SessionState is not tracked either).
        self._entries: OrderedDict[int, SessionState] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries
        self._updates = 0

    def update(self, key: Key, event: SessionEvent) -> tuple[SessionState | None, SessionState | None]:
        now = event.timestamp
        packed = key[0] << 64 | key[1]
        with self._lock:
            found = _open(self._entries.get(packed), now)
            if found is None:
                other = previous_key(event)
                if other is not None:
                    found = _open(self._entries.get(other[0] << 64 | other[1]), now)
            result = apply_event(found, event)
            if result is not None:
                self._entries[packed] = result
                self._entries.move_to_end(packed)
                while len(self._entries) > self._max:
                    self._entries.popitem(last=False)
            self._updates += 1
            if self._updates % 1024 == 0:
                self._sweep(now)
            return found, result

    def _sweep(self, now: int) -> None:
        """Forget visits that ended: the least recently touched come first."""
        entries = self._entries
        while entries:
            key, state = next(iter(entries.items()))
            if now - state.timestamp <= SESSION_TIMEOUT_SECONDS:
                break
            del entries[key]

    def close(self) -> None:
        self._entries.clear()


class RedisSessionCache:
    """Open visits in Redis, shared by every replica; keys expire 30 minutes after last use."""

    def __init__(self, url: str, prefix: str = "footfall:session:") -> None:
        import redis

        self._client = redis.Redis.from_url(url)
        self._prefix = prefix
        self._encoder = msgspec.msgpack.Encoder()
        self._decoder = msgspec.msgpack.Decoder(SessionState)

    def _key(self, key: tuple[int, int]) -> str:
        return f"{self._prefix}{key[0]}:{key[1]}"

    def update(self, key: Key, event: SessionEvent) -> tuple[SessionState | None, SessionState | None]:
        other = previous_key(event)
        names = [self._key(key)] if other is None else [self._key(key), self._key(other)]
        while True:
            updated = self._try_update(names, event)
            if updated is not None:
                return updated

    def _try_update(
        self, names: list[str], event: SessionEvent
    ) -> tuple[SessionState | None, SessionState | None] | None:
        """One optimistic transaction: (the visit found, the visit now), or None if another
        replica changed one of `names` meanwhile (the caller tries again)."""
        import redis

        now = event.timestamp
        with self._client.pipeline() as pipe:
            try:
                pipe.watch(*names)
                found = None
                states: list[Any] = pipe.mget(names)  # bytes: the client does not decode them
                for raw in states:
                    found = _open(self._decoder.decode(raw), now) if raw else None
                    if found is not None:
                        break
                result = apply_event(found, event)
                pipe.multi()
                if result is not None:
                    pipe.set(names[0], self._encoder.encode(result), ex=SESSION_TIMEOUT_SECONDS + 60)
                pipe.execute()
                return found, result
            except redis.WatchError:
                return None

    def close(self) -> None:
        self._client.close()


class SessionTracker:
    """Applies events to visits; returns the session rows each event produces."""

    def __init__(self, cache: SessionCache) -> None:
        self.cache = cache

    def on_event(self, event: SessionEvent) -> tuple[SessionState | None, list[tuple[Any, ...]]]:
        """(the visit the event belongs to, session rows to write). The visit is None for
        an engagement without an open visit, which the caller drops; an engagement keeps
        its visit alive without a row."""
        found, state = self.cache.update((event.site_id, event.user_id), event)
        if state is None or event.request.name == "engagement":
            return state, []
        if found is None:
            return state, [state.row(1)]
        return state, [found.row(-1), state.row(1)]


def new_session_id() -> int:
    return _ids.getrandbits(63) or 1


def _updated_session(session: SessionState, event: SessionEvent) -> SessionState:
    request = event.request
    is_pageview = request.name == "pageview"
    timestamp = max(session.timestamp, event.timestamp)
    return msgspec.structs.replace(
        session,
        version=session.version + 1,
        timestamp=timestamp,
        entry_page=request.pathname if is_pageview and not session.entry_page else session.entry_page,
        hostname=request.hostname if is_pageview and not session.hostname else session.hostname,
        exit_page=request.pathname if is_pageview else session.exit_page,
        exit_page_hostname=request.hostname if is_pageview else session.exit_page_hostname,
        is_bounce=session.is_bounce if not (is_pageview or request.interactive) else 0,
        duration=abs(timestamp - session.start),
        pageviews=session.pageviews + (1 if is_pageview else 0),
        events=session.events + 1,
    )
