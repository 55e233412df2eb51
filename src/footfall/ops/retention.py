"""Retention: `DATA_RETENTION_DAYS` drops whole monthly partitions whose newest row is older
than the limit, in every event-store table partitioned by time (events, sessions, the
hourly rollups). Dropping a partition is a metadata operation: no rewrite, no merge, the
space is back at once. A partition holding any row younger than the limit is kept whole, so
up to a month more than the limit may remain. The daily counts have no time partitions: their
days past the limit and before the oldest month left in `events` are deleted (a mutation,
only when there are any), so they never answer for days whose events are gone.

A site may keep its events for a shorter time (`sites.retention_days`, set on its general
settings or through the Sites API; no longer than DATA_RETENTION_DAYS when that is set).
Partitions are shared by all sites, so the same job deletes that site's rows older than its
cutoff (the UTC midnight `retention_days` days back) from events, sessions, the hourly
rollups and the daily counts (footfall.events.deletion.delete_site_events_before); imported
tables are not touched. It runs for a site at most once a day (once its cutoff has moved),
and a site with nothing that old costs one indexed look per table.

The embedded engine keeps no system logs on disk (chDB has none of ClickHouse's MergeTree
`system.*_log` tables; `test_ops_retention.py` checks it); for ClickHouse servers
`deploy/kubernetes/overlays/cluster/clickhouse/footfall-system-logs.xml` keeps `query_log` 30
days and turns the other system logs off.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from footfall.events.deletion import delete_days_before, delete_site_events_before
from footfall.events.store import EventStore
from footfall.meta.db import session_scope
from footfall.meta.models import Site
from footfall.ops.admin import AdminError, Job, admin_command
from footfall.services import Services

log = logging.getLogger("footfall.ops")


def old_partitions(store: EventStore, days: int, now: datetime) -> list[tuple[str, str]]:
    """(table, partition id) of every partition whose newest row is older than `days` days."""
    cutoff = (now - timedelta(days=days)).astimezone(UTC).replace(tzinfo=None)
    found = store.query(
        "SELECT table, partition_id, max(max_time), max(max_date) FROM system.parts "
        "WHERE database = {d:String} AND active GROUP BY table, partition_id ORDER BY table, partition_id",
        {"d": store.database},
    )
    dropping = []
    for table, partition, newest_time, newest_date in found.rows:
        newest = (
            newest_time if newest_time.year > 1970 else datetime.combine(newest_date, datetime.min.time())
        )
        if newest.year <= 1970:
            continue  # not partitioned by a time: never dropped by age
        if newest < cutoff:
            dropping.append((str(table), str(partition)))
    return dropping


def apply_retention(store: EventStore, days: int, now: datetime | None = None) -> list[tuple[str, str]]:
    dropped = []
    for table, partition in old_partitions(store, days, now or datetime.now(UTC)):
        store.command(f"ALTER TABLE {{db}}.`{table}` DROP PARTITION ID '{partition}'")
        dropped.append((table, partition))
    if dropped:
        log.info("retention (DATA_RETENTION_DAYS=%d): dropped %d partitions", days, len(dropped))
    first_kept = first_kept_day(store, days, now or datetime.now(UTC))
    tables = delete_days_before(store, first_kept)
    if tables:
        log.info(
            "retention (DATA_RETENTION_DAYS=%d): deleted daily counts before %s from %s",
            days,
            first_kept.isoformat(),
            ", ".join(tables),
        )
    return dropped


def first_kept_day(store: EventStore, days: int, now: datetime) -> date:
    """The first day whose daily counts the instance's retention keeps: the daily tables are
    not partitioned by time, so their days go once they are both past the limit and before
    the oldest month still held in the events table (whose partitions are dropped whole)."""
    limit = (now.astimezone(UTC) - timedelta(days=days)).date()
    oldest = store.query(
        "SELECT min(partition_id) FROM system.parts "
        "WHERE database = {d:String} AND table = 'events' AND active",
        {"d": store.database},
    ).rows
    month = str(oldest[0][0]) if oldest and oldest[0][0] else ""
    if len(month) == 6 and month.isdigit():
        return min(limit, date(int(month[:4]), int(month[4:]), 1))
    return limit


# services.extras key: {site id: the cutoff last applied}, so a site is done once a day.
APPLIED = "retention.sites"


def sites_with_retention(services: Services) -> list[tuple[int, str, int]]:
    """(id, domain, retention_days) of every site with a retention of its own."""
    with session_scope(services.sessions) as db:
        rows = db.execute(
            select(Site.id, Site.domain, Site.retention_days)
            .where(Site.retention_days.is_not(None))
            .order_by(Site.id)
        ).all()
    return [(int(i), str(d), int(r)) for i, d, r in rows]


def site_cutoff(days: int, now: datetime) -> datetime:
    """The UTC midnight `days` days before `now`: a site's rows before it are deleted."""
    day = (now.astimezone(UTC) - timedelta(days=days)).date()
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def apply_site_retention(
    services: Services, instance_days: int | None, now: datetime | None = None, *, force: bool = False
) -> dict[str, list[str]]:
    """Each site with its own retention loses its rows older than its cutoff (the shorter of
    its own and the instance's limit), unless done for that cutoff already (`force`: again);
    {domain: tables that had such rows} of the sites looked at."""
    assert services.events is not None
    moment = now or datetime.now(UTC)
    applied: dict[int, datetime] = services.extras.setdefault(APPLIED, {})
    done: dict[str, list[str]] = {}
    for site_id, domain, own in sites_with_retention(services):
        days = min(own, instance_days) if instance_days else own
        cutoff = site_cutoff(days, moment)
        if not force and applied.get(site_id) is not None and applied[site_id] >= cutoff:
            continue  # done today already
        tables = delete_site_events_before(services.events, site_id, cutoff)
        applied[site_id] = cutoff
        if tables:
            log.info(
                "retention (%s: %d days): deleted rows before %s from %s",
                domain,
                days,
                cutoff.date().isoformat(),
                ", ".join(tables),
            )
        done[domain] = tables
    return done


@admin_command("retention")
def retention_command(job: Job, args: dict[str, Any]) -> dict[str, Any]:
    days = args.get("days") or job.settings.data_retention_days
    sites = sites_with_retention(job.services)
    if not days and not sites:
        raise AdminError(
            "no retention set: DATA_RETENTION_DAYS is unset (or pass --days) and no site has its own"
        )
    assert job.services.events is not None
    dropped = apply_retention(job.services.events, int(days)) if days else []
    deleted = apply_site_retention(job.services, int(days) if days else None, force=bool(args.get("force")))
    return {
        "days": int(days) if days else None,
        "dropped": [f"{t}/{p}" for t, p in dropped],
        "sites": deleted,
    }


def retention_due(services: Services) -> bool:
    """Whether the hourly job has anything to apply (a global limit or a site's own)."""
    return bool(services.settings.data_retention_days) or bool(sites_with_retention(services))


class RetentionJob:
    """Applies DATA_RETENTION_DAYS and the sites' own retention at start and then hourly, in
    a thread of its own."""

    def __init__(self, run: Any, interval: float = 3600.0) -> None:
        self.run = run
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="footfall-retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(5 if self.interval > 5 else self.interval):
            try:
                self.run()
            except Exception:
                log.exception("retention: cannot drop old partitions; retrying in an hour")
            if self._stop.wait(self.interval):
                return
