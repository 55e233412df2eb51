"""Traffic alerts, checked every 15 minutes on the replica holding the `traffic_alerts` lease:

- spike: the site's current visitors (the last 5 minutes, as the Stats API's realtime
  visitors) at or above the threshold; the mail lists the top 3 sources and pages of those
  5 minutes;
- drop: the site's visitors in the last 12 hours below the threshold.

Each alert mails its recipients at most once every 12 hours (as Plausible does): the
`last_sent_at` compare-and-set and the enqueued mails commit together.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from footfall.mail.compose import absolute, compose
from footfall.mail.outbox import enqueue
from footfall.mail.reports import site_spec_of
from footfall.meta.db import session_scope
from footfall.meta.mail import TrafficAlert
from footfall.meta.models import Site
from footfall.services import Services
from footfall.stats import engine, v2
from footfall.stats.query import SiteSpec

log = logging.getLogger("footfall.mail")

QUIET = timedelta(hours=12)
SPIKE_WINDOW = timedelta(minutes=5)
DROP_WINDOW = timedelta(hours=12)


def _iso(moment: datetime) -> str:
    return moment.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")


def _top(
    services: Services, site: SiteSpec, dimension: str, since: datetime, now: datetime
) -> list[tuple[str, int]]:
    body: dict[str, Any] = {
        "site_id": site.domain,
        "metrics": ["visitors"],
        "date_range": [_iso(since), _iso(now)],
        "dimensions": [dimension],
        "order_by": [["visitors", "desc"], [dimension, "asc"]],
        "pagination": {"limit": 3},
    }
    assert services.events is not None
    result = engine.execute(services.events, v2.parse(site, body, now.replace(tzinfo=UTC)))
    return [(r["dimensions"][0], int(r["metrics"][0])) for r in v2.response(result, body)["results"]]


def _visitors(services: Services, site: SiteSpec, since: datetime, now: datetime) -> int:
    body = {"site_id": site.domain, "metrics": ["visitors"], "date_range": [_iso(since), _iso(now)]}
    assert services.events is not None
    result = engine.execute(services.events, v2.parse(site, body, now.replace(tzinfo=UTC)))
    return int(v2.response(result, body)["results"][0]["metrics"][0])


def check_traffic_alerts(services: Services, now: datetime) -> list[tuple[str, str, int]]:
    """Mail every alert whose condition holds at `now` (UTC, naive) and that was quiet for
    12 hours. Returns (domain, kind, visitors) for each alert mailed."""
    if services.events is None:
        return []
    with session_scope(services.sessions) as db:
        alert_ids = list(db.scalars(select(TrafficAlert.id).order_by(TrafficAlert.id)))
    mailed = []
    for alert_id in alert_ids:
        try:
            outcome = _check(services, alert_id, now)
        except Exception:
            log.exception("traffic alerts: alert %s could not be checked", alert_id)
            continue
        if outcome:
            mailed.append(outcome)
    return mailed


def _check(services: Services, alert_id: int, now: datetime) -> tuple[str, str, int] | None:
    settings = services.settings
    with session_scope(services.sessions) as db:
        alert = db.get(TrafficAlert, alert_id)
        if alert is None or (alert.last_sent_at is not None and now - alert.last_sent_at < QUIET):
            return None
        site = db.get(Site, alert.site_id)
        recipients = tuple(a.strip() for a in alert.recipients.split(",") if a.strip())
        if site is None or not recipients:
            return None
        spec = site_spec_of(site)
        assert services.events is not None
        dashboard = absolute(settings.base_url, f"/{site.domain}")
        if alert.kind == "spike":
            visitors = engine.current_visitors(services.events, spec, now.replace(tzinfo=UTC), minutes=5)
            if visitors < alert.threshold:
                return None
            since = now - SPIKE_WINDOW
            message = compose(
                "traffic_spike",
                recipients,
                f"Traffic spike on {site.domain}: {visitors} current visitors",
                settings.base_url,
                domain=site.domain,
                visitors=visitors,
                threshold=alert.threshold,
                sources=_top(services, spec, "visit:source", since, now),
                pages=_top(services, spec, "event:page", since, now),
                dashboard_link=absolute(settings.base_url, f"/{site.domain}?period=realtime"),
                settings_link=absolute(settings.base_url, f"/{site.domain}/settings/email-reports"),
            )
        else:
            visitors = _visitors(services, spec, now - DROP_WINDOW, now)
            if visitors >= alert.threshold:
                return None
            message = compose(
                "traffic_drop",
                recipients,
                f"Traffic drop on {site.domain}: {visitors} visitors in the last 12 hours",
                settings.base_url,
                domain=site.domain,
                visitors=visitors,
                threshold=alert.threshold,
                dashboard_link=dashboard,
                settings_link=absolute(settings.base_url, f"/{site.domain}/settings/email-reports"),
            )
        taken = db.execute(
            update(TrafficAlert)
            .where(
                TrafficAlert.id == alert.id,
                TrafficAlert.last_sent_at.is_(None) | (TrafficAlert.last_sent_at <= now - QUIET),
            )
            .values(last_sent_at=now)
        ).rowcount
        if not taken:
            return None  # another replica mailed it just now
        enqueue(db, settings.mail, message, kind=f"traffic_{alert.kind}")
        log.info(
            "traffic alerts: %s alert of %s (%d visitors) to %s",
            alert.kind,
            site.domain,
            visitors,
            ", ".join(recipients),
        )
        return (site.domain, alert.kind, visitors)
