"""Copying the metadata store (users, sites, goals, keys, ...) whole, between engines.

One copy serves backup, restore and store migration: a backup of SQLite is a file made with
SQLite's online backup API; a backup of PostgreSQL is a SQLite file of the same Alembic
revision filled in one REPEATABLE READ snapshot (a logical export, like `pg_dump`, that any
footfall can read); a restore or a migration copies every table from such a file (or a live
store) into the target, in foreign-key order, at the source's revision, and then upgrades the
target to today's schema.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from alembic import command
from sqlalchemy import Engine, MetaData, Table, func, inspect, select, text

from footfall.meta.db import _alembic_config, current_revision

CHUNK_ROWS = 1_000
SKIPPED = ("alembic_version",)

Progress = Callable[[int, int, str], None]


def tables(engine: Engine) -> list[Table]:
    """Every table of the store but Alembic's own, parents before children."""
    metadata = MetaData()
    metadata.reflect(engine)
    return [table for table in metadata.sorted_tables if table.name not in SKIPPED]


def count_rows(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            t.name: int(connection.scalar(select(func.count()).select_from(t)) or 0) for t in tables(engine)
        }


# Rows a fresh server or a migration writes by itself (today's salt, the shields' epoch, the
# scheduled jobs' leases a running server takes at once):
# not data a restore could lose.
SELF_MADE = ("salts", "shield_epoch", "job_leases")


def is_empty(engine: Engine) -> bool:
    """No user, site or anything else a person made (a fresh server's schema and salt may exist)."""
    return not any(n for table, n in count_rows(engine).items() if table not in SELF_MADE)


def upgrade_to(engine: Engine, revision: str | None) -> None:
    command.upgrade(_alembic_config(engine), revision or "head")


def reset(engine: Engine) -> None:
    """Drop every table (the store holds no rows: checked by the caller) and Alembic's mark."""
    metadata = MetaData()
    metadata.reflect(engine)
    metadata.drop_all(engine)


def copy_tables(
    source: Engine,
    target: Engine,
    progress: Progress | None = None,
    only: list[str] | None = None,
) -> dict[str, int]:
    """Copy every row of every table of `source` into the same, empty tables of `target`
    (same revision); returns the rows copied per table. The source is read in one snapshot."""
    source_tables = tables(source)
    target_by_name = {t.name: t for t in tables(target)}
    missing = [t.name for t in source_tables if t.name not in target_by_name]
    if missing:
        raise ValueError(f"the target has no table {missing[0]} (not at the source's revision)")
    totals = {t.name: 0 for t in source_tables}
    with source.connect() as reading:
        if source.dialect.name == "postgresql":
            reading.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        counts = {
            t.name: int(reading.scalar(select(func.count()).select_from(t)) or 0) for t in source_tables
        }
        total = sum(counts.values())
        done = 0
        with target.begin() as writing:
            # Rows a migration seeded (a singleton such as shield_epoch) give way to the source's.
            for table in reversed(source_tables):
                if only is None or table.name in only:
                    writing.execute(target_by_name[table.name].delete())
            for table in source_tables:
                if only is not None and table.name not in only:
                    continue
                into = target_by_name[table.name]
                names = [c.name for c in table.columns if c.name in into.columns]
                order = list(table.primary_key.columns) or list(table.columns)
                result = reading.execution_options(stream_results=True).execute(
                    select(table).order_by(*order)
                )
                while chunk := result.fetchmany(CHUNK_ROWS):
                    writing.execute(into.insert(), [{n: row._mapping[n] for n in names} for row in chunk])
                    totals[table.name] += len(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total, "metadata")
            if target.dialect.name == "postgresql":
                _reset_sequences(writing, list(target_by_name.values()))
    return totals


def _reset_sequences(connection, target_tables: list[Table]) -> None:
    """After rows were copied with their ids, each id sequence continues after the largest."""
    for table in target_tables:
        for column in table.primary_key.columns:
            sequence = connection.scalar(
                text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column.name}
            )
            if sequence:
                largest = f'SELECT MAX("{column.name}") FROM "{table.name}"'
                connection.execute(
                    text(f"SELECT setval(:s, COALESCE(({largest}), 0) + 1, false)"), {"s": sequence}
                )


def export_to_sqlite(source: Engine, path: Path) -> str | None:
    """Write the whole metadata store to a new SQLite file at `path`; returns its revision.
    SQLite: its online backup API (pages copied while others keep writing). PostgreSQL: the
    same schema made by the migrations, filled from one snapshot."""
    path.unlink(missing_ok=True)
    if source.dialect.name == "sqlite":
        raw = source.raw_connection()
        try:
            destination = sqlite3.connect(path)
            try:
                raw.driver_connection.backup(destination)  # type: ignore[union-attr]
            finally:
                destination.close()
        finally:
            raw.close()
        return _revision_of(path)
    from footfall.meta.db import make_engine

    revision = current_revision(source)
    target = make_engine(f"sqlite:///{path}")
    try:
        upgrade_to(target, revision)
        copy_tables(source, target)
    finally:
        target.dispose()
    with sqlite3.connect(path) as finished:
        finished.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    _single_file(path)
    return revision


def _single_file(path: Path) -> None:
    """Leave the SQLite file in rollback-journal mode: one file, nothing beside it."""
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA journal_mode=DELETE")
    finally:
        connection.close()


def _revision_of(path: Path) -> str | None:
    _single_file(path)
    connection = sqlite3.connect(path)
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    finally:
        connection.close()
    return row[0] if row else None


def open_copy(path: Path) -> Engine:
    """A read-only engine on a SQLite copy made by `export_to_sqlite` (never modified)."""
    from sqlalchemy import create_engine

    return create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")


def restore_into(target: Engine, copy: Path, progress: Progress | None = None) -> dict[str, int]:
    """Fill the empty metadata store `target` from a SQLite copy: schema at the copy's
    revision, every row, then the newest schema. Returns rows per table."""
    revision = _revision_of_readonly(copy)
    reset(target)
    upgrade_to(target, revision)
    source = open_copy(copy)
    try:
        copied = copy_tables(source, target, progress)
    finally:
        source.dispose()
    upgrade_to(target, "head")
    return copied


def _revision_of_readonly(path: Path) -> str | None:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None
    finally:
        connection.close()
    return row[0] if row else None


def has_schema(engine: Engine) -> bool:
    return bool(inspect(engine).get_table_names())
