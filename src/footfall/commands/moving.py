"""`footfall import`, `footfall export` and `footfall imports`: moving a site's statistics in
from Plausible or Google Analytics 4, and out in Plausible's CSV layout (`footfall.moving`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import click

from footfall.accounts.errors import DomainError
from footfall.config import load_settings
from footfall.meta.db import session_scope
from footfall.services import Services, open_services
from footfall.sites.sites import get_site


@contextmanager
def _services() -> Iterator[Services]:
    services = open_services(load_settings(), with_events=True, run_migrations=True)
    try:
        from footfall.moving.imports import interrupted_imports_rolled_back

        interrupted_imports_rolled_back(services)
        yield services
    finally:
        services.close()


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise DomainError(f"{option}: '{value}' is not a date (YYYY-MM-DD)") from None


@click.command("import")
@click.argument("domain")
@click.argument("source", type=click.Path(path_type=Path))
@click.option("--label", default=None, help="A name for the import in the list (default: the file's).")
def import_stats(domain: str, source: Path, label: str | None) -> None:
    """Import a Plausible CSV export (FILE.zip or a folder of its CSV files) or Google Analytics 4
    CSV reports into DOMAIN: all of it, or nothing if any row is bad."""
    from footfall.moving.imports import SOURCES, run_import

    with _services() as services:
        with session_scope(services.sessions) as db:
            site = get_site(db, domain)
        with click.progressbar(
            length=1, label=f"importing {source.name}", file=click.get_text_stream("stderr")
        ) as bar:

            def progress(done: int, total: int) -> None:
                bar.length = max(total, 1)
                bar.update(done - bar.pos)

            outcome = run_import(services, site.id, source, label=label, progress=progress)
    record = outcome.record
    click.echo(
        f"import {record.id} into {site.domain}: {record.rows} rows of {SOURCES[record.source]} "
        f"from {record.start_date} to {record.end_date}"
    )
    if outcome.skipped:
        click.echo(
            f"left out {outcome.skipped} rows dated on or after the first day {site.domain} has data of "
            "its own, so no day is counted twice",
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
    from footfall.moving.export import archive_name, data_range, write_export

    first_day, last_day = _day(first, "--from"), _day(last, "--to")
    with _services() as services:
        assert services.events is not None
        with session_scope(services.sessions) as db:
            site = get_site(db, domain)
        if first_day is None or last_day is None:
            held = data_range(services.events, site.id, site.timezone)
            if held is None:
                raise DomainError(
                    f"{site.domain} has no data to export; give --from and --to to export empty files"
                )
            first_day, last_day = first_day or held[0], last_day or held[1]
        if last_day < first_day:
            raise DomainError(f"--to {last_day} is before --from {first_day}")
        today = datetime.now(UTC).date()
        target = out or Path(archive_name(site.domain, today))
        if target.is_dir():
            target = target / archive_name(site.domain, today)
        with click.progressbar(
            length=10, label=f"exporting {site.domain}", file=click.get_text_stream("stderr")
        ) as bar:
            written = write_export(
                services.events,
                site.id,
                site.timezone,
                first_day,
                last_day,
                target,
                progress=lambda done, total: bar.update(done - bar.pos),
            )
    click.echo(
        f"wrote {target}: {sum(written.values())} rows in {len(written)} files, {first_day} to {last_day}"
    )


@click.group("imports")
def imports_group() -> None:
    """List and delete a site's imports."""


@imports_group.command("list")
@click.argument("domain")
def imports_list(domain: str) -> None:
    """List DOMAIN's imports: id, source, range, rows, state."""
    from footfall.moving.imports import SOURCES, list_imports

    with _services() as services, session_scope(services.sessions) as db:
        site = get_site(db, domain)
        found = list_imports(db, site.id)
        if not found:
            click.echo(f"no imports yet; import one with: footfall import {site.domain} FILE.zip")
            return
        for record in found:
            days = f"{record.start_date} to {record.end_date}" if record.start_date else "-"
            line = f"{record.id}  {SOURCES.get(record.source, record.source)}  {record.label}  {days}  "
            line += f"{record.rows} rows  {record.state}"
            if record.error:
                line += f": {record.error}"
            click.echo(line)


@imports_group.command("delete")
@click.argument("domain")
@click.argument("import_id", type=int)
def imports_delete(domain: str, import_id: int) -> None:
    """Delete DOMAIN's import IMPORT_ID and exactly the rows it brought."""
    from footfall.moving.imports import delete_import

    with _services() as services:
        with session_scope(services.sessions) as db:
            site = get_site(db, domain)
        gone = delete_import(services, site.id, import_id)
    click.echo(f"deleted import {import_id} ({gone.label}) and its {gone.rows} rows from {site.domain}")


COMMANDS = (import_stats, export_stats, imports_group)
