"""One sliding-window limiter, used twice: failed logins (`accounts.throttle`) and API requests
per key (`accounts.api_access`).

It counts events per subject (an opaque string) over the last `window` seconds and says how
long a subject must wait until it is under a limit again. Without `REDIS_URL` the events live
in this process, which is exact for the embedded, single-process deployment. With it they
live in Redis sorted sets (`<prefix><subject>`, scored by time, expiring a minute after the
window), so every replica counts the same events; `take` checks and records in one Lua script,
so two replicas cannot both take the last place. If Redis cannot be reached the process counts
on its own until it answers again, and warns at most once a minute: an outage of the limiter's
store must not lock everyone out, nor turn into an API outage.
"""

from __future__ import annotations

import logging
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Protocol


class SlidingWindow(Protocol):
    window: float

    def wait(self, subjects: Sequence[str], limit: int) -> int | None:
        """Seconds until every subject has fewer than `limit` events in the window, or None
        if they all have already."""

    def record(self, subjects: Sequence[str]) -> None:
        """Count one event now for each subject."""

    def take(self, subject: str, limit: int) -> int | None:
        """Count one event for `subject` if it has fewer than `limit` in the window (None);
        otherwise count nothing and answer the seconds to wait."""

    def close(self) -> None: ...


def _seconds(wait: float) -> int:
    return max(1, math.ceil(wait))


class MemoryWindow:
    def __init__(self, window: float, clock: Callable[[], float] = time.time) -> None:
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._events: dict[str, deque[float]] = {}

    def _recent(self, subject: str, now: float) -> deque[float]:
        times = self._events.setdefault(subject, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def _wait(self, subject: str, limit: int, now: float) -> float | None:
        times = self._recent(subject, now)
        return times[-limit] + self.window - now if len(times) >= limit else None

    def wait(self, subjects: Sequence[str], limit: int) -> int | None:
        now = self._clock()
        with self._lock:
            waits = [w for w in (self._wait(s, limit, now) for s in subjects) if w is not None]
            for subject in [s for s, times in self._events.items() if not times]:
                del self._events[subject]
        return _seconds(max(waits)) if waits else None

    def record(self, subjects: Sequence[str]) -> None:
        now = self._clock()
        with self._lock:
            for subject in subjects:
                self._recent(subject, now).append(now)

    def take(self, subject: str, limit: int) -> int | None:
        now = self._clock()
        with self._lock:
            wait = self._wait(subject, limit, now)
            if wait is not None:
                return _seconds(wait)
            self._events[subject].append(now)
            return None

    def close(self) -> None:
        with self._lock:
            self._events.clear()


# KEYS[1]: the subject's set; ARGV: now, window, limit, a unique member. Answers -1 when the
# event is counted, else the time of the event that must leave the window first.
_TAKE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1] - ARGV[2])
local count = redis.call('ZCARD', KEYS[1])
local limit = tonumber(ARGV[3])
if count < limit then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
  redis.call('EXPIRE', KEYS[1], math.ceil(ARGV[2]) + 60)
  return -1
end
local oldest = redis.call('ZRANGE', KEYS[1], -limit, -limit, 'WITHSCORES')
return oldest[2]
"""


class RedisWindow:
    WARN_EVERY_SECONDS = 60.0

    def __init__(
        self,
        url: str,
        window: float,
        prefix: str,
        *,
        what: str,
        log: logging.Logger,
        clock: Callable[[], float] = time.time,
        timeout: float = 0.5,
    ) -> None:
        import redis

        self.window = window
        self._client: Any = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self._take = self._client.register_script(_TAKE)
        self._prefix, self._clock, self._what, self._log = prefix, clock, what, log
        self._fallback = MemoryWindow(window, clock)
        self._warned_at: float | None = None

    def _member(self, now: float) -> str:
        return f"{now:.6f}:{secrets.token_hex(4)}"

    def wait(self, subjects: Sequence[str], limit: int) -> int | None:
        now = self._clock()
        try:
            with self._client.pipeline(transaction=False) as pipe:
                for subject in subjects:
                    name = self._prefix + subject
                    pipe.zremrangebyscore(name, "-inf", now - self.window)
                    pipe.zrange(name, -limit, -limit, withscores=True)
                    pipe.zcard(name)
                results = pipe.execute()
        except self._errors as error:
            self._warn(error)
            return self._fallback.wait(subjects, limit)
        waits = []
        for index in range(len(subjects)):
            oldest, count = results[index * 3 + 1], results[index * 3 + 2]
            if count >= limit and oldest:
                waits.append(oldest[0][1] + self.window - now)
        return _seconds(max(waits)) if waits else None

    def record(self, subjects: Sequence[str]) -> None:
        now = self._clock()
        try:
            with self._client.pipeline(transaction=True) as pipe:
                for subject in subjects:
                    pipe.zadd(self._prefix + subject, {self._member(now): now})
                    pipe.expire(self._prefix + subject, math.ceil(self.window) + 60)
                pipe.execute()
        except self._errors as error:
            self._warn(error)
            self._fallback.record(subjects)

    def take(self, subject: str, limit: int) -> int | None:
        now = self._clock()
        try:
            oldest = self._take(
                keys=[self._prefix + subject], args=[now, self.window, limit, self._member(now)]
            )
        except self._errors as error:
            self._warn(error)
            return self._fallback.take(subject, limit)
        oldest = float(oldest)
        return None if oldest < 0 else _seconds(oldest + self.window - now)

    def _warn(self, error: BaseException) -> None:
        now = time.monotonic()
        if self._warned_at is None or now - self._warned_at >= self.WARN_EVERY_SECONDS:
            self._warned_at = now
            self._log.warning(
                "%s: Redis unreachable (%s); counting in this process only until it answers again",
                self._what,
                error,
            )

    def close(self) -> None:
        self._client.close()


def make_window(
    redis_url: str | None,
    window: float,
    prefix: str,
    *,
    what: str,
    log: logging.Logger,
    clock: Callable[[], float] = time.time,
    timeout: float = 0.5,
) -> SlidingWindow:
    """The Redis window when `REDIS_URL` is set (replicas share counts), else the in-process one.
    `timeout`: how long a Redis call may take before this process counts on its own."""
    if redis_url:
        return RedisWindow(redis_url, window, prefix, what=what, log=log, clock=clock, timeout=timeout)
    return MemoryWindow(window, clock)
