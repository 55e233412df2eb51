"""Scheduled backups: a run through the server's job lock makes a real backup and sets the
metrics; a failed run and an overdue schedule are a metric, a log line and an operator alert."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from footfall.ops import metrics
from footfall.ops.admin import AdminServer
from footfall.ops.backup import backups_in
from footfall.ops.schedule import BACKUP_SCHEDULE, BackupSchedule
from footfall.ops.status import failed_backup_notices
from footfall.services import Services


def test_a_scheduled_run_makes_a_backup_and_sets_the_backup_metrics(services_with, tmp_path) -> None:
    services = services_with(
        BACKUP_SCHEDULE="0 * * * *", BACKUP_DIR=str(tmp_path / "backups"), BACKUP_KEEP="2"
    )
    admin = AdminServer(services, lambda: None)
    schedule = BackupSchedule(
        services.settings,
        lambda: admin.run_here("backup.create", {"to": str(services.settings.backup_dir), "keep": 2}),
    )
    for _ in range(4):
        schedule.run_once()
    made = backups_in(tmp_path / "backups")
    # full, incremental, full (the chain was as long as BACKUP_KEEP), incremental; the first
    # chain went once the newest two no longer needed it.
    assert [m["kind"] for _, m in made] == ["full", "incremental"]
    assert made[1][1]["base"] == made[0][0].name
    assert schedule.last_success is not None and not schedule.stale
    assert metrics.BACKUP_LAST_SUCCESS._value.get() >= schedule.last_success.timestamp() - 5
    assert metrics.BACKUP_LAST_SIZE._value.get() == made[-1][1]["size_bytes"]


def test_a_failed_run_and_an_overdue_schedule_are_counted_logged_and_alerted(
    make_settings, tmp_path, caplog
) -> None:
    settings = make_settings(BACKUP_SCHEDULE="0 * * * *", BACKUP_DIR=str(tmp_path / "nowhere"))

    def failing() -> None:
        raise OSError(28, "No space left on device")

    schedule = BackupSchedule(settings, failing)
    failures = metrics.BACKUP_FAILURES._value.get()
    with caplog.at_level(logging.WARNING, logger="footfall.ops"):
        schedule.run_once()
    assert metrics.BACKUP_FAILURES._value.get() == failures + 1
    assert (
        f"scheduled backup into {tmp_path / 'nowhere'} failed: [Errno 28] No space left on device"
        in caplog.text
    )
    assert "operator alert (backup_failed)" in caplog.text
    # ... and a banner for the admins, until a run succeeds.
    services = Services(settings=settings, engine=None, sessions=None, extras={BACKUP_SCHEDULE: schedule})  # type: ignore[arg-type]
    [notice] = failed_backup_notices(services)
    assert notice.kind == "backup_failed" and notice.severity == "critical"
    assert "failed: [Errno 28] No space left on device" in notice.message
    schedule.run_backup = lambda: None
    schedule.run_once()
    assert failed_backup_notices(services) == []

    now = datetime(2026, 12, 6, 12, 30, tzinfo=UTC)
    schedule.last_success = now - timedelta(hours=1, minutes=30)
    assert schedule.check_stale(now) is False and metrics.BACKUP_STALE._value.get() == 0
    schedule.last_success = now - timedelta(hours=2, minutes=1)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="footfall.ops"):
        assert schedule.check_stale(now) is True
    assert metrics.BACKUP_STALE._value.get() == 1
    assert (
        "no backup since 2026-12-06 10:29 UTC, though BACKUP_SCHEDULE (0 * * * *) asks for one every 3600 s"
        in caplog.text
    )
    assert "operator alert (backup_stale)" in caplog.text
