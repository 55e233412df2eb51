"""Login throttling: after `LIMIT` failed logins for one email, or from one address, within
`WINDOW_SECONDS`, further attempts are refused until the oldest failure leaves the window.

Failures are counted per subject: an HMAC of the email or the address (keyed with
SECRET_KEY_BASE), never the address itself, in the sliding-window limiter of
`footfall.accounts.limiter` (in Redis, `footfall:login:<hmac>`, when `REDIS_URL` is set, so
every replica counts the same failures).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable

from footfall.accounts.limiter import MemoryWindow, SlidingWindow, make_window

LIMIT = 10
WINDOW_SECONDS = 15 * 60

log = logging.getLogger("footfall.accounts")


def subject(secret: str, kind: str, value: str) -> str:
    return hmac.new(secret.encode(), f"{kind}:{value.strip().lower()}".encode(), hashlib.sha256).hexdigest()[
        :32
    ]


class Throttle:
    """Failed attempts per subject; `retry_after` says how long the subjects must wait."""

    def __init__(self, window: SlidingWindow, limit: int = LIMIT) -> None:
        self._window, self._limit = window, limit

    def retry_after(self, subjects: list[str]) -> int | None:
        """Seconds until an attempt is allowed again, or None if it is allowed now."""
        return self._window.wait(subjects, self._limit)

    def failed(self, subjects: list[str]) -> None:
        self._window.record(subjects)

    def close(self) -> None:
        self._window.close()


def memory_throttle(clock: Callable[[], float] = time.time) -> Throttle:
    return Throttle(MemoryWindow(WINDOW_SECONDS, clock))


def make_throttle(
    redis_url: str | None, prefix: str = "footfall:login:", clock: Callable[[], float] = time.time
) -> Throttle:
    return Throttle(
        make_window(redis_url, WINDOW_SECONDS, prefix, what="login throttle", log=log, clock=clock)
    )
