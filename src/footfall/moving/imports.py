"""A site's imports: bringing a Plausible CSV export or GA4 CSV reports into the imported
tables, listing them, deleting one.

The list lives in the metadata store (`site_imports`), the rows in the event store's
`imported_*` tables under the import's id. An import counts only once its state is
`completed`, which one metadata commit sets after its last row is in, so an import that
fails or is interrupted is never half counted: a failure deletes its rows and says why
(`failed`); an interruption (the process killed) leaves `importing`, which `sweep` rolls back
the same way the next time footfall starts or imports. Deleting marks the import `deleting`
(no longer counted) before its rows go, and `sweep` finishes a deletion that was cut short.

Rows on or after the first day the site has its own data are left out, as Plausible does,
so no day is counted twice; and two imports may not cover the same day.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from footfall.accounts.errors import DomainError, NotFound
from footfall.events.schema import IMPORTED_TABLES
from footfall.events.store import EventStore
from footfall.meta.db import session_scope
from footfall.meta.models import Site, SiteImport, utcnow
from footfall.moving import ga4, geonames, plausible
from footfall.moving.files import ImportFileError, SourceFile, source_files
from footfall.services import Services

IMPORTS_PER_SITE = 5  # as Plausible
SOURCES = {"plausible_csv": "Plausible CSV export", "ga4_csv": "Google Analytics 4 CSV reports"}
IMPORTING, COMPLETED, FAILED, DELETING = "importing", "completed", "failed", "deleting"
BATCH_ROWS = 10_000  # rows per insert: what an import holds in memory at once
PROGRESS_EVERY_SECONDS = 0.5
# An import whose progress has not moved for this long was interrupted (its process is gone).
STALE_AFTER = timedelta(minutes=10)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ImportedRange:
    """A completed import as queries see it: its id and the days it covers."""

    id: int
    start_date: date
    end_date: date


@dataclass(frozen=True)
class _Reader:
    source: SourceFile
    table: str
    kind: str
    rows: Callable[[Callable[[int], None], Callable[[str, dict[str, object]], None]], Iterator[tuple]]


def _readers(files: list[SourceFile]) -> list[_Reader]:
    readers = []
    for source in files:
        # A GA4 report is told by its metric columns (no Plausible file has one), whatever its name.
        report = ga4.report_file(source)
        if report is not None:
            readers.append(
                _Reader(source, report.table, "ga4_csv", lambda p, d, f=report: ga4.read_rows(f, p, d))
            )
            continue
        named = plausible.table_file(source)
        if named is not None:
            readers.append(
                _Reader(
                    source, named.table, "plausible_csv", lambda p, d, f=named: plausible.read_rows(f, p, d)
                )
            )
            continue
        raise ImportFileError(
            source.name,
            "neither one of Plausible's files (imported_<table>_YYYYMMDD_YYYYMMDD.csv, tables: "
            + ", ".join(t.removeprefix("imported_") for t in IMPORTED_TABLES)
            + ") nor a Google Analytics 4 report with a Date column",
        )
    kinds = {reader.kind for reader in readers}
    if len(kinds) > 1:
        raise DomainError("the files mix a Plausible export and GA4 reports: import each on its own")
    return readers


def _derive(table: str, values: dict[str, object]) -> None:
    """footfall's own columns of a row (see IMPORTED_DERIVED_COLUMNS)."""
    if table == "imported_sources" and not values.get("channel"):
        from footfall.ingest.channel import channel

        values["channel"] = channel(
            str(values["source"]),
            str(values["utm_medium"]),
            str(values["utm_campaign"]),
            str(values.get("utm_source", "")),
        )
    elif table == "imported_locations":
        if not values.get("city_name"):
            values["city_name"] = geonames.city_name(int(values.get("city") or 0))  # type: ignore[call-overload]
        if not values.get("city") and values.get("city_name"):
            values["city"] = geonames.city_id(str(values["country"]), str(values["city_name"]))


# --- the list -----------------------------------------------------------------------------------


def list_imports(db: Session, site_id: int) -> list[SiteImport]:
    """The site's imports, newest first."""
    return list(
        db.scalars(select(SiteImport).where(SiteImport.site_id == site_id).order_by(SiteImport.id.desc()))
    )


