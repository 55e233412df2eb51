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
