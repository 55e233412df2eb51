"""A site's imports: bringing a Plausible CSV export or GA4 CSV reports into the imported
tables, listing them, resuming one that was cut short, deleting one.

The list lives in the metadata store (`site_imports`), the rows in the event store's
`imported_*` tables under the import's id. An import counts only once its state is
`completed`, which one metadata commit sets after its last row is in, so an import that
fails or is interrupted is never half counted.

An import goes table by table (the files of one table one after the other); when a table's
last row is in, one metadata commit adds it to the import's checkpoint (`SiteImport.checkpoint`:
the source's path and files, the first day the site had data of its own, and each complete
table with its counts). A bad file (`ImportFileError`, or any refusal) deletes every row of the
import and says why (`failed`). An interruption (Ctrl-C, an error of the stores, the process
killed) deletes the rows of the tables that were not complete and leaves the import
`interrupted`: when the process is killed, `sweep` does that the next time footfall starts or
imports. `resume_import`, or importing the same files again, carries on from the first table
that was not complete, with the first-own-data day the import started with, so the result is
the same as that of an import that was never cut short. Deleting marks the import `deleting`
(no longer counted) before its rows go, and `sweep` finishes a deletion that was cut short.

Rows on or after the first day the site has its own data are left out, as Plausible does,
so no day is counted twice; and two imports may not cover the same day.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
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

log = logging.getLogger("footfall.moving")
IMPORTS_PER_SITE = 5  # as Plausible
SOURCES = {"plausible_csv": "Plausible CSV export", "ga4_csv": "Google Analytics 4 CSV reports"}
IMPORTING, INTERRUPTED, COMPLETED = "importing", "interrupted", "completed"
FAILED, DELETING = "failed", "deleting"
HELD = (IMPORTING, INTERRUPTED, COMPLETED, DELETING)  # states that hold rows (and a place of the 5)
# An insert takes BATCH_ROWS rows, or fewer when they came from more than BATCH_BYTES of the
# file (long rows): what an import holds in memory at once, whatever the file's size.
BATCH_ROWS = 10_000
BATCH_BYTES = 4 << 20
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
    """How to read each file, ordered by table (files of one table together, in name order):
    the order an import and its resumption go in."""
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
    order = {table: index for index, table in enumerate(IMPORTED_TABLES)}
    return sorted(readers, key=lambda reader: order[reader.table])  # stable: name order within a table


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
    # None for a new import; for a resumed one, the tables its interrupted run had completed
    resumed: tuple[str, ...] | None = None


def fingerprint(files: list[SourceFile]) -> list[list[object]]:
    """What tells the files of an import from others: each one's name, size and digest."""
    return [[f.name, f.size, f.digest] for f in files]


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
    The same files as an interrupted import of the site's resume that import.

    Raises DomainError (ImportFileError for a bad file) with nothing of the import stored."""
    store = _store(services)
    sweep(services)
    files = source_files(path)
    readers = _readers(files)
    prints = fingerprint(files)
    with session_scope(services.sessions) as db:
        site = db.get(Site, site_id)
        if site is None:
            raise NotFound(f"no site {site_id}")
        held = db.scalars(
            select(SiteImport).where(SiteImport.site_id == site_id, SiteImport.state.in_(HELD))
        ).all()
        earlier = next(
            (
                r
                for r in held
                if r.state == INTERRUPTED and r.checkpoint and r.checkpoint.get("files") == prints
            ),
            None,
        )
        if earlier is not None:
            import_id = earlier.id
            earlier.checkpoint = {**(earlier.checkpoint or {}), "path": str(path.resolve())}
            _restart(earlier)
            resuming = True
        else:
            resuming = False
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
                progress_total=sum(reader.source.size for reader in readers),
                imported_by_id=user_id,
                checkpoint={
                    "path": str(path.resolve()),
                    "files": prints,
                    "plan": list(dict.fromkeys(reader.table for reader in readers)),
                    "tables": {},
                },
            )
            db.add(record)
            db.flush()
            import_id = record.id
    return _carry_on(services, store, site_id, import_id, readers, progress, resuming)


def resume_import(
    services: Services, site_id: int, import_id: int, *, progress: Progress | None = None
) -> ImportOutcome:
    """Carry on with an interrupted import from its first incomplete table, reading the files it
    started with again (they must be the same files)."""
    store = _store(services)
    sweep(services)
    with session_scope(services.sessions) as db:
        record = get_import(db, site_id, import_id)
        if record.state != INTERRUPTED:
            raise DomainError(why_not_resumable(record))
        path = Path(str((record.checkpoint or {}).get("path") or ""))
        prints = (record.checkpoint or {}).get("files")
    if not path.name or not path.exists():
        raise DomainError(
            f"import {import_id} read {path or 'files'} which are no longer there: import the same "
            "file again to resume it, or delete the import"
        )
    files = source_files(path)
    if fingerprint(files) != prints:
        raise DomainError(
            f"{path} is not what import {import_id} started with (its files changed): "
            "delete the import and import the file again"
        )
    readers = _readers(files)
    with session_scope(services.sessions) as db:
        record = get_import(db, site_id, import_id)
        if record.state != INTERRUPTED:  # resumed by someone else meanwhile
            raise DomainError(why_not_resumable(record))
        _restart(record)
    return _carry_on(services, store, site_id, import_id, readers, progress, True)


def why_not_resumable(record: SiteImport) -> str:
    """Why an import that is not `interrupted` cannot be resumed, in one line."""
    if record.state == IMPORTING:
        return f"import {record.id} is running; it needs no resuming"
    if record.state == COMPLETED:
        return f"import {record.id} is complete; there is nothing to resume"
    if record.state == FAILED:
        return f"import {record.id} failed ({record.error}); fix the file and import it again"
    return f"import {record.id} is being deleted"


def _restart(record: SiteImport) -> None:
    record.state = IMPORTING
    record.error = None
    record.updated_at = utcnow()


def _carry_on(
    services: Services,
    store: EventStore,
    site_id: int,
    import_id: int,
    readers: list[_Reader],
    progress: Progress | None,
    resuming: bool,
) -> ImportOutcome:
    """Bring in every table the import's checkpoint lacks, then complete it; see the module."""
    try:
        with session_scope(services.sessions) as db:
            record = get_import(db, site_id, import_id)
            site = db.get(Site, site_id)
            assert site is not None
            domain, timezone = site.domain, site.timezone
            checkpoint = dict(record.checkpoint or {})
            if "native_from" not in checkpoint:  # fixed when the import starts, kept on resuming
                native = first_native_day(store, site_id, timezone)
                checkpoint["native_from"] = native.isoformat() if native else None
                record.checkpoint = checkpoint
        native_from = date.fromisoformat(checkpoint["native_from"]) if checkpoint["native_from"] else None
        done: dict[str, dict[str, object]] = dict(checkpoint.get("tables") or {})
        resumed = tuple(done) if resuming else None
        for table in IMPORTED_TABLES:
            if table not in done:  # what a run cut short left of a table it had not completed
                _remove_table_rows(store, table, site_id, import_id)
        meter = _Meter(services, import_id, sum(reader.source.size for reader in readers), progress)
        for table in dict.fromkeys(reader.table for reader in readers):
            group = [reader for reader in readers if reader.table == table]
            if table in done:
                meter.advanced(sum(reader.source.size for reader in group))
                continue
            counts = _copy_table(store, site_id, import_id, table, group, native_from, meter)
            done[table] = counts.as_json()
            with session_scope(services.sessions) as db:
                record = get_import(db, site_id, import_id)
                record.checkpoint = {**(record.checkpoint or {}), "tables": done}
                record.rows = sum(int(t["rows"]) for t in done.values())  # type: ignore[call-overload]
                record.progress_done = meter.done
                record.updated_at = utcnow()
        meter.finish()
        totals = _Counts.total(done.values())
        with session_scope(services.sessions) as db:
            record = get_import(db, site_id, import_id)
            if totals.rows == 0:
                raise DomainError(
                    f"every row lies on or after {native_from}, the first day {domain} has data of "
                    "its own: nothing to import"
                    if totals.skipped
                    else "the files hold no rows to import"
                )
            assert totals.first is not None and totals.last is not None
            _refuse_overlap(db, site_id, import_id, totals.first, totals.last)
            record.state = COMPLETED
            record.rows = totals.rows
            record.start_date, record.end_date = totals.first, totals.last
            record.progress_done = record.progress_total
            record.updated_at = utcnow()
        return ImportOutcome(record, totals.skipped, resumed)
    except DomainError as error:
        _roll_back(services, store, site_id, import_id, error)
        raise
    except BaseException as error:
        _interrupt(services, store, site_id, import_id, error)
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

    def as_json(self) -> dict[str, object]:
        return {
            "rows": self.rows,
            "skipped": self.skipped,
            "first": self.first.isoformat() if self.first else None,
            "last": self.last.isoformat() if self.last else None,
        }

    @classmethod
    def total(cls, tables: Iterable[dict[str, object]]) -> _Counts:
        total = cls()
        for table in tables:
            total.rows += int(table["rows"])  # type: ignore[call-overload]
            total.skipped += int(table["skipped"])  # type: ignore[call-overload]
            if table["first"]:
                first, last = date.fromisoformat(str(table["first"])), date.fromisoformat(str(table["last"]))
                total.first = first if total.first is None else min(total.first, first)
                total.last = last if total.last is None else max(total.last, last)
        return total


