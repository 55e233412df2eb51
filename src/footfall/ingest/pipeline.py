"""The write path as a visible list of named steps.

`Pipeline.process` takes one validated request and, for each of its site domains, runs
the steps below in order. Each step enriches the event or drops it with a reason from
`DropReason`; a dropped event stops there and is counted. What survives becomes one
`events` row (an `EventRow`) plus the `sessions` rows of its visit, handed back to the
caller (the HTTP handler writes them to the write-ahead log; `record_hits` inserts them
directly). The request carries the visitor's address, user agent and arrival time
(`EventRequest.arrived`), which is all the steps know of who posted it.
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from footfall.events.rows import EventRow
from footfall.ingest import channel as channels
from footfall.ingest import metrics
from footfall.ingest import referrer as referrers
from footfall.ingest.bots import DatacenterRanges, SpamReferrers
from footfall.ingest.geo import Geolocator, Location
from footfall.ingest.identity import Salts, visitor_id
from footfall.ingest.lookups import IngestLookups, SiteDirectory
from footfall.ingest.request import EventRequest
from footfall.ingest.sessions import SessionState, SessionTracker, new_session_id
from footfall.ingest.shields import ShieldSnapshot
from footfall.ingest.user_agent import UserAgentInfo, parse_user_agent


class DropReason(enum.StrEnum):
    spam_referrer = "spam_referrer"
    unknown_site = "unknown_site"
    ingest_disabled = "ingest_disabled"
    bot = "bot"
    datacenter = "datacenter"
    no_session_for_engagement = "no_session_for_engagement"
    shield = "shield"


# The records below are built once or more per request: each has its `__init__` written out
# (`init=False`), because compiled (footfall.compiled) the methods a dataclass generates stay
# interpreted Python, which cost more than the rest of building them.


@dataclass(slots=True, init=False)
class Outcome:
    """What became of one event for one site domain."""

    domain: str
    accepted: bool
    drop_reason: DropReason | None = None
    site_id: int | None = None
    user_id: int | None = None
    session_id: int | None = None

    def __init__(
        self,
        domain: str,
        accepted: bool,
        drop_reason: DropReason | None = None,
        site_id: int | None = None,
        user_id: int | None = None,
        session_id: int | None = None,
    ) -> None:
        self.domain = domain
        self.accepted = accepted
        self.drop_reason = drop_reason
        self.site_id = site_id
        self.user_id = user_id
        self.session_id = session_id


@dataclass(slots=True, init=False)
class Rows:
    events: list[EventRow] = field(default_factory=list)
    sessions: list[tuple[Any, ...]] = field(default_factory=list)

    def __init__(
        self, events: list[EventRow] | None = None, sessions: list[tuple[Any, ...]] | None = None
    ) -> None:
        self.events = [] if events is None else events
        self.sessions = [] if sessions is None else sessions

    def __bool__(self) -> bool:
        return bool(self.events or self.sessions)


@dataclass(slots=True, init=False)
class Event:
    """One event for one site on its way through the steps; what visits need to know
    about it too (`sessions.SessionEvent`)."""

    request: EventRequest
    domain: str
    user_agent: str
    ip: str
    timestamp: int  # unix seconds
    site_id: int = 0
    location: Location | None = None
    device: UserAgentInfo | None = None
    source: dict[str, str] | None = None  # shared, never changed (see put_referrer_and_channel)
    user_id: int = 0
    previous_salt: bytes | None = None
    session: SessionState | None = None
    session_rows: list[tuple[Any, ...]] | None = None

    def __init__(self, request: EventRequest, domain: str, user_agent: str, ip: str, timestamp: int) -> None:
        self.request = request
        self.domain = domain
        self.user_agent = user_agent
        self.ip = ip
        self.timestamp = timestamp
        self.site_id = 0
        self.location = None
        self.device = None
        self.source = None
        self.user_id = 0
        self.previous_salt = None
        self.session = None
        self.session_rows = None

    def previous_user_id(self) -> int | None:
        # A visit that began before midnight UTC is filed under yesterday's id.
        salt = self.previous_salt
        if salt is None:
            return None
        return visitor_id(salt, self.user_agent, self.ip, self.domain, self.request.hostname)

    def start(self) -> SessionState:
        return new_session(self)


class SiteGate:
    """domain -> (site id, ingest enabled), cached for at most `ttl` seconds, misses too,
    so a site created while the server runs receives events within a second."""

    def __init__(self, directory: SiteDirectory, ttl: float = 1.0) -> None:
        self._directory = directory
        self._ttl = ttl
        self._cache: dict[str, tuple[float, tuple[int, bool] | None]] = {}
        self._lock = threading.Lock()

    def lookup(self, domain: str) -> tuple[int, bool] | None:
        now = time.monotonic()
        cached = self._cache.get(domain)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        answer = self._directory.find(domain)
        with self._lock:
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[domain] = (now, answer)
        return answer


# One event in this many has each of its steps timed (`footfall_ingest_step_seconds` on
# /metrics): two clock reads per step on every event would cost the web loop more than
# some of the steps themselves.
TIME_EVERY = 64


class Pipeline:
    def __init__(
        self,
        lookups: IngestLookups,
        tracker: SessionTracker,
        geolocator: Geolocator,
        datacenters: DatacenterRanges | None = None,
        spam: SpamReferrers | None = None,
    ) -> None:
        self.sites = SiteGate(lookups.sites)
        self.shields = ShieldSnapshot(lookups.shields)
        self.datacenters = datacenters
        self._is_spam = (spam or SpamReferrers()).is_spam
        self.salts = Salts(lookups.salts)
        self.tracker = tracker
        self.geolocator = geolocator
        self._sources: dict[tuple[str | None, str], dict[str, str]] = {}
        self._days: tuple[int, date, date] = (-1, date.min, date.min)  # day number, it, the day before
        self.steps: list[tuple[str, Callable[[Event], DropReason | None]]] = [
            ("drop_spam_referrer", self.drop_spam_referrer),
            ("find_site", self.find_site),
            ("drop_shield", self.drop_shield),
            ("drop_bots", self.drop_bots),
            *([("drop_datacenter", self.drop_datacenter)] if datacenters is not None else []),
            ("put_geolocation", self.put_geolocation),
            ("put_referrer_and_channel", self.put_referrer_and_channel),
            ("put_visitor_id", self.put_visitor_id),
            ("register_session", self.register_session),
        ]
        self._run_steps = [step for _name, step in self.steps]
        self._untimed = 0  # events since the last timed one

    # -- the steps --------------------------------------------------------------------

    def drop_spam_referrer(self, event: Event) -> DropReason | None:
        if event.request.referrer and self._is_spam(event.request.referrer):
            return DropReason.spam_referrer
        return None

    def find_site(self, event: Event) -> DropReason | None:
        found = self.sites.lookup(event.domain)
        if found is None:
            return DropReason.unknown_site
        event.site_id, enabled = found
        return None if enabled else DropReason.ingest_disabled

    def drop_shield(self, event: Event) -> DropReason | None:
        """The site's shields (footfall.ingest.shields): its hostname allow-list, blocked
        pages, countries and addresses. A site without rules costs one dict look-up."""
        shields = self.shields.by_site.get(event.site_id)
        if shields is None:
            return None
        request = event.request
        if not shields.host_allowed(request.hostname) or shields.page_blocked(request.pathname):
            return DropReason.shield
        if shields.countries:
            location = self.geolocator.locate(event.ip)
            event.location = location  # put_geolocation keeps it
            if location.country_code in shields.countries:
                return DropReason.shield
        return DropReason.shield if shields.ip_blocked(event.ip) else None

    def drop_bots(self, event: Event) -> DropReason | None:
        event.device = parse_user_agent(event.user_agent)
        return DropReason.bot if event.device.is_bot else None

    def drop_datacenter(self, event: Event) -> DropReason | None:
        """Only with DATACENTER_IP_RANGES: servers, not people, send from those addresses."""
        assert self.datacenters is not None
        return DropReason.datacenter if self.datacenters.contains(event.ip) else None

    def put_geolocation(self, event: Event) -> DropReason | None:
        if event.location is None:  # drop_shield located it if the site blocks countries
            event.location = self.geolocator.locate(event.ip)
        return None

    def put_referrer_and_channel(self, event: Event) -> DropReason | None:
        request = event.request
        # Source, channel and UTM tags follow from the referrer and the page URL alone, and
        # both repeat: cached per pair (the dict is shared, never changed after this).
        key = (request.referrer, request.url)
        source = self._sources.get(key)
        if source is None:
            source = attribution(request.referrer, request.hostname, request.query)
            if len(self._sources) >= 4_096:  # each entry is a dict the garbage collector walks
                self._sources.clear()
            self._sources[key] = source
        event.source = source
        return None

    def put_visitor_id(self, event: Event) -> DropReason | None:
        day, today, yesterday = self._days
        if event.timestamp // 86_400 != day:  # the UTC day, without a datetime per event
            today = datetime.fromtimestamp(event.timestamp, UTC).date()
            day, yesterday = event.timestamp // 86_400, today - timedelta(days=1)
            self._days = (day, today, yesterday)
        current = self.salts.for_day(today, create=True)
        assert current is not None
        hostname = event.request.hostname
        event.user_id = visitor_id(current, event.user_agent, event.ip, event.domain, hostname)
        event.previous_salt = self.salts.for_day(yesterday, create=False)
        return None

    def register_session(self, event: Event) -> DropReason | None:
        state, rows = self.tracker.on_event(event)
        if state is None:
            return DropReason.no_session_for_engagement
        event.session = state
        event.session_rows = rows
        return None

    # -- running them -----------------------------------------------------------------

    def process(self, request: EventRequest, count: bool = True) -> tuple[list[Outcome], Rows]:
        """Run every step for each of the request's domains, at the request's arrival time;
        the rows to store and what happened to each domain's event. `count=False` leaves the
        counters to the caller (`count_outcomes`), for runs off the web loop's thread."""
        outcomes: list[Outcome] = []
        rows = Rows()
        user_agent, ip, timestamp = request.user_agent, request.ip, request.timestamp
        for domain in request.domains:
            event = Event(request, domain, user_agent, ip, timestamp)
            reason = None
            self._untimed += 1
            if self._untimed >= TIME_EVERY:
                self._untimed = 0
                reason = self._run_timed(event)
            else:
                for step in self._run_steps:
                    reason = step(event)
                    if reason is not None:
                        break
            if reason is not None:
                if count:
                    metrics.count_dropped(reason)
                outcomes.append(Outcome(domain, False, reason, event.site_id or None))
                continue
            rows.events.append(event_row(event))
            if event.session_rows:
                rows.sessions.extend(event.session_rows)
            if count:
                metrics.count_accepted(request.name)
            session_id = event.session.session_id if event.session else None
            outcomes.append(Outcome(domain, True, None, event.site_id, event.user_id, session_id))
        return outcomes, rows

    def _run_timed(self, event: Event) -> DropReason | None:
        """The steps, each timed into `metrics.STEP_TIMES`, up to the first that drops."""
        clock = time.perf_counter
        for name, step in self.steps:
            started = clock()
            reason = step(event)
            metrics.STEP_TIMES.add(name, clock() - started)
            if reason is not None:
                return reason
        return None


