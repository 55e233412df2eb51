"""Run by tests/moving/test_moving_memory.py, each step in a process of its own, so each peak
of resident memory (`VmHWM`, reset before each measured step) is that step's:

    python -m tests.moving.memory_child import|hold|export WORKDIR ROWS

- `import`: fresh stores under WORKDIR; a warm-up import of a few batches (the engine's threads,
  caches and parsers up), then a Plausible export of ROWS page rows imported, streamed. Then it
  stores ROWS pageviews (one page of the export per row) for `export`.
- `hold`: the same work done as an import that is not streamed would do it: the same warm-up,
  then every row of the same file read, held and inserted in one piece.
- `export`: a warm-up export of two days, then the ROWS pageviews exported, streamed; then the
  same range's pages read in one piece, as an export that is not streamed would read them.

Each prints one JSON line: `grown` (bytes the streamed step added to the resident memory it
started from, an upper bound: the peak after it less the resident memory before it), `held`
(what the same work, not streamed, added: its peak less the resident memory before it), the
CSV's bytes, the rows and the seconds taken."""

from __future__ import annotations

import json
import resource
import sys
import time
import zipfile
from datetime import date, timedelta
from pathlib import Path

PAGES_PER_DAY = 2_000
FIRST_DAY = date(2019, 1, 1)
HEADER = "date,hostname,page,visits,visitors,pageviews,total_scroll_depth,total_scroll_depth_visits\n"
SLUG = "a-fairly-long-slug-for-the-page"


def reset_peak() -> None:
    """Start the process's resident high-water mark again from its resident memory now (Linux
    `clear_refs` 5), so a peak read afterwards is the measured step's, not a warm-up's."""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")


def peak() -> int:
    """The process's highest resident memory since the last `reset_peak`, in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # kB
    raise RuntimeError("no VmHWM in /proc/self/status")


def resident() -> int:
    """The process's resident memory now, in bytes."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def last_day(rows: int) -> date:
    return FIRST_DAY + timedelta(days=max(rows // PAGES_PER_DAY, 1) - 1)


def write_pages_export(path: Path, rows: int) -> int:
    """A ZIP holding one Plausible pages file of `rows` rows; returns the CSV's size in bytes."""
    size = 0
    name = f"imported_pages_{FIRST_DAY:%Y%m%d}_{last_day(rows):%Y%m%d}.csv"
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive,
        archive.open(name, "w", force_zip64=True) as out,
    ):
        lines = [HEADER]
        for n in range(rows):
            day = FIRST_DAY + timedelta(days=n // PAGES_PER_DAY)
            lines.append(f"{day},shop.example,/articles/{n % PAGES_PER_DAY:05d}/{SLUG},3,2,5,120,2\n")
            if len(lines) >= 10_000:
                data = "".join(lines).encode()
                out.write(data)
                size += len(data)
                lines = []
        data = "".join(lines).encode()
        out.write(data)
        size += len(data)
    return size


def store_pageviews(store, site_id: int, rows: int) -> None:  # type: ignore[no-untyped-def]
    """`rows` pageviews, one per page and day (PAGES_PER_DAY pages a day), made by the engine."""
    store.command(
        "INSERT INTO {db}.events (timestamp, site_id, user_id, session_id, name, hostname, pathname) "
        "SELECT toDateTime({first:String}, 'UTC') + toIntervalDay(intDiv(number, {per:UInt64})) "
        "+ toIntervalSecond(number % 80000), {site:UInt64}, number, number, 'pageview', 'shop.example', "
        "concat('/articles/', leftPad(toString(number % {per:UInt64}), 5, '0'), '/', {slug:String}) "
        "FROM numbers({rows:UInt64})",
        {"first": f"{FIRST_DAY} 00:00:00", "per": PAGES_PER_DAY, "site": site_id, "rows": rows, "slug": SLUG},
    )


def main(mode: str, work: Path, rows: int) -> dict[str, object]:
    from footfall.config import load_settings
    from footfall.events.chdb_store import ChdbStore
    from footfall.events.schema import IMPORTED_TABLES
    from footfall.events.store import migrate_events
    from footfall.meta.db import make_engine, make_sessionmaker, migrate, session_scope
    from footfall.moving import export, imports, plausible
    from footfall.moving.files import source_files
    from footfall.services import Services
    from footfall.sites.sites import create_site

    settings = load_settings(
        {"DATA_DIR": str(work / "data"), "DATABASE_URL": f"sqlite:///{work / 'meta.db'}"}
    )
    engine = make_engine(settings.database_url)
    migrate(engine)
    store = ChdbStore(work / "events")
    migrate_events(store)
    services = Services(settings=settings, engine=engine, sessions=make_sessionmaker(engine), events=store)
    if mode == "import":
        with session_scope(services.sessions) as db:
            sites = [create_site(db, f"{name}.example").id for name in ("warm", "big", "out-warm", "out")]
        write_pages_export(work / "warm.zip", 3 * imports.BATCH_ROWS)
        imports.run_import(services, sites[0], work / "warm.zip")
        size = write_pages_export(work / "big.zip", rows)
        reset_peak()
        before, started = resident(), time.monotonic()
        done = imports.run_import(services, sites[1], work / "big.zip").record.rows
        grown, seconds = peak() - before, time.monotonic() - started
        store_pageviews(store, sites[2], 2 * PAGES_PER_DAY)
        store_pageviews(store, sites[3], rows)
        return {"grown": grown, "csv_bytes": size, "rows": done, "seconds": round(seconds, 1)}
    if mode == "hold":
        with session_scope(services.sessions) as db:
            warm = create_site(db, "hold-warm.example").id
        imports.run_import(services, warm, work / "warm.zip")
        (source,) = source_files(work / "big.zip")
        table_file = plausible.table_file(source)
        assert table_file is not None
        reset_peak()
        before = resident()
        held = [(warm, 0, *row) for row in plausible.read_rows(table_file, lambda _n: None, imports._derive)]
        columns = ("site_id", "import_id", *(name for name, _ in IMPORTED_TABLES["imported_pages"]))
        store.insert("imported_pages", columns, held)
        return {"held": peak() - before, "rows": len(held)}
    warm, big = 3, 4  # the sites `import` stored pageviews for
    export.write_export(store, warm, "UTC", FIRST_DAY, FIRST_DAY + timedelta(days=1), work / "warm-out.zip")
    reset_peak()
    before, started = resident(), time.monotonic()
    written = export.write_export(store, big, "UTC", FIRST_DAY, last_day(rows), work / "out.zip")
    grown, seconds = peak() - before, time.monotonic() - started
    name = next(name for name in written if name.startswith("imported_pages_"))
    with zipfile.ZipFile(work / "out.zip") as archive:
        size = archive.getinfo(name).file_size
    export.CHUNK_DAYS = (last_day(rows) - FIRST_DAY).days + 1  # the whole range in one piece
    reset_peak()
    before = resident()
    held = list(export.table_rows(store, "imported_pages", big, "UTC", FIRST_DAY, last_day(rows)))
    assert len(held) == written[name]
    return {"grown": grown, "held": peak() - before, "csv_bytes": size, "rows": written[name],
            "seconds": round(seconds, 1)}  # fmt: skip


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]))))
