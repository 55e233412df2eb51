"""Disk safety: the free space of every data path, watched; inserts stopped before a full disk.

Every `interval` seconds the watch reads the used share of each filesystem holding a data
path (DATA_DIR, its event store, its write-ahead log). At `DISK_WARN_PERCENT` used it warns
(log line, `footfall_disk_level` on /metrics, an operator alert); at `DISK_CRITICAL_PERCENT`
it stops inserts into the event store before the engine can run out of space in the middle
of a part or a merge: tracker posts are still acknowledged into the write-ahead log while its
disk leaves room for it (a reserve of `RESERVE_BYTES`, or 1% of the disk if larger), then
answered 503 with Retry-After, and readiness says not ready. When space comes back the watch
lets the flusher go on by itself and everything acknowledged is stored.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from footfall.ops import alerts

log = logging.getLogger("footfall.ops")

OK, WARN, CRITICAL = "ok", "warn", "critical"
LEVELS = {OK: 0, WARN: 1, CRITICAL: 2}
RESERVE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class PathSpace:
    path: Path
    total: int
    free: int

    @property
    def used_percent(self) -> float:
        return 100.0 * (self.total - self.free) / self.total if self.total else 0.0


def data_paths(settings: Any) -> list[Path]:
    paths = [settings.data_dir, settings.wal_dir]
    if settings.embedded_events:
        paths.append(settings.events_dir)
    return paths


def space(path: Path) -> PathSpace:
    existing = path
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    usage = shutil.disk_usage(existing)
    return PathSpace(path, usage.total, usage.free)


class DiskWatch:
    def __init__(self, settings: Any, buffer_of: Any, interval: float = 1.0) -> None:
        self.settings = settings
        self.buffer_of = buffer_of
        self.interval = interval
        self.level = OK
        self.spaces: list[PathSpace] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.check()
        self._thread = threading.Thread(target=self._loop, name="footfall-disk", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception:
                log.exception("disk watch: cannot read free space")

    def check(self) -> str:
        """Read every data path's space, set the level, hold or release inserts."""
        seen: dict[int, PathSpace] = {}
        spaces = []
        for path in data_paths(self.settings):
            measured = space(path)
            spaces.append(measured)
            try:
                device = os.stat(path if path.exists() else path.parent).st_dev
            except OSError:
                continue
            seen.setdefault(device, measured)
        self.spaces = spaces
        worst = max((s.used_percent for s in spaces), default=0.0)
        level = (
            CRITICAL
            if worst >= self.settings.disk_critical_percent
            else WARN
            if worst >= self.settings.disk_warn_percent
            else OK
        )
        buffer = self.buffer_of()
        if buffer is not None:
            buffer.inserts_held = level == CRITICAL
            wal = space(self.settings.wal_dir)
            buffer.disk_room = wal.free > max(RESERVE_BYTES, wal.total // 100)
        if level != self.level:
            self._changed(self.level, level, max(spaces, key=lambda s: s.used_percent))
            self.level = level
        return level

    def _changed(self, before: str, after: str, fullest: PathSpace) -> None:
        where = f"{fullest.path} is {fullest.used_percent:.1f}% full ({fullest.free} bytes free)"
        if after == CRITICAL:
            message = (
                f"disk critical: {where}, at or over DISK_CRITICAL_PERCENT "
                f"({self.settings.disk_critical_percent}%): inserts into the event store stopped; events "
                "wait in the write-ahead log"
            )
            log.error(message)
            alerts.operator_alert("disk_critical", message)
        elif after == WARN:
            message = (
                f"disk warning: {where}, at or over DISK_WARN_PERCENT ({self.settings.disk_warn_percent}%)"
            )
            log.warning(message)
            if LEVELS[before] < LEVELS[WARN]:
                alerts.operator_alert("disk_warning", message)
        else:
            log.info("disk space back to normal: %s", where)
        if before == CRITICAL:
            log.info("disk below DISK_CRITICAL_PERCENT again: inserts into the event store resume")

    def readiness_check(self) -> dict[str, Any]:
        buffer = self.buffer_of()
        check: dict[str, Any] = {
            "status": "error" if self.level == CRITICAL else "ok",
            "level": self.level,
            "paths": {str(s.path): round(s.used_percent, 1) for s in self.spaces},
        }
        if self.level == CRITICAL:
            check["error"] = (
                f"a data path is at or over DISK_CRITICAL_PERCENT ({self.settings.disk_critical_percent}%)"
            )
        if buffer is not None and not buffer.disk_room:
            check["status"] = "error"
            check["error"] = "no room left for the write-ahead log"
        return check
