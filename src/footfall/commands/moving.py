"""`footfall import`, `footfall export` and `footfall imports`: moving a site's statistics in
from Plausible or Google Analytics 4, and out in Plausible's CSV layout (`footfall.moving`).

Each runs as an admin command (`footfall.moving.admin_commands`): through a running `footfall
serve` (one line on stderr says so), or on the stores directly when it is stopped."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from footfall.accounts.errors import DomainError


def _day(value: str | None, option: str) -> str | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise DomainError(f"{option}: '{value}' is not a date (YYYY-MM-DD)") from None


def _run(name: str, args: dict) -> dict:
    from footfall.commands.ops import through_server

    return through_server(name, args)


@click.command("import")
@click.argument("domain")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--label", default=None, help="A name for the import in the list (default: the file's).")
def import_stats(domain: str, source: Path, label: str | None) -> None:
    """Import a Plausible CSV export (FILE.zip or a folder of its CSV files) or Google Analytics 4
    CSV reports into DOMAIN: all of it, or nothing if any row is bad. The same files as an
    interrupted import resume it."""
    if not source.exists():
        raise DomainError(f"{source}: no such file or folder")
    done = _run("import", {"domain": domain, "path": str(source.resolve()), "label": label or source.name})
    _imported(done)


def _imported(done: dict) -> None:
    if done["resumed"] is not None:
        kept = ", ".join(t.removeprefix("imported_") for t in done["resumed"]) or "no table"
        click.echo(
            f"resumed import {done['id']}: {kept} complete from the run that was cut short, "
            "the rest read again",
            err=True,
        )
    click.echo(
        f"import {done['id']} into {done['domain']}: {done['rows']} rows of {done['source']} "
        f"from {done['first']} to {done['last']}"
    )
    if done["skipped"]:
        click.echo(
            f"left out {done['skipped']} rows dated on or after the first day {done['domain']} has data "
            "of its own, so no day is counted twice",
            err=True,
        )


@click.command("export")
@click.argument("domain")
@click.option(
    "--from", "first", default=None, metavar="DATE", help="First day (default: the first with data)."
)
@click.option("--to", "last", default=None, metavar="DATE", help="Last day (default: the last with data).")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="The ZIP file to write (default: Plausible's name, <domain>_YYYYMMDD.zip, here).",
)
def export_stats(domain: str, first: str | None, last: str | None, out: Path | None) -> None:
    """Export DOMAIN's data in Plausible's CSV layout: a ZIP of imported_<table>_<from>_<to>.csv."""
    args = {
        "domain": domain,
        "first": _day(first, "--from"),
        "last": _day(last, "--to"),
        "out": str((out or Path.cwd()).resolve()),
    }
    done = _run("export", args)
    click.echo(
        f"wrote {done['path']}: {done['rows']} rows in {done['files']} files, "
        f"{done['first']} to {done['last']}"
    )


@click.group("imports")
def imports_group() -> None:
    """List, resume and delete a site's imports."""


@imports_group.command("list")
@click.argument("domain")
def imports_list(domain: str) -> None:
    """List DOMAIN's imports: id, source, file, range, rows, state."""
    done = _run("imports.list", {"domain": domain})
    if not done["imports"]:
        click.echo(f"no imports yet; import one with: footfall import {done['domain']} FILE.zip")
        return
    for item in done["imports"]:
        days = f"{item['first']} to {item['last']}" if item["first"] else "-"
        state = item["state"]
        if state == "importing" and item["progress"][1]:
            state += f" {item['progress'][0] * 100 // item['progress'][1]}%"
        line = f"{item['id']}  {item['source']}  {item['label']}  {days}  {item['rows']} rows  {state}"
        line += f": {item['error']}" if item["error"] else ""
        if item["state"] == "interrupted":
            line += f" (resume: footfall imports resume {done['domain']} {item['id']})"
        click.echo(line)


@imports_group.command("resume")
@click.argument("domain")
@click.argument("import_id", type=int)
def imports_resume(domain: str, import_id: int) -> None:
    """Carry on with DOMAIN's interrupted import IMPORT_ID from the first table it had not
    finished, reading the same files again."""
    _imported(_run("imports.resume", {"domain": domain, "id": import_id}))


@imports_group.command("delete")
@click.argument("domain")
@click.argument("import_id", type=int)
def imports_delete(domain: str, import_id: int) -> None:
    """Delete DOMAIN's import IMPORT_ID and exactly the rows it brought."""
    done = _run("imports.delete", {"domain": domain, "id": import_id})
    click.echo(
        f"deleted import {done['id']} ({done['label']}) and its {done['rows']} rows from {done['domain']}"
    )


COMMANDS = (import_stats, export_stats, imports_group)
