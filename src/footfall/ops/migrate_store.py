"""`footfall migrate-store`: move an instance's history to other stores, resumably.

The source is the instance's own stores (chDB or a ClickHouse server for events, SQLite or
PostgreSQL for metadata); the target is named by `--to-data-dir PATH` (chDB under
`PATH/events`, SQLite at `PATH/footfall.db`), `--to-clickhouse URL` and/or
`--to-database-url URL`, which override either half.

Events are copied table by table, partition by partition (a month of events, of sessions,
of each rollup; the unpartitioned tables are one partition each), through a Native file: the
source writes it, the target loads it. Each copied partition is recorded in the target's own
`store_migration` table with the source partition's signature (its highest block number and
the table's latest mutation), so a rerun skips what is copied and unchanged, drops and copies
again a partition that changed (or that an interrupted run left half-loaded: it has no record
yet), and drops partitions the source no longer has (retention). Nothing is ever copied twice
into the target. The target's materialized views are dropped while rows arrive (the rollups
are copied as they are, not computed again) and created again at the end of every run.

A live source (through the admin channel while `footfall serve` runs): the write-ahead log is
flushed, every partition is copied while ingestion goes on, then the flusher is paused (posts
are still acknowledged into the log) for a final catch-up pass that copies the partitions
changed meanwhile, the metadata, and compares the counts. Events acknowledged after that pass
began stay in the source: stop the server and run the same command again, which copies only
what changed (seconds), before starting footfall on the new stores.

The metadata is copied whole in one transaction on every run (`metastore.copy_tables`), at
the source's Alembic revision.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from footfall.events.store import EventStore, EventStoreError, migrate_events, schema_version
from footfall.meta.db import current_revision, make_engine
from footfall.ops import metastore
from footfall.ops.admin import AdminError, Job, admin_command
from footfall.ops.backup import event_counts
from footfall.ops.native_copy import (
    BOOKKEEPING,
    Signature,
    copied_tables,
    drop_partition,
    events_identity,
    export_partition_sql,
    insertable_columns,
    masked,
    signatures,
    view_statements,
    views_of,
)

log = logging.getLogger("footfall.ops")

PROGRESS_TABLE = "store_migration"
NOT_COPIED = BOOKKEEPING
CATCH_UP_ROUNDS = 5


@dataclass
class Target:
    events: Any  # an EventStore with load_native (ChdbWorkerStore or ClickHouseServerStore)
    engine: Engine
    events_where: str
    metadata_where: str
    staging: Path
    data_dir: Path | None


def source_identity(job: Job) -> str:
    return f"{events_identity(job.settings)} + {masked(job.settings.database_url)}"


def open_target(job: Job, args: dict[str, Any]) -> Target:
    """The stores the arguments name, opened (the event target migrated to the source's schema)."""
    settings = job.settings
    to_data_dir = Path(str(args["to_data_dir"])).expanduser().resolve() if args.get("to_data_dir") else None
    to_clickhouse = args.get("to_clickhouse") or None
    to_database_url = args.get("to_database_url") or None
    if to_data_dir is None and (to_clickhouse is None or to_database_url is None):
        raise AdminError(
            "say where to: --to-data-dir PATH (chDB + SQLite there), or --to-clickhouse URL with "
            "--to-database-url URL (either may be combined with --to-data-dir)"
        )
    if to_data_dir is not None and to_data_dir == settings.data_dir:
        raise AdminError(f"--to-data-dir {to_data_dir} is this instance's own DATA_DIR")
    if to_clickhouse is not None and not to_clickhouse.startswith(("http://", "https://")):
        raise AdminError(f"--to-clickhouse must be an http:// or https:// URL, not {to_clickhouse!r}")
    if to_clickhouse is not None and to_clickhouse == settings.clickhouse_url:
        raise AdminError("--to-clickhouse is the ClickHouse this instance already uses")
    if to_database_url is not None and to_database_url == settings.database_url:
        raise AdminError("--to-database-url is the metadata store this instance already uses")
    metadata_url = to_database_url or f"sqlite:///{to_data_dir / 'footfall.db'}"
    if to_data_dir is not None:
        to_data_dir.mkdir(parents=True, exist_ok=True)
    staging = (to_data_dir or settings.data_dir) / ".migrate-store"
    engine = make_engine(metadata_url)
    try:
        if to_clickhouse is not None:
            from footfall.events.clickhouse_store import ClickHouseServerStore

            events: Any = ClickHouseServerStore(to_clickhouse)
            events_where = masked(to_clickhouse)
        else:
            assert to_data_dir is not None
            from footfall.events.chdb_worker import ChdbWorkerStore

            events = ChdbWorkerStore(to_data_dir / "events", database=job.services.events.database)  # type: ignore[union-attr]
            events_where = f"chdb:{to_data_dir / 'events'}"
    except EventStoreError as error:
        engine.dispose()
        raise AdminError(f"target event store: {error}") from None
    return Target(events, engine, events_where, masked(metadata_url), staging, to_data_dir)


# -- the event store ---------------------------------------------------------------------


def ensure_progress_table(target: Any) -> None:
    target.command(
        f"CREATE TABLE IF NOT EXISTS {{db}}.{PROGRESS_TABLE} ("
        "`table` String, partition_id String, rows UInt64, max_block UInt64, mutation UInt64, "
        "present UInt8, source String, copied_at DateTime64(6, 'UTC')"
        ") ENGINE = MergeTree ORDER BY (`table`, partition_id, copied_at)"
    )


def recorded(target: Any) -> dict[tuple[str, str], Signature]:
    """The latest record of each copied partition (a dropped one is not listed)."""
    rows = target.query(
        f"SELECT `table`, partition_id, argMax(rows, copied_at), argMax(max_block, copied_at), "
        f"argMax(mutation, copied_at), argMax(present, copied_at) FROM {{db}}.{PROGRESS_TABLE} "
        "GROUP BY `table`, partition_id"
    ).rows
    return {
        (str(t), str(p)): Signature(int(r), int(b), int(m)) for t, p, r, b, m, present in rows if int(present)
    }


def recorded_sources(target: Any) -> set[str]:
    return {str(s) for (s,) in target.query(f"SELECT DISTINCT source FROM {{db}}.{PROGRESS_TABLE}").rows}


def record(target: Any, table: str, partition: str, signature: Signature, source: str, present: bool) -> None:
    target.command(
        f"INSERT INTO {{db}}.{PROGRESS_TABLE} VALUES ({{t:String}}, {{p:String}}, {{r:UInt64}}, "
        "{b:UInt64}, {m:UInt64}, {present:UInt8}, {s:String}, now64(6))",
        {
            "t": table,
            "p": partition,
            "r": signature.rows,
            "b": signature.max_block,
            "m": signature.mutation,
            "present": int(present),
            "s": source,
        },
    )


def target_partitions(target: Any, table: str) -> set[str]:
    return set(signatures(target, table))


@dataclass
class Pass:
    copied: int = 0
    skipped: int = 0
    dropped: int = 0
    rows: int = 0
    changed: list[str] = field(default_factory=list)


def copy_events(
    source: EventStore,
    target: Target,
    source_id: str,
    *,
    progress: Callable[[int, int, str], None],
    say: Callable[[str], None],
    verbose: bool,
    label: str,
) -> Pass:
    """One pass: every partition of every table whose source signature differs from its
    record is dropped in the target and loaded again; partitions gone from the source are
    dropped in the target."""
    tables = copied_tables(source)
    missing = [t for t in tables if t not in set(copied_tables(target.events))]
    if missing:
        raise AdminError(f"the target event store has no table {missing[0]} (a different schema?)")
    done = recorded(target.events)
    plan: list[tuple[str, str, Signature]] = []
    gone: list[tuple[str, str]] = []
    result = Pass()
    for table in tables:
        now = signatures(source, table)
        for partition, signature in sorted(now.items()):
            before = done.get((table, partition))
            if before is not None and (before.max_block, before.mutation) == (
                signature.max_block,
                signature.mutation,
            ):
                result.skipped += 1
                continue
            plan.append((table, partition, signature))
        for table_partition in done:
            if table_partition[0] == table and table_partition[1] not in now:
                gone.append(table_partition)
    total = max(sum(s.rows for _, _, s in plan), 1)
    target.staging.mkdir(parents=True, exist_ok=True)
    columns_of: dict[str, list[str]] = {}
    for table, partition in gone:
        if partition in target_partitions(target.events, table):
            drop_partition(target.events, table, partition)
        record(target.events, table, partition, Signature(0, 0, 0), source_id, present=False)
        result.dropped += 1
        if verbose:
            say(f"dropped {table} {partition} (gone from the source)")
    progress(0, total, label)
    for table, partition, signature in plan:
        columns = columns_of.setdefault(table, insertable_columns(source, table))
        file = target.staging / f"{table}-{partition}.native"
        try:
            # A partition with no record may be half there (an interrupted run): drop it first.
            if partition in target_partitions(target.events, table):
                drop_partition(target.events, table, partition)
            source.export_native(export_partition_sql(table, columns), file, {"p": partition})  # type: ignore[attr-defined]
            loaded = target.events.load_native(table, columns, file)
        finally:
            file.unlink(missing_ok=True)
        landed = int(
            target.events.query(
                f"SELECT count() FROM {{db}}.`{table}` WHERE _partition_id = {{p:String}}", {"p": partition}
            ).scalar()
            or 0
        )
        if landed != loaded:
            raise AdminError(f"{table} {partition}: {loaded} rows sent, {landed} in the target")
        record(
            target.events,
            table,
            partition,
            Signature(loaded, signature.max_block, signature.mutation),
            source_id,
            True,
        )
        result.copied += 1
        result.rows += loaded
        result.changed.append(f"{table} {partition}")
        progress(min(result.rows, total), total, label)
        if verbose:
            say(f"copied {table} {partition}: {loaded} rows")
    return result


# -- the whole migration -----------------------------------------------------------------


def migrate_store(job: Job, args: dict[str, Any]) -> dict[str, Any]:
    services = job.services
    source = services.events
    if source is None:
        raise AdminError("the event store is not open")
    verbose = bool(args.get("verbose"))
    source_id = source_identity(job)
    started = time.monotonic()
    target = open_target(job, args)
    try:
        ensure_progress_table_after_schema(job, target)
        sources = recorded_sources(target.events)
        resuming = bool(sources)
        if sources and sources != {source_id}:
            raise AdminError(
                f"the target was being filled from {sorted(sources)[0]}, not from this instance ({source_id})"
            )
        if not resuming:
            held = event_counts(target.events)
            if any(n for table, n in held.items() if table not in NOT_COPIED):
                raise AdminError(
                    f"the target event store {target.events_where} holds events; migrate into an empty one"
                )
        if metastore.has_schema(target.engine) and not metastore.is_empty(target.engine) and not resuming:
            raise AdminError(
                f"the target metadata store {target.metadata_where} holds rows; migrate into an empty one"
            )
        job.say(
            f"{'resuming' if resuming else 'starting'}: events to {target.events_where}, "
            f"metadata to {target.metadata_where}"
        )
        for view in views_of(target.events):
            target.events.command(f"DROP TABLE IF EXISTS {{db}}.`{view}` SYNC")
        job.flush_events()
        first = copy_events(
            source, target, source_id, progress=job.progress, say=job.say, verbose=verbose, label="events"
        )
        rounds = [first]
        job.flush_events()
        with job.writers_paused():
            for _ in range(CATCH_UP_ROUNDS):
                more = copy_events(
                    source,
                    target,
                    source_id,
                    progress=job.progress,
                    say=job.say,
                    verbose=verbose,
                    label="catch-up",
                )
                rounds.append(more)
                if not more.copied and not more.dropped:
                    break
            else:
                changing = ", ".join(rounds[-1].changed[:5])
                raise AdminError(
                    f"the source kept changing for {CATCH_UP_ROUNDS} catch-up passes ({changing}); run again"
                )
            metadata = copy_metadata(services.engine, target.engine, job.progress)
            event_source = event_counts(source)
            event_target = event_counts(target.events)
        for statement in view_statements():
            target.events.command(statement)
        if target.data_dir is not None:
            keep_secret_key(job.settings.data_dir, target.data_dir)
    finally:
        target.events.close()
        target.engine.dispose()
        shutil.rmtree(target.staging, ignore_errors=True)
    tables = [
        {"table": t, "source": n, "target": event_target.get(t)}
        for t, n in event_source.items()
        if t not in NOT_COPIED
    ] + [
        {"table": f"metadata.{t}", "source": n, "target": metadata[1].get(t)} for t, n in metadata[0].items()
    ]
    return {
        "via": job.via,
        "resumed": resuming,
        "events_to": target.events_where,
        "metadata_to": target.metadata_where,
        "data_dir": str(target.data_dir) if target.data_dir else None,
        "partitions_copied": sum(r.copied for r in rounds),
        "partitions_skipped": first.skipped,
        "partitions_dropped": sum(r.dropped for r in rounds),
        "caught_up": sum(r.copied for r in rounds[1:]),
        "rows_copied": sum(r.rows for r in rounds),
        "tables": tables,
        "equal": all(row["source"] == row["target"] for row in tables),
        "seconds": round(time.monotonic() - started, 3),
        "finished_at": datetime.now(UTC).isoformat(),
    }


def ensure_progress_table_after_schema(job: Job, target: Target) -> None:
    """The target's event schema made (or checked) at the source's version, and its record."""
    source = job.services.events
    assert source is not None
    try:
        migrate_events(target.events)
    except EventStoreError as error:
        raise AdminError(f"target event store {target.events_where}: {error}") from None
    have, want = schema_version(target.events), schema_version(source)
    if have != want:
        raise AdminError(
            f"the target event store is at schema version {have}, this instance at {want}; "
            "migrate into an empty store made by this footfall"
        )
    ensure_progress_table(target.events)


def copy_metadata(
    source: Engine, target: Engine, progress: Callable[[int, int, str], None]
) -> tuple[dict[str, int], dict[str, int]]:
    """Every row of the metadata store, in one transaction on the target, at the source's
    revision; returns (rows copied per table, rows the target then holds per table)."""
    revision = current_revision(source)
    if not metastore.has_schema(target) or current_revision(target) != revision:
        if metastore.has_schema(target) and not metastore.is_empty(target):
            raise AdminError("the target metadata store is at another revision and holds rows")
        metastore.reset(target)
        metastore.upgrade_to(target, revision)
    copied = metastore.copy_tables(source, target, progress)
    return copied, metastore.count_rows(target)


def keep_secret_key(source_dir: Path, target_dir: Path) -> None:
    """The generated SECRET_KEY_BASE goes along, so logins and shared links keep working."""
    source, target = source_dir / "secret_key", target_dir / "secret_key"
    if source.is_file() and not target.exists():
        shutil.copy2(source, target)
        target.chmod(0o600)


@admin_command("migrate-store")
def migrate_store_command(job: Job, args: dict[str, Any]) -> dict[str, Any]:
    return migrate_store(job, args)
