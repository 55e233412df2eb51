"""A site as the stats engine sees it (`SiteSpec`: id, domain, time zone, goals, first day of
stats), and the sites the daily counts are kept for. Read from the metadata store here, so that
the read path (`footfall.stats`) takes a plain value and never reads the metadata itself.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import object_session

from footfall.events.store import EventStore
from footfall.meta.db import session_scope
from footfall.meta.models import Site
from footfall.moving.imports import completed_imports
from footfall.services import Services
from footfall.stats.query import GoalSpec, ImportSpec, SiteSpec


def site_spec(site: Site, store: EventStore | None = None) -> SiteSpec:
    """What a query needs of a site; with `store`, also its first day of stats (`date_range`
    "all"), which costs a query on the event store."""
    goals = tuple(
        GoalSpec(g.display_name, g.event_name, g.page_path, g.currency)
        for g in sorted(site.goals, key=lambda g: g.id)
    )
    spec = SiteSpec(site.id, site.domain, site.timezone, goals, imports=_imports(site))
    return spec if store is None else with_stats_start(spec, store, site.created_at)


def _imports(site: Site) -> tuple[ImportSpec, ...]:
    """The site's completed imports (`footfall.moving`), from the session the site came from."""
    db = object_session(site)
    if db is None:
        return ()
    return tuple(ImportSpec(i.id, i.start_date, i.end_date) for i in completed_imports(db, site.id))


def with_stats_start(spec: SiteSpec, store: EventStore, created_at: datetime) -> SiteSpec:
    """`spec` with its first day of stats: the day of its first event, else of its creation."""
    first = store.query(
        "SELECT min(timestamp), count() FROM {db}.events WHERE site_id = {site:UInt64}", {"site": spec.id}
    ).rows
    if first and first[0][1]:
        start = first[0][0].replace(tzinfo=UTC).astimezone(ZoneInfo(spec.timezone)).date()
    else:
        start = created_at.date()
    return replace(spec, stats_start=start)


def counted_sites(services: Services) -> list[tuple[int, tuple[GoalSpec, ...]]]:
    """Every site and its goals: what the daily counts are kept for (footfall.stats.daily)."""
    with session_scope(services.sessions) as db:
        return [(spec.id, spec.goals) for spec in (site_spec(site) for site in db.scalars(select(Site)))]
