"""Daily salts and the visitor id: who is the same visitor today, without knowing who.

visitor id = keyed BLAKE2b-64 of (user agent, IP, site domain, root domain of the page's
host) with the UTC day's random salt as the key. Salts live in the metadata store (so
every replica agrees), one per UTC day; the live server keeps today's and yesterday's
(a visit that spans midnight is found under yesterday's id) and deletes older ones, after
which nobody, footfall included, can link an id to an address. Neither the IP nor the
user agent is stored anywhere.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from datetime import date, timedelta
from functools import lru_cache

from publicsuffixlist import PublicSuffixList

from footfall.ingest.lookups import SaltStore

_psl = PublicSuffixList()
MISSING_TTL = 60.0  # seconds a day's salt is remembered as missing


@lru_cache(maxsize=8192)
def root_domain(hostname: str) -> str:
    """`blog.example.co.uk` -> `example.co.uk`; an IP or unknown suffix stays as it is."""
    if not hostname or hostname == "(none)":
        return "(none)"
    if hostname.replace(".", "").isdigit() or ":" in hostname:
        return hostname
    return _psl.privatesuffix(hostname) or hostname


@lru_cache(maxsize=4)  # today's salt and yesterday's; emptied when salts are deleted
def _keyed(salt: bytes) -> hashlib.blake2b:
    """A keyed BLAKE2b-64 that has taken its key (the key is its own first block). The state
    hashes as the salt does, so `Salts.rotate` empties this cache when it deletes salts."""
    return hashlib.blake2b(key=salt, digest_size=8)


def visitor_id(salt: bytes, user_agent: str, ip: str, domain: str, hostname: str) -> int:
    """A 64-bit id, stable for one visitor on one site for one salt (UTC day).

    Hashed from a copy of the salt's keyed state: the same digest as a new keyed hash, one
    compression of the key block fewer."""
    hashed = _keyed(salt).copy()
    hashed.update(
        "\x00".join((user_agent, ip, domain, root_domain(hostname))).encode("utf-8", "surrogatepass")
    )
    return int.from_bytes(hashed.digest(), "big") or 1


class Salts:
    """Today's and yesterday's salts, read from (and created in) the metadata store through
    `store` (footfall.ingest.lookups.SaltStore).

    Cached in memory: a salt never changes once written, and a replica that races
    another to create a day's salt adopts whichever was written first."""

    def __init__(self, store: SaltStore) -> None:
        self._store = store
        self._cache: dict[date, bytes] = {}
        self._missing: dict[date, float] = {}  # day -> when it was last found missing
        self._lock = threading.Lock()

    def for_day(self, day: date, create: bool = True) -> bytes | None:
        salt = self._cache.get(day)
        if salt is not None:
            return salt
        if not create and time.monotonic() - self._missing.get(day, -MISSING_TTL) < MISSING_TTL:
            return None  # looked for it a moment ago: don't ask the database on every event
        with self._lock:
            salt = self._cache.get(day) or self._store.load(day)
            if salt is None and create:
                salt = self._store.add(day, secrets.token_bytes(32))
            if salt is not None:
                self._cache[day] = salt
                self._missing.pop(day, None)
            else:
                self._missing[day] = time.monotonic()
            return salt

    def rotate(self, today: date) -> None:
        """Make sure today's salt exists; delete those older than yesterday (live server only)."""
        self.for_day(today)
        oldest_kept = today - timedelta(days=1)
        with self._lock:
            self._store.delete_before(oldest_kept)
            for day in [d for d in self._cache if d < oldest_kept]:
                del self._cache[day]
            _keyed.cache_clear()  # a deleted salt's keyed state must not outlive it either