def count_outcomes(name: str, outcomes: list[Outcome]) -> None:
    """The counters `process(..., count=False)` left out (call from the web loop's thread)."""
    for outcome in outcomes:
        if outcome.accepted:
            metrics.count_accepted(name)
        else:
            metrics.count_dropped(outcome.drop_reason or "unknown")


def attribution(referrer: str | None, page_host: str, query: dict[str, str]) -> dict[str, str]:
    """The visit's referrer, source, channel and UTM tags."""
    referral = referrers.resolve(referrer, page_host, query)
    utm = {
        "utm_medium": query.get("utm_medium", ""),
        "utm_source": query.get("utm_source", ""),
        "utm_campaign": query.get("utm_campaign", ""),
        "utm_content": query.get("utm_content", ""),
        "utm_term": query.get("utm_term", ""),
    }
    return {
        "referrer": referral.referrer,
        "referrer_source": referral.source,
        "channel": channels.channel(
            referral.source,
            utm["utm_medium"],
            utm["utm_campaign"],
            utm["utm_source"],
            referral.click_id,
        ),
        **utm,
    }


def new_session(event: Event) -> SessionState:
    """The visit that `event` opens: its source, device and location describe the visit."""
    request, source = event.request, event.source
    location, device = event.location, event.device
    assert location is not None and device is not None and source is not None
    is_pageview = request.name == "pageview"
    page_host = request.hostname if is_pageview else ""
    page = request.pathname if is_pageview else ""
    return SessionState(
        session_id=new_session_id(),
        version=1,
        site_id=event.site_id,
        user_id=event.user_id,
        hostname=page_host,
        start=event.timestamp,
        timestamp=event.timestamp,
        entry_page=page,
        exit_page=page,
        exit_page_hostname=page_host,
        pageviews=1 if is_pageview else 0,
        events=1,
        duration=0,
        is_bounce=1,
        referrer=source["referrer"],
        referrer_source=source["referrer_source"],
        channel=source["channel"],
        utm_medium=source["utm_medium"],
        utm_source=source["utm_source"],
        utm_campaign=source["utm_campaign"],
        utm_content=source["utm_content"],
        utm_term=source["utm_term"],
        country_code=location.country_code,
        region=location.region,
        city=location.city,
        screen_size=device.screen_size,
        browser=device.browser,
        browser_version=device.browser_version,
        operating_system=device.operating_system,
        operating_system_version=device.operating_system_version,
        entry_meta_keys=tuple(request.props),
        entry_meta_values=tuple(request.props.values()),
    )


