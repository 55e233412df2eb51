"""Retention: `DATA_RETENTION_DAYS` drops whole monthly partitions whose newest row is older
than the limit, in every event-store table partitioned by time (events, sessions, the
hourly rollups, the daily counts). Dropping a partition is a metadata operation: no rewrite,
no merge, the space is back at once. A partition holding any row younger than the limit is
kept whole, so up to a month more than the limit may remain.

The embedded engine keeps no system logs on disk (chDB has none of ClickHouse's MergeTree
`system.*_log` tables; `test_ops_retention.py` checks it); for ClickHouse servers
`deploy/kubernetes/overlays/cluster/clickhouse/footfall-system-logs.xml` keeps `query_log` 30
days and turns the other system logs off.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from footfall.events.store import EventStore
from footfall.ops.admin import AdminError, Job, admin_command

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
    return dropped


@admin_command("retention")
def retention_command(job: Job, args: dict[str, Any]) -> dict[str, Any]:
    days = args.get("days") or job.settings.data_retention_days
    if not days:
        raise AdminError("no retention set: DATA_RETENTION_DAYS is unset (or pass --days)")
    assert job.services.events is not None
    dropped = apply_retention(job.services.events, int(days))
    return {"days": int(days), "dropped": [f"{t}/{p}" for t, p in dropped]}


class RetentionJob:
    """Applies DATA_RETENTION_DAYS at start and then hourly, in a thread of its own."""

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
