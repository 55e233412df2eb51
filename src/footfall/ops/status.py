"""A read-only status check for the instance admins' banner
(`footfall.accounts.operator_notices`): low disk on a data path, and scheduled backups that
are stale (none newer than two intervals of `BACKUP_SCHEDULE` in `BACKUP_DIR`, which is also
what repeated failures lead to). It reads what the disk watch measured (or measures once when
no watch runs) and the newest backup's manifest; it writes nothing and sends nothing (the
alerts are `ops.alerts`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from footfall.ops.disk import CRITICAL, WARN, data_paths, space
from footfall.ops.health import DISK_WATCH
from footfall.services import Services


def _notice(**values: Any) -> Any:
    from footfall.accounts.operator_notices import OperatorNotice

    return OperatorNotice(**values)


def disk_notices(services: Services) -> list[Any]:
    settings = services.settings
    watch = services.extras.get(DISK_WATCH)
    spaces = list(getattr(watch, "spaces", None) or [space(path) for path in data_paths(settings)])
    if not spaces:
        return []
    fullest = max(spaces, key=lambda s: s.used_percent)
    used = fullest.used_percent
    if used >= settings.disk_critical_percent:
        level = CRITICAL
    elif used >= settings.disk_warn_percent:
        level = WARN
    else:
        return []
    held = " Inserts into the event store are held until space comes back." if level == CRITICAL else ""
    return [
        _notice(
            kind="disk_low",
            message=(
                f"The disk holding {fullest.path} is {used:.1f}% full "
                f"({fullest.free // (1024 * 1024)} MiB free).{held}"
            ),
            action=(
                "Free space or grow the volume; DATA_RETENTION_DAYS drops old events "
                f"(warns at DISK_WARN_PERCENT={settings.disk_warn_percent:g}, holds inserts at "
                f"DISK_CRITICAL_PERCENT={settings.disk_critical_percent:g})."
            ),
            severity="critical" if level == CRITICAL else "warning",
        )
    ]


def backup_notices(services: Services, now: datetime | None = None) -> list[Any]:
    settings = services.settings
    if not (settings.backup_schedule and settings.backup_dir):
        return []
    from croniter import croniter

    from footfall.ops.backup import backups_in

    now = now or datetime.now(UTC)
    times = croniter(settings.backup_schedule, now)
    first = times.get_next(datetime)
    interval = (times.get_next(datetime) - first).total_seconds()
    found = backups_in(settings.backup_dir) if settings.backup_dir.exists() else []
    if not found:
        return []  # a fresh schedule: its first run has not come yet (failures are alerted by mail)
    created = datetime.fromisoformat(found[-1][1]["created_at"])
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    age = (now - created).total_seconds()
    if age <= 2 * interval:
        return []
    return [
        _notice(
            kind="backup_stale",
            message=(
                f"The newest backup in {settings.backup_dir} is from {created:%Y-%m-%d %H:%M} UTC, "
                f"though BACKUP_SCHEDULE ({settings.backup_schedule}) asks for one every "
                f"{interval / 3600:g} h."
            ),
            action="Look for 'scheduled backup' in the log, or run footfall backup create --to BACKUP_DIR.",
            severity="critical",
        )
    ]


def failed_backup_notices(services: Services) -> list[Any]:
    """The running schedule's last run failed (and none has succeeded since)."""
    from footfall.ops.schedule import BACKUP_SCHEDULE

    schedule = services.extras.get(BACKUP_SCHEDULE)
    failure = getattr(schedule, "last_failure", None)
    if failure is None:
        return []
    when, reason = failure
    return [
        _notice(
            kind="backup_failed",
            message=(
                f"The scheduled backup at {when:%Y-%m-%d %H:%M} UTC into "
                f"{services.settings.backup_dir} failed: {reason}"
            ),
            action=(
                "Fix the cause (space, permissions), then run footfall backup create --to "
                "BACKUP_DIR or wait for the next run."
            ),
            severity="critical",
        )
    ]


def operator_notices(services: Services) -> list[Any]:
    """The ops notices the banner shows: low disk, a failed scheduled backup, stale backups."""
    return [*disk_notices(services), *failed_backup_notices(services), *backup_notices(services)]