def event_row(event: Event) -> EventRow:
    """The `events` row. Attribution (source, UTM, device, location) is the visit's, as in
    Plausible's events. The values in the record's (checked) field order, made the record
    by `tuple.__new__`: `EventRow(...)` runs a Python `__new__` of 32 arguments per event,
    three times what building the tuple costs."""
    request, visit = event.request, event.session
    assert visit is not None
    is_engagement = request.name == "engagement"
    values = (
        event.timestamp,
        event.site_id,
        event.user_id,
        visit.session_id,
        request.name,
        request.hostname,
        request.pathname,
        visit.referrer,
        visit.referrer_source,
        visit.channel,
        visit.utm_medium,
        visit.utm_source,
        visit.utm_campaign,
        visit.utm_content,
        visit.utm_term,
        visit.country_code,
        visit.region,
        visit.city,
        visit.screen_size,
        visit.browser,
        visit.browser_version,
        visit.operating_system,
        visit.operating_system_version,
        tuple(request.props),
        tuple(request.props.values()),
        request.revenue_amount,
        request.revenue_currency or "",
        request.revenue_amount,
        request.revenue_currency or "",
        1 if request.interactive else 0,
        request.scroll_depth if is_engagement else 0,
        request.engagement_time if is_engagement else 0,
    )
    return tuple.__new__(EventRow, values)
