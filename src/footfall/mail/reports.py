"""Weekly and monthly email reports: when each is due, its numbers, and sending it once.

A weekly report goes out on Monday at 09:00 in the site's time zone, for the week before
(Monday to Sunday); a monthly one on the 1st at 09:00, for the month before. Each period
is compared with the one before it (the week before; the month before). The numbers are
the Stats API's own: each part is a Stats API v2 query run by the stats engine.

`send_due_reports` runs every minute on the replica holding the `reports` lease. For each
site with recipients it finds the latest scheduled moment; if that period has no row in
`email_report_runs` yet, the report is enqueued for every recipient and the row written in
the same transaction (the primary key makes a second writer fail, so a period goes out
once). A report missed while footfall was down is sent when it starts again if its moment
is less than `CATCH_UP` old; an older one is recorded as skipped and logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from footfall.config import Settings
from footfall.events.store import EventStore
from footfall.mail.compose import absolute, compose
from footfall.mail.mailer import Message
from footfall.mail.outbox import enqueue
from footfall.meta.db import session_scope
from footfall.meta.mail import ReportRecipient, ReportRun
from footfall.meta.models import Site
from footfall.services import Services
from footfall.stats import engine, v2
from footfall.stats.query import GoalSpec, SiteSpec

log = logging.getLogger("footfall.mail")

KINDS = ("weekly", "monthly")
SEND_AT = time(9, 0)
CATCH_UP = timedelta(days=1)


@dataclass(frozen=True)
class Period:
    kind: str
    first: date  # first day, in the site's zone
    last: date  # last day, inclusive
    previous_first: date
    previous_last: date
    scheduled_at: datetime  # when it is sent, UTC (naive)

    @property
    def label(self) -> str:
        if self.kind == "monthly":
            return f"{self.first:%B %Y}"
        return f"{self.first:%-d %b} to {self.last:%-d %b %Y}"


def _first_of_previous_month(day: date) -> date:
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)


def latest_period(kind: str, timezone: str, now: datetime) -> Period:
    """The latest report of `kind` whose moment (09:00 in `timezone`) is not after `now` (UTC)."""
    zone = ZoneInfo(timezone)
    local = now.replace(tzinfo=UTC).astimezone(zone)
    if kind == "weekly":
        monday = local.date() - timedelta(days=local.weekday())
        if local.date() == monday and local.time() < SEND_AT:
            monday -= timedelta(days=7)
        send_day = monday
        first = monday - timedelta(days=7)
        last = monday - timedelta(days=1)
        previous_first, previous_last = first - timedelta(days=7), first - timedelta(days=1)
    elif kind == "monthly":
        send_day = local.date().replace(day=1)
        if local.date() == send_day and local.time() < SEND_AT:
            send_day = _first_of_previous_month(send_day)
        first = _first_of_previous_month(send_day)
        last = send_day - timedelta(days=1)
        previous_first = _first_of_previous_month(first)
        previous_last = first - timedelta(days=1)
    else:
        raise ValueError(f"unknown report kind {kind!r}")
    scheduled = datetime.combine(send_day, SEND_AT, tzinfo=zone).astimezone(UTC).replace(tzinfo=None)
    return Period(kind, first, last, previous_first, previous_last, scheduled)


@dataclass(frozen=True)
class Change:
    value: float
    change: float | None  # percent (bounce rate: percentage points), None without a previous value


@dataclass(frozen=True)
class ReportNumbers:
    visitors: Change
    pageviews: Change
    bounce_rate: Change
    visit_duration: Change
    sources: list[tuple[str, int]]
    pages: list[tuple[str, int]]
    goals: list[tuple[str, int, float]]  # goal, unique conversions, conversion rate


def _query(store: EventStore, site: SiteSpec, body: dict[str, Any], now: datetime) -> list[dict[str, Any]]:
    body = {"site_id": site.domain, **body}
    query = v2.parse(site, body, now.replace(tzinfo=UTC))
    return v2.response(engine.execute(store, query), body)["results"]


def report_numbers(store: EventStore, site: SiteSpec, period: Period, now: datetime) -> ReportNumbers:
    """The report's numbers, each from a Stats API v2 query over the period."""
    date_range = [period.first.isoformat(), period.last.isoformat()]
    metrics = ["visitors", "pageviews", "bounce_rate", "visit_duration"]
    [totals] = _query(
        store,
        site,
        {
            "metrics": metrics,
            "date_range": date_range,
            "include": {
                "comparisons": {
                    "mode": "custom",
                    "date_range": [period.previous_first.isoformat(), period.previous_last.isoformat()],
                }
            },
        },
        now,
    )
    changes = totals.get("comparison", {}).get("change") or [None] * len(metrics)
    value = dict(zip(metrics, totals["metrics"], strict=True))
    change = dict(zip(metrics, changes, strict=True))
    sources = _query(
        store,
        site,
        {
            "metrics": ["visitors"],
            "date_range": date_range,
            "dimensions": ["visit:source"],
            "filters": [["is_not", "visit:source", ["Direct / None"]]],
            "order_by": [["visitors", "desc"], ["visit:source", "asc"]],
            "pagination": {"limit": 5},
        },
        now,
    )
    pages = _query(
        store,
        site,
        {
            "metrics": ["visitors"],
            "date_range": date_range,
            "dimensions": ["event:page"],
            "order_by": [["visitors", "desc"], ["event:page", "asc"]],
            "pagination": {"limit": 5},
        },
        now,
    )
    goals: list[tuple[str, int, float]] = []
    if site.goals:
        rows = _query(
            store,
            site,
            {
                "metrics": ["visitors", "conversion_rate"],
                "date_range": date_range,
                "dimensions": ["event:goal"],
                "order_by": [["visitors", "desc"], ["event:goal", "asc"]],
                "pagination": {"limit": 5},
            },
            now,
        )
        goals = [(r["dimensions"][0], int(r["metrics"][0]), float(r["metrics"][1])) for r in rows]
    return ReportNumbers(
        visitors=Change(value["visitors"], change["visitors"]),
        pageviews=Change(value["pageviews"], change["pageviews"]),
        bounce_rate=Change(value["bounce_rate"], change["bounce_rate"]),
        visit_duration=Change(value["visit_duration"], change["visit_duration"]),
        sources=[(r["dimensions"][0], int(r["metrics"][0])) for r in sources],
        pages=[(r["dimensions"][0], int(r["metrics"][0])) for r in pages],
        goals=goals,
    )


