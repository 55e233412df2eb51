"""`footfall admin ...` and the helper every command that touches events uses to run through
the admin channel of a running server, or on the stores directly when it is stopped."""

from __future__ import annotations

from typing import Any

import click

from footfall.config import Settings, load_settings
from footfall.ops.admin import AdminError, run_command


class _Bar:
    """A click progress bar, opened at the first progress report (its total known then)."""

    def __init__(self) -> None:
        self.bar: Any = None
        self.label = ""

    def update(self, done: int, total: int, label: str) -> None:
        if not click.get_text_stream("stderr").isatty():
            return  # no bar in logs and pipes: stderr keeps its one line per outcome
        if self.bar is None or label != self.label or total != self.bar.length:
            self.close()
            self.label = label
            self.bar = click.progressbar(
                length=max(total, 1), label=label, file=click.get_text_stream("stderr")
            )
            self.bar.__enter__()
        self.bar.update(done - self.bar.pos)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def through_server(
    name: str, args: dict[str, Any] | None = None, settings: Settings | None = None
) -> dict[str, Any]:
    """Run admin command `name` (footfall.ops.admin) through the running server, or on the
    stores directly; one line on stderr says which; progress is drawn on stderr."""
    from footfall.cli import CliError

    bar = _Bar()
    try:
        return run_command(
            settings or load_settings(),
            name,
            args,
            progress=bar.update,
            say=lambda message: click.echo(message, err=True),
            announce=lambda line: click.echo(f"footfall: {line}", err=True),
        )
    except AdminError as error:
        raise CliError(str(error)) from None
    finally:
        bar.close()


@click.group()
def admin() -> None:
    """Talk to a running `footfall serve` over its admin channel (DATA_DIR/admin.sock)."""


@admin.command("status")
def admin_status() -> None:
    """Show which process answers, its versions and what waits in its write-ahead log."""
    result = through_server("status")
    wal = result.get("write_ahead_log") or {}
    click.echo(
        f"footfall {result['version']} ({result['via']}, pid {result['pid']}): "
        f"metadata {result['metadata']['backend']} at {result['metadata']['revision']}, "
        f"events {result['events']['backend']} at schema version {result['events']['schema_version']}, "
        f"{wal.get('pending_rows', 0)} rows waiting in the write-ahead log"
    )


@admin.command("flush")
def admin_flush() -> None:
    """Store every event acknowledged so far (flush the write-ahead log)."""
    result = through_server("flush")
    click.echo(f"flushed; the event store holds {result['events']} events")


def _size(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


@click.group()
def backup() -> None:
    """Back up both stores online, verify a backup, restore one into an empty instance."""


@backup.command("create")
@click.option("--to", "to", required=True, type=click.Path(file_okay=False), help="Directory of backups.")
@click.option("--full", is_flag=True, help="A full backup, not incremental on the previous one in DIR.")
@click.option(
    "--format",
    "form",
    type=click.Choice(["clickhouse", "native"]),
    default=None,
    help="Events as ClickHouse's BACKUP (embedded only; the default there) or as Native files "
    "per partition (a logical backup; the default with a ClickHouse server).",
)
@click.option("--keep", type=click.IntRange(1), default=None, help="Keep the newest N backups in DIR.")
@click.option(
    "--keep-days",
    type=click.FloatRange(0, min_open=True),
    default=None,
    help="Keep backups younger than D days.",
)
def backup_create(to: str, full: bool, form: str | None, keep: int | None, keep_days: float | None) -> None:
    """Back up the metadata and event stores into a new directory under DIR, while ingestion goes on."""
    from pathlib import Path

    result = through_server(
        "backup.create",
        {
            "to": str(Path(to).expanduser().resolve()),
            "full": full,
            "format": form,
            "keep": keep,
            "keep_days": keep_days,
        },
    )
    on = f" on {result['base']}" if result["base"] else ""
    held = "Native files" if result["format"] == "native" else "ClickHouse BACKUP"
    click.echo(
        f"{result['path']}: {result['kind']}{on} ({held}), {result['events']} events, "
        f"{_size(result['size_bytes'])}, {result['seconds']:.1f} s"
    )
    for name in result["deleted"]:
        click.echo(f"deleted {name} (retention)")


@backup.command("verify")
@click.argument("directory", type=click.Path(file_okay=False))
def backup_verify(directory: str) -> None:
    """Check every file's checksum, restore into a scratch store and compare the row counts."""
    from pathlib import Path

    from footfall.cli import CliError
    from footfall.ops.backup import verify_backup

    bar = _Bar()
    try:
        verified = verify_backup(Path(directory), progress=bar.update)
    except AdminError as error:
        raise CliError(str(error)) from None
    finally:
        bar.close()
    if verified.problems:
        for problem in verified.problems:
            click.echo(problem)
        count = len(verified.problems)
        raise CliError(f"{verified.path.name} failed verification ({count} problems): {verified.problems[0]}")
    events = verified.manifest["events"]["tables"].get("events", 0)
    tables = len(verified.manifest["events"]["tables"]) + len(verified.manifest["metadata"]["tables"])
    chain = f", incremental on {' <- '.join(verified.chain[1:])}" if len(verified.chain) > 1 else ""
    click.echo(
        f"{verified.path}: ok: {verified.files} files match their checksums, "
        f"{tables} tables restored with the manifest's row counts ({events} events){chain}"
    )


@backup.command("restore")
@click.argument("directory", type=click.Path(file_okay=False))
def backup_restore(directory: str) -> None:
    """Restore a backup (or the latest in a directory of backups) into this empty instance."""
    from pathlib import Path

    result = through_server("backup.restore", {"from": str(Path(directory).expanduser().resolve())})
    click.echo(
        f"restored {result['name']}: {result['events']} events, {result['metadata_rows']} metadata rows "
        f"(now at revision {result['metadata_revision']}) in {result['seconds']:.1f} s"
    )


@admin.command("retention")
@click.option("--days", type=click.IntRange(1), default=None, help="Instead of DATA_RETENTION_DAYS.")
def admin_retention(days: int | None) -> None:
    """Drop the event store's monthly partitions older than DATA_RETENTION_DAYS (or --days),
    and delete each site's rows older than its own retention."""
    result = through_server("retention", {"days": days, "force": True})
    dropped = result["dropped"]
    if result["days"]:
        click.echo(
            f"dropped {len(dropped)} partitions older than {result['days']} days"
            + (": " + ", ".join(dropped) if dropped else "")
        )
    for domain, tables in result.get("sites", {}).items():
        click.echo(
            f"{domain}: deleted old rows from " + ", ".join(tables) if tables else f"{domain}: nothing old"
        )
