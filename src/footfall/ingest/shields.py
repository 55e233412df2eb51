"""The shield rules of every site, compiled and kept in memory for the pipeline's `drop_shield`.

The write path never asks the metadata store about shields while handling an event: it
looks the site up in `ShieldSnapshot.by_site` (a dict; a site without rules is not in it)
and matches against that site's `SiteShields`, compiled once from its rules.

How a change reaches every replica: each change to any site's rules raises `shield_epoch`
in its own transaction (`footfall.sites.shields`). Every replica's `ShieldSnapshot` reads
that one number and the number of rules (which also changes when a site and its rules are
deleted) once a second on a thread of its own; when either differs from what it last read,
it reads all the rules again, compiles them, and swaps the new dict in whole. A change is
therefore in force everywhere one to two seconds after it commits, whatever made it (a
page, the CLI, another replica), at the cost of one small query per replica per second.
Redis is not involved even when `REDIS_URL` is set: the metadata store is the one place
every writer writes to, so polling it cannot miss a change that a notification sent by one
writer (and not by the CLI on another machine, say) could. The rules are read again every
minute whatever the epoch says. If the store cannot be read, the last rules stay in force
and a warning is logged (at most once a minute).

The visitor's address is matched against IP rules and then forgotten, as everywhere else.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from socket import AF_INET, AF_INET6, inet_pton
from typing import Any

import re2
from prometheus_client import Gauge

from footfall.ingest.lookups import ShieldRules
from footfall.sites.shields import hostname_regex, normalise_ip, page_regex

log = logging.getLogger("footfall.ingest")

REFRESH_SECONDS = 1.0
FULL_RELOAD_SECONDS = 60.0
RULES = Gauge("footfall_shield_rules", "Shield rules in force in this process, all sites")
LOADED = Gauge(
    "footfall_shield_rules_loaded_timestamp_seconds", "When this process last read the shield rules"
)


# Answers of the wildcard patterns kept per site (paths and hosts repeat from event to event;
# a pattern costs about 2 µs, a dict look-up 0.05); emptied when full.
VERDICTS_KEPT = 4_096
_V4_MAPPED = bytes(10) + b"\xff\xff"


@dataclass(frozen=True, slots=True)
class SiteShields:
    """One site's rules, compiled: sets for exact values, one RE2 expression for the
    wildcard ones of each kind, and IP ranges as merged integer bounds per address family.

    Wildcards are matched by RE2 (as ClickHouse matches goal paths), whose time is linear
    in the path's length: Python's `re` backtracks, and `/**/**/**/**/q` took minutes on a
    2,000-character path of slashes."""

    allowed_hosts: frozenset[str]
    allowed_host_pattern: Any  # re2 pattern or None
    has_allow_list: bool
    blocked_pages: frozenset[str]
    blocked_page_pattern: Any
    countries: frozenset[str]
    # IP ranges merged and sorted per family (4, 6): firsts and lasts, for a binary search.
    range_starts: dict[int, list[int]]
    range_ends: dict[int, list[int]]
    _hosts_seen: dict[str, bool] = field(default_factory=dict)
    _pages_seen: dict[str, bool] = field(default_factory=dict)

    def host_allowed(self, hostname: str) -> bool:
        if not self.has_allow_list or hostname in self.allowed_hosts:
            return True
        pattern = self.allowed_host_pattern
        if pattern is None:
            return False
        return _verdict(self._hosts_seen, pattern, hostname)

    def page_blocked(self, pathname: str) -> bool:
        if pathname in self.blocked_pages:
            return True
        pattern = self.blocked_page_pattern
        if pattern is None:
            return False
        return _verdict(self._pages_seen, pattern, pathname)

    def ip_blocked(self, ip: str) -> bool:
        starts = self.range_starts
        if not starts:
            return False
        # The resolver gives canonical text (footfall.ingest.client_ip): no cleaning up needed.
        try:
            if ":" in ip:
                packed = inet_pton(AF_INET6, ip)
                version, value = (4, int.from_bytes(packed[12:])) if packed[:12] == _V4_MAPPED else (6, 0)
                if version == 6:
                    value = int.from_bytes(packed)
            else:
                version, value = 4, int.from_bytes(inet_pton(AF_INET, ip))
        except (OSError, ValueError):
            return False
        family = starts.get(version)
        if family is None:
            return False
        index = bisect_right(family, value) - 1
        return index >= 0 and value <= self.range_ends[version][index]


def compile_site(rules: Iterable[tuple[str, str]]) -> SiteShields:
    """`(kind, normalised value)` pairs -> the matcher of one site."""
    hosts: set[str] = set()
    host_patterns: list[str] = []
    pages: set[str] = set()
    page_patterns: list[str] = []
    countries: set[str] = set()
    spans: dict[int, list[tuple[int, int]]] = {}
    has_allow_list = False
    for kind, value in rules:
        if kind == "hostname":  # the kinds are footfall.meta.shields.ShieldKind's values
            has_allow_list = True
            if "*" in value:
                host_patterns.append(hostname_regex(value))
            else:
                hosts.add(value)
        elif kind == "page":
            if "*" in value:
                page_patterns.append(page_regex(value))
            else:
                pages.add(value)
        elif kind == "country":
            countries.add(value)
        elif kind == "ip":
            network = ipaddress.ip_network(normalise_ip(value))
            spans.setdefault(network.version, []).append(
                (int(network.network_address), int(network.broadcast_address))
            )
    return SiteShields(
        allowed_hosts=frozenset(hosts),
        allowed_host_pattern=_alternation(host_patterns),
        has_allow_list=has_allow_list,
        blocked_pages=frozenset(pages),
        blocked_page_pattern=_alternation(page_patterns),
        countries=frozenset(countries),
        **_merged(spans),
    )


def _merged(spans: dict[int, list[tuple[int, int]]]) -> dict[str, dict[int, list[int]]]:
    starts: dict[int, list[int]] = {}
    ends: dict[int, list[int]] = {}
    for version, found in spans.items():
        firsts, lasts = starts.setdefault(version, []), ends.setdefault(version, [])
        for first, last in sorted(found):
            if lasts and first <= lasts[-1] + 1:
                lasts[-1] = max(lasts[-1], last)
            else:
                firsts.append(first)
                lasts.append(last)
    return {"range_starts": starts, "range_ends": ends}


def _alternation(patterns: list[str]) -> Any:
    if not patterns:
        return None
    return re2.compile("(?s)" + "|".join(f"(?:{pattern})" for pattern in patterns))


def _verdict(seen: dict[str, bool], pattern: Any, text: str) -> bool:
    found = seen.get(text)
    if found is None:
        found = pattern.fullmatch(text) is not None
        if len(seen) >= VERDICTS_KEPT:
            seen.clear()
        seen[text] = found
    return found


class ShieldSnapshot:
    """Every site's compiled rules (`by_site`), kept current by `refresh` (on a thread of its
    own once `start`ed; `record_hits` calls it before each batch)."""

    def __init__(self, source: ShieldRules, interval: float = REFRESH_SECONDS) -> None:
        self._source = source
        self._interval = interval
        self.by_site: dict[int, SiteShields] = {}
        self._seen: tuple[int, int] | None = None  # (epoch, number of rules) when last read
        self._loaded_at = 0.0
        self._lock = threading.Lock()  # one refresh at a time
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._warned_at = -1e9

    def refresh(self, force: bool = False) -> bool:
        """Read the rules again if they changed (or `force`, or a minute has passed); True if
        it did. Raises if the metadata store cannot be read."""
        with self._lock:
            # The version first: a change committed between the two reads raises it again,
            # so the next refresh reads the rules once more.
            seen = self._source.version()
            stale = time.monotonic() - self._loaded_at >= FULL_RELOAD_SECONDS
            if seen == self._seen and not force and not stale:
                return False
            rules: dict[int, list[tuple[str, str]]] = {}
            for site_id, kind, value in self._source.rules():
                rules.setdefault(site_id, []).append((kind, value))
        by_site = {}
        for site_id, site_rules in rules.items():
            try:
                by_site[site_id] = compile_site(site_rules)
            except ValueError:  # a row written around footfall's checks: that site keeps its last rules
                log.exception("cannot compile the shield rules of site %s", site_id)
                if site_id in self.by_site:
                    by_site[site_id] = self.by_site[site_id]
        self.by_site = by_site  # swapped whole: the pipeline reads either the old or the new
        self._seen = seen
        self._loaded_at = time.monotonic()
        RULES.set(sum(len(found) for found in rules.values()))
        LOADED.set(time.time())
        return True

    def start(self) -> None:
        """Read the rules now, then keep them current on a thread until `stop`."""
        self._refresh_logged()
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="footfall-shields", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._refresh_logged()

    def _refresh_logged(self) -> None:
        try:
            self.refresh()
        except Exception as error:
            now = time.monotonic()
            if now - self._warned_at >= 60:
                self._warned_at = now
                log.warning("cannot read the shield rules (the last ones read stay in force): %s", error)