def _duration(seconds: float) -> str:
    seconds = round(seconds or 0)
    minutes, rest = divmod(seconds, 60)
    return f"{minutes}m {rest:02d}s" if minutes else f"{rest}s"


def _change(change: float | None, points: bool = False) -> str:
    if change is None:
        return "no previous data"
    unit = " pp" if points else "%"
    return f"{'+' if change > 0 else ''}{change:g}{unit}"


def dashboard_link(base_url: str, domain: str, period: Period) -> str:
    query = urlencode({"period": "custom", "from": period.first.isoformat(), "to": period.last.isoformat()})
    return absolute(base_url, f"/{domain}?{query}")


def unsubscribe_link(base_url: str, token: str) -> str:
    return absolute(base_url, f"/email-reports/unsubscribe/{token}")


def report_message(
    settings: Settings, site: SiteSpec, period: Period, numbers: ReportNumbers, to: str, token: str
) -> Message:
    unsubscribe = unsubscribe_link(settings.base_url, token)
    kind = "Weekly" if period.kind == "weekly" else "Monthly"
    headers = {
        "List-Unsubscribe": f"<{unsubscribe}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    message = compose(
        "report",
        (to,),
        f"{kind} report for {site.domain}: {period.label}",
        settings.base_url,
        kind=kind,
        domain=site.domain,
        period=period,
        numbers=numbers,
        headline=[
            ("Visitors", f"{numbers.visitors.value:,}", _change(numbers.visitors.change)),
            ("Pageviews", f"{numbers.pageviews.value:,}", _change(numbers.pageviews.change)),
            (
                "Bounce rate",
                f"{numbers.bounce_rate.value:g}%",
                _change(numbers.bounce_rate.change, points=True),
            ),
            (
                "Visit duration",
                _duration(numbers.visit_duration.value),
                _change(numbers.visit_duration.change),
            ),
        ],
        dashboard_link=dashboard_link(settings.base_url, site.domain, period),
        unsubscribe_link=unsubscribe,
        headers=headers,
    )
    return message