class _Meter:
    """Bytes read of the import's files: reported to `progress` and written to the import's
    row (its heartbeat: a row whose progress stops moving belongs to a process that is gone)."""

    def __init__(self, services: Services, import_id: int, total: int, progress: Progress | None) -> None:
        self.services, self.import_id, self.total, self.progress = services, import_id, total, progress
        self.done = 0
        self.last_report = 0.0

    def advanced(self, size: int) -> None:
        self.done += size
        now = time.monotonic()
        if now - self.last_report >= PROGRESS_EVERY_SECONDS:
            self.last_report = now
            if self.progress is not None:
                self.progress(self.done, self.total)
            _heartbeat(self.services, self.import_id, self.done)

    def finish(self) -> None:
        if self.progress is not None:
            self.progress(self.total, self.total)


def _copy_table(
    store: EventStore,
    site_id: int,
    import_id: int,
    table: str,
    readers: list[_Reader],
    native_from: date | None,
    meter: _Meter,
) -> _Counts:
    counts = _Counts()
    columns = ("site_id", "import_id", *(name for name, _ in IMPORTED_TABLES[table]))
    for reader in readers:
        batch: list[tuple] = []
        batch_from = meter.done  # the file's bytes read when the batch began
        for row in reader.rows(meter.advanced, _derive):
            day = row[0]
            assert isinstance(day, date)
            if native_from is not None and day >= native_from:
                counts.skipped += 1
                continue
            counts.first = day if counts.first is None else min(counts.first, day)
            counts.last = day if counts.last is None else max(counts.last, day)
            batch.append((site_id, import_id, *row))
            if len(batch) >= BATCH_ROWS or meter.done - batch_from >= BATCH_BYTES:
                counts.rows += store.insert(table, columns, batch)
                batch, batch_from = [], meter.done
        if batch:
            counts.rows += store.insert(table, columns, batch)
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
    services: Services, store: EventStore, site_id: int, import_id: int, error: DomainError
) -> None:
    remove_rows(store, site_id, import_id)
    with session_scope(services.sessions) as db:
        record = db.get(SiteImport, import_id)
        if record is not None:
            record.state = FAILED
            record.rows = 0
            record.checkpoint = {**(record.checkpoint or {}), "tables": {}}
            record.error = str(error)[:2000]
            record.updated_at = utcnow()


