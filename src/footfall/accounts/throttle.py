"""Login throttling: after `LIMIT` failed logins for one email, or from one address, within
`WINDOW_SECONDS`, further attempts are refused until the oldest failure leaves the window.

Failures are counted per subject: an HMAC of the email or the address (keyed with
SECRET_KEY_BASE), never the address itself. Without `REDIS_URL` they are kept in this
process; with it, in Redis sorted sets (`footfall:login:<hmac>`, expiring with the window),
so every replica counts the same failures. If Redis cannot be reached the process counts on
its own and logs a warning at most once a minute: a Redis outage must not lock everyone out.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

LIMIT = 10
WINDOW_SECONDS = 15 * 60

log = logging.getLogger("footfall.accounts")


def subject(secret: str, kind: str, value: str) -> str:
    return hmac.new(secret.encode(), f"{kind}:{value.strip().lower()}".encode(), hashlib.sha256).hexdigest()[
        :32
    ]


class Throttle(Protocol):
    def retry_after(self, subjects: list[str]) -> int | None:
        """Seconds until an attempt is allowed again, or None if it is allowed now."""

    def failed(self, subjects: list[str]) -> None: ...

    def close(self) -> None: ...


class MemoryThrottle:
    def __init__(
        self, clock: Callable[[], float] = time.time, limit: int = LIMIT, window: int = WINDOW_SECONDS
    ) -> None:
        self._clock, self._limit, self._window = clock, limit, window
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, name: str, now: float) -> deque[float]:
        times = self._failures.setdefault(name, deque())
        while times and times[0] <= now - self._window:
            times.popleft()
        return times

    def retry_after(self, subjects: list[str]) -> int | None:
        now = self._clock()
        with self._lock:
            waits = []
            for name in subjects:
                times = self._recent(name, now)
                if len(times) >= self._limit:
                    waits.append(times[-self._limit] + self._window - now)
            for name in [n for n, t in self._failures.items() if not t]:
                del self._failures[name]
        return max(1, int(max(waits) + 0.999)) if waits else None

    def failed(self, subjects: list[str]) -> None:
        now = self._clock()
        with self._lock:
            for name in subjects:
                self._recent(name, now).append(now)

    def close(self) -> None:
        with self._lock:
            self._failures.clear()


class RedisThrottle:
    WARN_EVERY_SECONDS = 60.0

    def __init__(
        self,
        url: str,
        prefix: str = "footfall:login:",
        clock: Callable[[], float] = time.time,
        limit: int = LIMIT,
        window: int = WINDOW_SECONDS,
    ) -> None:
        import redis

        self._client: Any = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self._prefix, self._clock, self._limit, self._window = prefix, clock, limit, window
        self._fallback = MemoryThrottle(clock, limit, window)
        self._warned_at: float | None = None

    def retry_after(self, subjects: list[str]) -> int | None:
        now = self._clock()
        try:
            with self._client.pipeline(transaction=False) as pipe:
                for name in subjects:
                    pipe.zremrangebyscore(self._prefix + name, "-inf", now - self._window)
                    pipe.zrange(self._prefix + name, -self._limit, -self._limit, withscores=True)
                    pipe.zcard(self._prefix + name)
                results = pipe.execute()
        except self._errors as error:
            self._warn(error)
            return self._fallback.retry_after(subjects)
        waits = []
        for index in range(len(subjects)):
            oldest, count = results[index * 3 + 1], results[index * 3 + 2]
            if count >= self._limit and oldest:
                waits.append(oldest[0][1] + self._window - now)
        return max(1, int(max(waits) + 0.999)) if waits else None

    def failed(self, subjects: list[str]) -> None:
        now = self._clock()
        try:
            with self._client.pipeline(transaction=True) as pipe:
                for name in subjects:
                    pipe.zadd(self._prefix + name, {f"{now:.6f}:{id(pipe)}": now})
                    pipe.expire(self._prefix + name, self._window + 60)
                pipe.execute()
        except self._errors as error:
            self._warn(error)
            self._fallback.failed(subjects)

    def _warn(self, error: BaseException) -> None:
        now = time.monotonic()
        if self._warned_at is None or now - self._warned_at >= self.WARN_EVERY_SECONDS:
            self._warned_at = now
            log.warning("login throttle: Redis unreachable (%s); counting failures in this process", error)

    def close(self) -> None:
        self._client.close()


def make_throttle(redis_url: str | None) -> Throttle:
    return RedisThrottle(redis_url) if redis_url else MemoryThrottle()