def completed_imports(db: Session, site_id: int) -> tuple[ImportedRange, ...]:
    rows = db.scalars(
        select(SiteImport)
        .where(SiteImport.site_id == site_id, SiteImport.state == COMPLETED)
        .order_by(SiteImport.start_date)
    )
    return tuple(ImportedRange(r.id, r.start_date, r.end_date) for r in rows if r.start_date and r.end_date)


def get_import(db: Session, site_id: int, import_id: int) -> SiteImport:
    found = db.get(SiteImport, import_id)
    if found is None or found.site_id != site_id:
        raise NotFound(f"no import {import_id} on this site")
    return found


# --- importing ----------------------------------------------------------------------------------


def first_native_day(store: EventStore, site_id: int, timezone: str) -> date | None:
    """The first local day the site has events of its own, or None."""
    first = store.query(
        "SELECT min(timestamp), count() > 0 FROM {db}.events WHERE site_id = {site:UInt64}",
        {"site": site_id},
    ).rows[0]
    if not first[1]:
        return None
    from zoneinfo import ZoneInfo

    moment: datetime = first[0]
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone)).date()


@dataclass
class ImportOutcome:
    record: SiteImport
    skipped: int  # rows on or after the site's first day of its own data


def run_import(
    services: Services,
    site_id: int,
    path: Path,
    *,
    label: str | None = None,
    user_id: int | None = None,
    progress: Progress | None = None,
) -> ImportOutcome:
    """Import a Plausible export (ZIP or folder) or GA4 reports into the site; all or nothing.

    Raises DomainError (ImportFileError for a bad file) with nothing of the import stored."""
    store = _store(services)
    sweep(services)
    readers = _readers(source_files(path))
    total = sum(reader.source.size for reader in readers)
    with session_scope(services.sessions) as db:
        site = db.get(Site, site_id)
        if site is None:
            raise NotFound(f"no site {site_id}")
        timezone = site.timezone
        held = db.scalars(
            select(SiteImport).where(
                SiteImport.site_id == site_id, SiteImport.state.in_((IMPORTING, COMPLETED, DELETING))
            )
        ).all()
        if len(held) >= IMPORTS_PER_SITE:
            raise DomainError(
                f"{site.domain} has {len(held)} imports, the most a site may have (as in Plausible); "
                "delete one first"
            )
        record = SiteImport(
            site_id=site_id,
            source=readers[0].kind,
            label=(label or path.name)[:255],
            state=IMPORTING,
            progress_total=total,
            imported_by_id=user_id,
        )
        db.add(record)
        db.flush()
        import_id = record.id
    try:
        native_from = first_native_day(store, site_id, timezone)
        counts = _copy_rows(services, store, site_id, import_id, readers, native_from, total, progress)
        with session_scope(services.sessions) as db:
            record = get_import(db, site_id, import_id)
            if counts.rows == 0:
                raise DomainError(
                    f"every row lies on or after {native_from}, the first day {site.domain} has data of "
                    "its own: nothing to import"
                    if counts.skipped
                    else "the files hold no rows to import"
                )
            assert counts.first is not None and counts.last is not None
            _refuse_overlap(db, site_id, import_id, counts.first, counts.last)
            record.state = COMPLETED
            record.rows = counts.rows
            record.start_date, record.end_date = counts.first, counts.last
            record.progress_done = total
            record.updated_at = utcnow()
        return ImportOutcome(record, counts.skipped)
    except BaseException as error:
        _roll_back(services, store, site_id, import_id, error)
        raise


def _store(services: Services) -> EventStore:
    if services.events is None:
        raise RuntimeError("imports need an open event store (services.events)")
    return services.events


@dataclass
class _Counts:
    rows: int = 0
    skipped: int = 0
    first: date | None = None
    last: date | None = None


def _copy_rows(
    services: Services,
    store: EventStore,
    site_id: int,
    import_id: int,
    readers: list[_Reader],
    native_from: date | None,
    total: int,
    progress: Progress | None,
) -> _Counts:
    counts = _Counts()
    done = 0
    last_report = 0.0

    def advanced(size: int) -> None:
        nonlocal done, last_report
        done += size
        now = time.monotonic()
        if now - last_report >= PROGRESS_EVERY_SECONDS:
            last_report = now
            if progress is not None:
                progress(done, total)
            _heartbeat(services, import_id, done)

    for reader in readers:
        columns = ("site_id", "import_id", *(name for name, _ in IMPORTED_TABLES[reader.table]))
        batch: list[tuple] = []
        for row in reader.rows(advanced, _derive):
            day = row[0]
            assert isinstance(day, date)
            if native_from is not None and day >= native_from:
                counts.skipped += 1
                continue
            counts.first = day if counts.first is None else min(counts.first, day)
            counts.last = day if counts.last is None else max(counts.last, day)
            batch.append((site_id, import_id, *row))
            if len(batch) >= BATCH_ROWS:
                counts.rows += store.insert(reader.table, columns, batch)
                batch = []
        if batch:
            counts.rows += store.insert(reader.table, columns, batch)
    if progress is not None:
        progress(total, total)
    return counts


