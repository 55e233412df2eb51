"""What `footfall serve` runs beside the web loop for operations: the admin channel, the disk
watch, scheduled backups and the metrics read at scrape time. `start_operations` at start,
`Operations.stop` at shutdown (footfall.app)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from footfall.ops import metrics
from footfall.ops.admin import AdminServer
from footfall.ops.disk import DiskWatch
from footfall.ops.health import DISK_WATCH
from footfall.ops.retention import RetentionJob, retention_due
from footfall.ops.schedule import BACKUP_SCHEDULE, BackupSchedule
from footfall.services import Services

log = logging.getLogger("footfall.ops")


@dataclass
class Operations:
    admin: AdminServer
    disk: DiskWatch
    schedule: BackupSchedule | None
    services: Services
    retention: RetentionJob | None = None

    def stop(self) -> None:
        if self.retention is not None:
            self.retention.stop()
        if self.schedule is not None:
            self.schedule.stop()
        self.disk.stop()
        self.admin.stop()
        self.services.extras.pop(DISK_WATCH, None)
        self.services.extras.pop(BACKUP_SCHEDULE, None)
        if metrics.SERVER.services is self.services:
            metrics.SERVER.services = None
            metrics.SERVER.disk = None


def start_operations(
    services: Services, buffer_of: Callable[[], Any], *, disk_interval: float = 1.0
) -> Operations:
    settings = services.settings
    admin = AdminServer(services, buffer_of)
    admin.start()
    disk = DiskWatch(settings, buffer_of, interval=disk_interval)
    disk.start()
    services.extras[DISK_WATCH] = disk
    schedule = None
    if settings.backup_schedule and settings.backup_dir:
        schedule = BackupSchedule(
            settings,
            lambda: admin.run_here(
                "backup.create", {"to": str(settings.backup_dir), "keep": settings.backup_keep}
            ),
        )
        schedule.start()
        services.extras[BACKUP_SCHEDULE] = schedule  # read by footfall.ops.status (the banner)
        log.info("backups scheduled (%s) into %s", settings.backup_schedule, settings.backup_dir)
    # Always running: a site may get a retention of its own at any time. An hour with
    # nothing to apply takes no job lock (one metadata query).
    retention = RetentionJob(lambda: retention_due(services) and admin.run_here("retention", {}))
    retention.start()
    metrics.SERVER.services = services
    metrics.SERVER.buffer_of = buffer_of
    metrics.SERVER.disk = disk
    return Operations(admin, disk, schedule, services, retention)