def site_spec_of(site: Site) -> SiteSpec:
    goals = tuple(
        GoalSpec(g.display_name, g.event_name, g.page_path, g.currency)
        for g in sorted(site.goals, key=lambda g: g.id)
    )
    return SiteSpec(site.id, site.domain, site.timezone, goals)


def send_due_reports(services: Services, now: datetime) -> list[tuple[str, str, date, str]]:
    """Enqueue every report that is due at `now` (UTC, naive) and not yet dealt with.
    Returns (domain, kind, period start, "sent" | "skipped") for each period dealt with."""
    store = services.events
    if store is None:
        return []
    with session_scope(services.sessions) as db:
        wanted = db.execute(select(ReportRecipient.site_id, ReportRecipient.kind).distinct()).all()
    done: list[tuple[str, str, date, str]] = []
    for site_id, kind in sorted(wanted):
        try:
            outcome = _send_site_report(services, store, site_id, kind, now)
        except Exception:
            log.exception("reports: the %s report of site %s failed; trying again next minute", kind, site_id)
            continue
        if outcome is not None:
            done.append(outcome)
    return done


def _send_site_report(
    services: Services, store: EventStore, site_id: int, kind: str, now: datetime
) -> tuple[str, str, date, str] | None:
    with session_scope(services.sessions) as db:
        site = db.get(Site, site_id)
        if site is None:
            return None
        period = latest_period(kind, site.timezone, now)
        if db.get(ReportRun, (site_id, kind, period.first)) is not None:
            return None
        recipients = _recipients(db, site_id, kind, period)
        if not recipients:
            return None
        spec = site_spec_of(site)
        if now - period.scheduled_at > CATCH_UP:
            outcome = "skipped"
            log.warning(
                "reports: the %s report of %s for %s was due at %s UTC, more than a day ago "
                "(footfall was not running): skipped",
                kind,
                site.domain,
                period.label,
                period.scheduled_at,
            )
        else:
            outcome = "sent"
            numbers = report_numbers(store, spec, period, now)
            for address, token in recipients:
                enqueue(
                    db,
                    services.settings.mail,
                    report_message(services.settings, spec, period, numbers, address, token),
                    kind=f"{kind}_report",
                )
        try:
            with db.begin_nested():
                db.add(ReportRun(site_id=site_id, kind=kind, period_start=period.first, outcome=outcome))
        except IntegrityError:
            db.rollback()  # another replica dealt with this period just now: send nothing
            return None
        if outcome == "sent":
            log.info(
                "reports: %s report of %s for %s to %d recipient(s)",
                kind,
                site.domain,
                period.label,
                len(recipients),
            )
        return (site.domain, kind, period.first, outcome)


def _recipients(db: Session, site_id: int, kind: str, period: Period) -> list[tuple[str, str]]:
    """Addresses subscribed before the report's moment (a new subscriber's first report is the next one)."""
    rows = db.execute(
        select(ReportRecipient.email, ReportRecipient.unsubscribe_token)
        .where(
            ReportRecipient.site_id == site_id,
            ReportRecipient.kind == kind,
            ReportRecipient.created_at <= period.scheduled_at,
        )
        .order_by(ReportRecipient.id)
    ).all()
    return [(email, token) for email, token in rows]
