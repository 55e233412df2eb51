"""The write path as a visible list of named steps.

`Pipeline.process` takes one validated request and, for each of its site domains, runs
the steps below in order. Each step enriches the event or drops it with a reason from
`DropReason`; a dropped event stops there and is counted. What survives becomes one
`events` row plus the `sessions` rows of its visit, handed back to the caller (the HTTP
handler writes them to the write-ahead log; `record_hits` inserts them directly).
"""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from footfall.ingest import channel as channels
from footfall.ingest import metrics
from footfall.ingest import referrer as referrers
from footfall.ingest.bots import is_spam_referrer
from footfall.ingest.geo import Geolocator, Location
from footfall.ingest.identity import Salts, visitor_id
from footfall.ingest.request import EventRequest
from footfall.ingest.sessions import SessionEvent, SessionTracker
from footfall.ingest.user_agent import UserAgentInfo, parse_user_agent
from footfall.meta.models import Site


class DropReason(enum.StrEnum):
    spam_referrer = "spam_referrer"
    unknown_site = "unknown_site"
    ingest_disabled = "ingest_disabled"
    bot = "bot"
    no_session_for_engagement = "no_session_for_engagement"


@dataclass(slots=True)
class Outcome:
    """What became of one event for one site domain."""

    domain: str
    accepted: bool
    drop_reason: DropReason | None = None
    site_id: int | None = None
    user_id: int | None = None
    session_id: int | None = None


@dataclass(slots=True)
class Rows:
    events: list[tuple[Any, ...]] = field(default_factory=list)
    sessions: list[tuple[Any, ...]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.events or self.sessions)


@dataclass(slots=True)
class Event:
    """One event for one site on its way through the steps."""

    request: EventRequest
    domain: str
    user_agent: str
    ip: str
    now: datetime
    site_id: int = 0
    location: Location | None = None
    device: UserAgentInfo | None = None
    source: dict[str, str] = field(default_factory=dict)
    user_id: int = 0
    previous_user_id: int | None = None
    session_id: int = 0
    session_rows: list[tuple[Any, ...]] = field(default_factory=list)


class SiteGate:
    """domain -> (site id, ingest enabled), cached for at most `ttl` seconds, misses too,
    so a site created while the server runs receives events within a second."""

    def __init__(self, sessions: sessionmaker[Session], ttl: float = 1.0) -> None:
        self._sessions = sessions
        self._ttl = ttl
        self._cache: dict[str, tuple[float, tuple[int, bool] | None]] = {}
        self._lock = threading.Lock()

    def lookup(self, domain: str) -> tuple[int, bool] | None:
        now = time.monotonic()
        cached = self._cache.get(domain)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        with self._sessions() as db:
            row = db.execute(select(Site.id, Site.ingest_enabled).where(Site.domain == domain)).first()
        answer = (int(row[0]), bool(row[1])) if row is not None else None
        with self._lock:
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[domain] = (now, answer)
        return answer


