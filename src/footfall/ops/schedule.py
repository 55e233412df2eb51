"""Scheduled backups: `BACKUP_SCHEDULE` (a cron expression, UTC) into `BACKUP_DIR`, keeping
`BACKUP_KEEP` of them. A failed backup, or none within two intervals of the schedule, is a
metric (`footfall_backup_failures_total`, `footfall_backup_stale`), a log line and an
operator alert."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import Any

from croniter import croniter

from footfall.ops import alerts, metrics

log = logging.getLogger("footfall.ops")

# Where `footfall serve` keeps its BackupSchedule (Services.extras), for the admins' banner.
BACKUP_SCHEDULE = "backup_schedule"


class BackupSchedule:
    def __init__(self, settings: Any, run_backup: Any) -> None:
        self.settings = settings
        self.run_backup = run_backup  # () -> manifest-ish dict; raises on failure
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_success: datetime | None = None
        # The last failed run since the last success (when, why), for the admins' banner.
        self.last_failure: tuple[datetime, str] | None = None
        self.stale = False

    def start(self) -> None:
        from footfall.ops.backup import backups_in

        found = backups_in(self.settings.backup_dir) if self.settings.backup_dir else []
        if found:
            manifest = found[-1][1]
            self.last_success = datetime.fromisoformat(manifest["created_at"])
            metrics.BACKUP_LAST_SUCCESS.set(self.last_success.timestamp())
            metrics.BACKUP_LAST_SIZE.set(float(manifest.get("size_bytes", 0)))
        self._thread = threading.Thread(target=self._loop, name="footfall-backups", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def interval_seconds(self, now: datetime) -> float:
        times = croniter(self.settings.backup_schedule, now)
        first = times.get_next(datetime)
        return (times.get_next(datetime) - first).total_seconds()

    def _loop(self) -> None:
        while not self._stop.is_set():
            now = datetime.now(UTC)
            due = croniter(self.settings.backup_schedule, now).get_next(datetime)
            while not self._stop.is_set():
                self.check_stale(datetime.now(UTC))
                left = (due - datetime.now(UTC)).total_seconds()
                if left <= 0:
                    break
                self._stop.wait(min(left, 30))
            if self._stop.is_set():
                return
            self.run_once()

    def run_once(self) -> None:
        try:
            self.run_backup()
        except Exception as error:
            metrics.backup_failed()
            reason = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
            message = f"scheduled backup into {self.settings.backup_dir} failed: {reason}"
            log.error(message)
            self.last_failure = (datetime.now(UTC), reason)
            alerts.operator_alert("backup_failed", message)
            return
        self.last_success = datetime.now(UTC)
        self.last_failure = None
        self.stale = False

    def check_stale(self, now: datetime) -> bool:
        """No success within two intervals (since start, when there has been none)."""
        limit = 2 * self.interval_seconds(now)
        since = self.last_success
        stale = since is not None and (now - since).total_seconds() > limit
        metrics.BACKUP_STALE.set(1 if stale else 0)
        if stale and not self.stale:
            message = (
                f"no backup since {since:%Y-%m-%d %H:%M} UTC, though BACKUP_SCHEDULE "
                f"({self.settings.backup_schedule}) asks for one every {limit / 2:.0f} s"
            )
            log.error(message)
            alerts.operator_alert("backup_stale", message)
        self.stale = stale
        return stale