def _interrupt(
    services: Services, store: EventStore, site_id: int, import_id: int, error: BaseException
) -> None:
    """Keep the complete tables, drop the rest, and leave the import to be resumed."""
    if isinstance(error, KeyboardInterrupt):
        reason = "interrupted"
    else:
        text = str(error).strip()
        reason = f"interrupted by an error: {text.splitlines()[0] if text else type(error).__name__}"
    try:
        _set_interrupted(services, store, site_id, import_id, reason)
    except Exception:  # the stores themselves are failing: the next sweep settles it
        log.exception("import %s was interrupted and could not be settled now", import_id)


def _set_interrupted(
    services: Services, store: EventStore, site_id: int, import_id: int, reason: str
) -> None:
    with session_scope(services.sessions) as db:
        record = db.get(SiteImport, import_id)
        if record is None:
            return
        done = dict((record.checkpoint or {}).get("tables") or {})
    for table in IMPORTED_TABLES:
        if table not in done:
            _remove_table_rows(store, table, site_id, import_id)
    with session_scope(services.sessions) as db:
        record = db.get(SiteImport, import_id)
        if record is None:
            return
        plan = (record.checkpoint or {}).get("plan") or []
        record.state = INTERRUPTED
        record.rows = sum(int(t["rows"]) for t in done.values())
        record.error = (
            f"{reason} with {len(done)} of {len(plan)} tables in; counted only once it is resumed "
            "and complete"
        )[:2000]
        record.updated_at = utcnow()


def _remove_table_rows(store: EventStore, table: str, site_id: int, import_id: int) -> None:
    store.command(
        f"DELETE FROM {{db}}.{table} WHERE site_id = {{site:UInt64}} AND import_id = {{import_id:UInt64}}",
        {"site": site_id, "import_id": import_id},
    )


def remove_rows(store: EventStore, site_id: int, import_id: int) -> None:
    """Delete every row the import brought, from every imported table."""
    for table in IMPORTED_TABLES:
        _remove_table_rows(store, table, site_id, import_id)


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
    """Settle imports whose process is gone (`interrupted`: their incomplete tables' rows
    deleted, ready to resume) and finish cut-short deletions; returns their ids. With an
    embedded store, the process that opened it may pass `timedelta(0)`: nobody else can be
    importing into it."""
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
        if state == DELETING:
            remove_rows(store, site_id, import_id)
            with session_scope(services.sessions) as db:
                record = db.get(SiteImport, import_id)
                if record is not None:
                    db.delete(record)
        else:
            _set_interrupted(services, store, site_id, import_id, "footfall stopped while importing")
    return [import_id for import_id, _, _ in work]


def settle_interrupted_imports(services: Services) -> list[int]:
    """At start: settle what an earlier process left half done (see `sweep`). An embedded store
    is this process's alone, so every import still `importing` in it was cut short."""
    alone = bool(getattr(services.events, "single_writer", False))
    return sweep(services, timedelta(0) if alone else STALE_AFTER)
