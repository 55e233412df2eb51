"""Operations metrics on /metrics: backups, data paths' free space, the event store's parts,
flush and query latency."""

from __future__ import annotations

import time
from typing import Any

from prometheus_client import Counter, Gauge

BACKUP_LAST_SUCCESS = Gauge(
    "footfall_backup_last_success_timestamp_seconds", "Unix time of the last successful backup (0: none yet)"
)
BACKUP_LAST_SIZE = Gauge("footfall_backup_last_size_bytes", "Size of the last successful backup's files")
BACKUP_LAST_DURATION = Gauge(
    "footfall_backup_last_duration_seconds", "How long the last successful backup took"
)
BACKUP_FAILURES = Counter("footfall_backup_failures", "Backups that failed (scheduled or by command)")
BACKUP_STALE = Gauge(
    "footfall_backup_stale", "1 when BACKUP_SCHEDULE is set and no backup succeeded within two intervals"
)


def backup_succeeded(manifest: dict[str, Any]) -> None:
    BACKUP_LAST_SUCCESS.set(time.time())
    BACKUP_LAST_SIZE.set(float(manifest.get("size_bytes", 0)))
    BACKUP_LAST_DURATION.set(float(manifest.get("seconds") or 0))
    BACKUP_STALE.set(0)


def backup_failed() -> None:
    BACKUP_FAILURES.inc()