def _heartbeat(services: Services, import_id: int, done: int) -> None:
    with session_scope(services.sessions) as db:
        record = db.get(SiteImport, import_id)
        if record is not None:
            record.progress_done = done
            record.updated_at = utcnow()


def _refuse_overlap(db: Session, site_id: int, import_id: int, first: date, last: date) -> None:
    for other in completed_imports(db, site_id):
        if other.id != import_id and other.start_date <= last and first <= other.end_date:
            raise DomainError(
                f"this import covers {first}..{last}, which overlaps import {other.id} "
                f"({other.start_date}..{other.end_date}): delete that one first, or import other days"
            )


def _roll_back(
    services: Services, store: EventStore, site_id: int, import_id: int, error: BaseException
) -> None:
    remove_rows(store, site_id, import_id)
    if isinstance(error, DomainError):
        reason = str(error)
    elif isinstance(error, KeyboardInterrupt):
        reason = "interrupted; nothing of it was kept"
    else:
        reason = (
            f"failed: {str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__}"
        )
    with session_scope(services.sessions) as db:
        record = db.get(SiteImport, import_id)
        if record is not None:
            record.state = FAILED
            record.rows = 0
            record.error = reason[:2000]
            record.updated_at = utcnow()


def remove_rows(store: EventStore, site_id: int, import_id: int) -> None:
    """Delete every row the import brought, from every imported table."""
    for table in IMPORTED_TABLES:
        store.command(
            f"DELETE FROM {{db}}.{table} "
            "WHERE site_id = {site:UInt64} AND import_id = {import_id:UInt64}",
            {"site": site_id, "import_id": import_id},
        )


# --- deleting and sweeping ----------------------------------------------------------------------


def delete_import(services: Services, site_id: int, import_id: int) -> SiteImport:
    """Remove an import and exactly its rows. A running import cannot be deleted."""
    store = _store(services)
    with session_scope(services.sessions) as db:
        record = get_import(db, site_id, import_id)
        if record.state == IMPORTING and record.updated_at > utcnow() - STALE_AFTER:
            raise DomainError(f"import {import_id} is still running; delete it once it has finished")
        record.state = DELETING
        record.updated_at = utcnow()
    remove_rows(store, site_id, import_id)
    with session_scope(services.sessions) as db:
        record = get_import(db, site_id, import_id)
        db.delete(record)
    return record


def sweep(services: Services, stale_after: timedelta = STALE_AFTER) -> list[int]:
    """Roll back imports whose process is gone and finish cut-short deletions; returns their ids.
    With an embedded store, the process that opened it may pass `timedelta(0)`: nobody else can
    be importing into it."""
    store = _store(services)
    cutoff = utcnow() - stale_after
    with session_scope(services.sessions) as db:
        stale = db.scalars(
            select(SiteImport).where(
                (SiteImport.state == DELETING)
                | ((SiteImport.state == IMPORTING) & (SiteImport.updated_at <= cutoff))
            )
        ).all()
        work = [(r.id, r.site_id, r.state) for r in stale]
    for import_id, site_id, state in work:
        remove_rows(store, site_id, import_id)
        with session_scope(services.sessions) as db:
            record = db.get(SiteImport, import_id)
            if record is None:
                continue
            if state == DELETING:
                db.delete(record)
            else:
                record.state = FAILED
                record.rows = 0
                record.error = "interrupted (footfall stopped while importing); nothing of it was kept"
                record.updated_at = utcnow()
    return [import_id for import_id, _, _ in work]


def interrupted_imports_rolled_back(services: Services) -> list[int]:
    """At start: roll back what an earlier process left half done. An embedded store is this
    process's alone, so every import still `importing` in it was cut short."""
    alone = bool(getattr(services.events, "single_writer", False))
    return sweep(services, timedelta(0) if alone else STALE_AFTER)