class Pipeline:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        tracker: SessionTracker,
        geolocator: Geolocator,
    ) -> None:
        self.sites = SiteGate(sessions)
        self.salts = Salts(sessions)
        self.tracker = tracker
        self.geolocator = geolocator
        self.steps: list[tuple[str, Callable[[Event], DropReason | None]]] = [
            ("drop_spam_referrer", self.drop_spam_referrer),
            ("find_site", self.find_site),
            ("drop_bots", self.drop_bots),
            ("put_geolocation", self.put_geolocation),
            ("put_referrer_and_channel", self.put_referrer_and_channel),
            ("put_visitor_id", self.put_visitor_id),
            ("register_session", self.register_session),
        ]

    # -- the steps --------------------------------------------------------------------

    def drop_spam_referrer(self, event: Event) -> DropReason | None:
        if event.request.referrer and is_spam_referrer(event.request.referrer):
            return DropReason.spam_referrer
        return None

    def find_site(self, event: Event) -> DropReason | None:
        found = self.sites.lookup(event.domain)
        if found is None:
            return DropReason.unknown_site
        event.site_id, enabled = found
        return None if enabled else DropReason.ingest_disabled

    def drop_bots(self, event: Event) -> DropReason | None:
        event.device = parse_user_agent(event.user_agent)
        return DropReason.bot if event.device.is_bot else None

    def put_geolocation(self, event: Event) -> DropReason | None:
        event.location = self.geolocator.locate(event.ip)
        return None

    def put_referrer_and_channel(self, event: Event) -> DropReason | None:
        request = event.request
        query = request.query
        referral = referrers.resolve(request.referrer, request.hostname, query)
        utm = {
            "utm_medium": query.get("utm_medium", ""),
            "utm_source": query.get("utm_source", ""),
            "utm_campaign": query.get("utm_campaign", ""),
            "utm_content": query.get("utm_content", ""),
            "utm_term": query.get("utm_term", ""),
        }
        event.source = {
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
        return None

    def put_visitor_id(self, event: Event) -> DropReason | None:
        today = event.now.date()
        current = self.salts.for_day(today, create=True)
        assert current is not None
        previous = self.salts.for_day(today - timedelta(days=1), create=False)
        hostname = event.request.hostname
        event.user_id = visitor_id(current, event.user_agent, event.ip, event.domain, hostname)
        if previous is not None:
            event.previous_user_id = visitor_id(previous, event.user_agent, event.ip, event.domain, hostname)
        return None

    def register_session(self, event: Event) -> DropReason | None:
        request = event.request
        device, location = event.device, event.location
        assert device is not None and location is not None
        attributes = {
            **event.source,
            "country_code": location.country_code,
            "region": location.region,
            "city": location.city,
            "screen_size": device.screen_size,
            "browser": device.browser,
            "browser_version": device.browser_version,
            "operating_system": device.operating_system,
            "operating_system_version": device.operating_system_version,
        }
        state, rows = self.tracker.on_event(
            SessionEvent(
                site_id=event.site_id,
                user_id=event.user_id,
                previous_user_id=event.previous_user_id,
                timestamp=int(event.now.timestamp()),
                name=request.name,
                interactive=request.interactive,
                hostname=request.hostname,
                pathname=request.pathname,
                attributes=attributes,
                meta_keys=list(request.props),
                meta_values=list(request.props.values()),
            )
        )
        if state is None:
            return DropReason.no_session_for_engagement
        event.session_id = state.session_id
        event.session_rows = rows
        # The event row carries its visit's attribution, as Plausible's events do.
        event.source = {
            "referrer": state.referrer,
            "referrer_source": state.referrer_source,
            "channel": state.channel,
            "utm_medium": state.utm_medium,
            "utm_source": state.utm_source,
            "utm_campaign": state.utm_campaign,
            "utm_content": state.utm_content,
            "utm_term": state.utm_term,
        }
        event.location = Location(state.country_code, state.region, state.city)
        event.device = UserAgentInfo(
            False,
            state.browser,
            state.browser_version,
            state.operating_system,
            state.operating_system_version,
            state.screen_size,
        )
        return None

    # -- running them -----------------------------------------------------------------

    def process(
        self, request: EventRequest, user_agent: str, ip: str, now: datetime
    ) -> tuple[list[Outcome], Rows]:
        """Run every step for each of the request's domains; the rows to store and what
        happened to each domain's event."""
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        outcomes: list[Outcome] = []
        rows = Rows()
        for domain in request.domains:
            event = Event(request=request, domain=domain, user_agent=user_agent, ip=ip, now=now)
            reason = None
            for _name, step in self.steps:
                reason = step(event)
                if reason is not None:
                    break
            if reason is not None:
                metrics.count_dropped(reason)
                outcomes.append(Outcome(domain, False, reason, event.site_id or None))
                continue
            rows.events.append(event_row(event))
            rows.sessions.extend(event.session_rows)
            metrics.count_accepted(request.name)
            outcomes.append(Outcome(domain, True, None, event.site_id, event.user_id, event.session_id))
        return outcomes, rows


def event_row(event: Event) -> tuple[Any, ...]:
    """The `events` row, in EVENTS_COLUMNS order."""
    request, source = event.request, event.source
    location, device = event.location, event.device
    assert location is not None and device is not None
    is_engagement = request.name == "engagement"
    return (
        int(event.now.timestamp()),
        event.site_id,
        event.user_id,
        event.session_id,
        request.name,
        request.hostname,
        request.pathname,
        source["referrer"],
        source["referrer_source"],
        source["channel"],
        source["utm_medium"],
        source["utm_source"],
        source["utm_campaign"],
        source["utm_content"],
        source["utm_term"],
        location.country_code,
        location.region,
        location.city,
        device.screen_size,
        device.browser,
        device.browser_version,
        device.operating_system,
        device.operating_system_version,
        list(request.props),
        list(request.props.values()),
        request.revenue_amount,
        request.revenue_currency or "",
        request.revenue_amount,
        request.revenue_currency or "",
        1 if request.interactive else 0,
        request.scroll_depth if is_engagement else 0,
        request.engagement_time if is_engagement else 0,
    )
