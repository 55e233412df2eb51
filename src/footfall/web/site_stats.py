"""The few numbers the site pages show (visitors in the last 24 hours, whether any arrived yet),
asked of the stats engine as Stats API v2 queries, so they equal what the API answers."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from footfall.events.store import EventStoreError
from footfall.meta.models import Site
from footfall.services import Services
from footfall.stats import engine, v2
from footfall.stats.query import QueryError
from footfall.web.stats_api import site_spec

log = logging.getLogger("footfall.web")


@dataclass(frozen=True)
class Trend:
    visitors: int
    hourly: list[int]  # the last 24 clock hours, oldest first


def _query(services: Services, site: Site, body: dict[str, Any]) -> dict[str, Any] | None:
    if services.events is None:
        return None
    try:
        query = v2.parse(site_spec(site), {"site_id": site.domain, **body}, datetime.now(UTC), None)
        return v2.response(engine.execute(services.events, query), body)
    except (EventStoreError, QueryError) as error:
        log.warning("site page numbers for %s failed: %s", site.domain, error)
        return None


def _last_day(now: datetime) -> list[str]:
    end = now.replace(minute=59, second=59, microsecond=0)
    start = (end - timedelta(hours=23)).replace(minute=0, second=0)
    return [start.isoformat(), end.isoformat()]


def last_24_hours(services: Services, site: Site) -> Trend | None:
    """Unique visitors of the last 24 clock hours, and per hour, for `/sites`."""
    now = datetime.now(UTC)
    span = _last_day(now)
    total = _query(services, site, {"metrics": ["visitors"], "date_range": span})
    hourly = _query(
        services, site, {"metrics": ["visitors"], "date_range": span, "dimensions": ["time:hour"]}
    )
    if total is None or hourly is None:
        return None
    visitors = int(total["results"][0]["metrics"][0]) if total["results"] else 0
    by_hour = {row["dimensions"][0][:13]: int(row["metrics"][0]) for row in hourly["results"]}
    start = datetime.fromisoformat(span[0]).astimezone(UTC)
    series = []
    for step in range(24):
        moment = (start + timedelta(hours=step)).astimezone(_zone(site.timezone))
        series.append(
            by_hour.get(moment.strftime("%Y-%m-%d %H"), by_hour.get(moment.strftime("%Y-%m-%dT%H"), 0))
        )
    return Trend(visitors, series)


def _zone(name: str):
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def has_pageviews(services: Services, site: Site) -> bool:
    """Whether the site has received anything yet (the snippet page's waiting state)."""
    since = (site.created_at - timedelta(days=1)).replace(tzinfo=UTC)
    span = [since.isoformat(), datetime.now(UTC).isoformat()]
    answer = _query(services, site, {"metrics": ["pageviews"], "date_range": span})
    return bool(answer and answer["results"] and answer["results"][0]["metrics"][0])
