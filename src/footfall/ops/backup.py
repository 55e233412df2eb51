"""Online, consistent backups of both stores; verifying them; restoring them.

A backup is a directory `DIR/footfall-<UTC time>/` holding
* `metadata.sqlite`: the metadata store (footfall.ops.metastore: SQLite's online backup API,
  or a logical export of PostgreSQL into the same schema);
* the events, in one of two forms (`--format`):
  - `clickhouse` (the default with embedded chDB): `events/`, by ClickHouse's own
    `BACKUP DATABASE ... TO File(...)` (chDB is opened with `backups.allowed_path` set for
    it), incremental against the previous backup in DIR (`base_backup`) unless `full`;
  - `native` (the default, and the only form, with a ClickHouse server; allowed for chDB
    too): a logical backup, `events/<table>/<partition>.native`, every partition of every
    table as a ClickHouse Native file written through the store's `export_native`
    (footfall.ops.native_copy, the pieces `footfall migrate-store` copies with), restored by
    `load_native` into an empty embedded or server store. Incremental: a partition whose
    signature (highest block number, latest mutation) is the one the previous backup of the
    same store recorded is not written again; the manifest names the backup holding it;
* `manifest.json`: footfall's version, both schema versions, rows per table (and, for the
  native form, per partition), the events' time range, the base backup's name, and the size
  and SHA-256 of every file.

Consistency: the write-ahead log is flushed first (every event acknowledged before the
backup began is in it), then the flusher is paused. For ClickHouse's BACKUP the row counts
and the BACKUP run back to back with no other statement in between; for Native files the
flusher and the daily counts stay paused until the last partition is written, and each
partition's signature is read before its count and after its export (made again if another
writer of a ClickHouse server changed it in between), so the count describes the file.
Tracker posts are still acknowledged into the log meanwhile and stored once the backup has
been taken. Counts are merge-proof (`count() ... FINAL` for the collapsing and aggregating
tables), so a restored copy counts the same whatever merges ran since.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import logging
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import footfall
from footfall.events.schema import MIGRATIONS
from footfall.events.store import EventStore, EventStoreError, migrate_events, schema_version
from footfall.meta.db import current_revision
from footfall.ops import metastore
from footfall.ops.admin import AdminError, Job, admin_command
from footfall.ops.native_copy import (
    COMPRESSED_SUFFIX,
    compress,
    data_tables,
    decompress,
    events_identity,
    export_partition,
    insertable_columns,
    partition_rows,
    signatures,
)

log = logging.getLogger("footfall.ops")

FORMAT = 1
FORMS = ("clickhouse", "native")  # how the events are held: ClickHouse's BACKUP, or Native files
MANIFEST = "manifest.json"
PREFIX = "footfall-"
MAX_CHAIN = 24  # at most this many backups in one chain: a full one then 23 incrementals
Progress = Callable[[int, int, str], None]


def _literal(path: Path) -> str:
    return "'" + str(path).replace("\\", "\\\\").replace("'", "\\'") + "'"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def file_list(root: Path) -> dict[str, dict[str, Any]]:
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name != MANIFEST:
            files[path.relative_to(root).as_posix()] = {"size": path.stat().st_size, "sha256": sha256(path)}
    return files


def count_statements(store: EventStore) -> tuple[list[str], list[str]]:
    """Merge-proof row counts of every table of the event database: (names, statements)."""
    found = store.query(
        "SELECT name, engine FROM system.tables WHERE database = {d:String} AND engine LIKE '%MergeTree' "
        "ORDER BY name",
        {"d": store.database},
    )
    names, statements = [], []
    for name, engine in found.rows:
        final = " FINAL" if engine != "MergeTree" else ""
        names.append(name)
        statements.append(f"SELECT count() FROM {{db}}.`{name}`{final}")
    return names, statements


def event_counts(store: EventStore) -> dict[str, int]:
    names, statements = count_statements(store)
    return {name: int(store.query(sql).scalar() or 0) for name, sql in zip(names, statements, strict=True)}


def read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    if not path.is_file():
        raise AdminError(f"{directory} is not a footfall backup (no {MANIFEST})")
    try:
        manifest = json.loads(path.read_text())
    except (ValueError, OSError) as error:
        raise AdminError(f"{path}: cannot be read as JSON ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise AdminError(f"{path}: not a footfall backup manifest of format {FORMAT}")
    return manifest


def backups_in(directory: Path) -> list[tuple[Path, dict[str, Any]]]:
    """The backups in DIR, oldest first."""
    found = []
    if directory.is_dir():
        for child in directory.iterdir():
            if child.is_dir() and child.name.startswith(PREFIX) and (child / MANIFEST).is_file():
                with contextlib.suppress(AdminError):
                    found.append((child, read_manifest(child)))
    return sorted(found, key=lambda item: item[1]["created_at"])


def resolve(directory: Path) -> Path:
    """A backup's own directory, or the latest backup in a directory of backups."""
    if (directory / MANIFEST).is_file():
        return directory
    found = backups_in(directory)
    if not found:
        raise AdminError(f"{directory} holds no footfall backup (no {MANIFEST})")
    return found[-1][0]


@dataclass
class Created:
    path: Path
    manifest: dict[str, Any]
    deleted: list[str]


def events_form(manifest: dict[str, Any]) -> str:
    """How a backup holds its events: "clickhouse" (BACKUP DATABASE) or "native" (files)."""
    return str(manifest.get("events", {}).get("format", "clickhouse"))


def create_backup(
    job: Job,
    to: Path,
    *,
    full: bool = False,
    keep: int | None = None,
    keep_days: float | None = None,
    form: str | None = None,
) -> Created:
    services = job.services
    store = services.events
    if store is None:
        raise AdminError("the event store is not open")
    embedded = hasattr(store, "run_together")
    form = form or ("clickhouse" if embedded else "native")
    if form not in FORMS:
        raise AdminError(f"--format is one of {', '.join(FORMS)}, not {form!r}")
    if form == "clickhouse" and not embedded:
        raise AdminError(
            "backup create --format clickhouse: with events on a ClickHouse server, ClickHouse's "
            "BACKUP writes on the server's own disks; use --format native (the default there)"
        )
    identity = events_identity(services.settings)
    to = to.expanduser().resolve()
    to.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    now = datetime.now(UTC)
    name = PREFIX + now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z"
    final = to / name
    partial = to / f".{name}.partial"
    base: tuple[Path, dict[str, Any]] | None = None
    if not full:
        previous = backups_in(to)
        if previous and _can_build_on(previous[-1][1], form, identity, store.database):
            base = previous[-1]
            # A chain (an incremental, its base, ...) is deleted only whole, so start a new full
            # backup once the chain is as long as retention keeps (or MAX_CHAIN): old chains can go.
            length = len(chain_of(*base))
            if length >= min(keep or MAX_CHAIN, MAX_CHAIN):
                base = None
    partial.mkdir()
    try:
        job.say(f"flushing the write-ahead log, then backing up to {final}")
        job.flush_events()
        job.progress(1, 4, "backup")
        # The events are written to their final path (ClickHouse records a BACKUP, and an
        # incremental's base, by path); the directory becomes a backup only when its manifest
        # is written.
        final.mkdir()
        if form == "clickhouse":
            events = _backup_events_clickhouse(job, store, final, base)
        else:
            events = _backup_events_native(job, store, final, base)
        events["source"] = identity
        job.progress(2, 4, "backup")
        revision = metastore.export_to_sqlite(services.engine, partial / "metadata.sqlite")
        metadata_counts = metastore.count_rows(metastore.open_copy(partial / "metadata.sqlite"))
        shutil.move(str(partial / "metadata.sqlite"), final / "metadata.sqlite")
        job.progress(3, 4, "backup")
        manifest = {
            "format": FORMAT,
            "name": name,
            "created_at": now.isoformat(),
            "footfall_version": footfall.__version__,
            "kind": "incremental" if base else "full",
            "base": base[0].name if base else None,
            "metadata": {
                "backend": services.engine.dialect.name,
                "revision": revision,
                "tables": metadata_counts,
            },
            "events": events,
            "files": file_list(final),
            "seconds": None,
        }
        manifest["size_bytes"] = sum(f["size"] for f in manifest["files"].values())
        manifest["seconds"] = round(time.monotonic() - started, 3)
        (final / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        shutil.rmtree(final, ignore_errors=True)
        raise
    shutil.rmtree(partial, ignore_errors=True)
    job.progress(4, 4, "backup")
    deleted = apply_retention(to, keep=keep, keep_days=keep_days) if keep or keep_days else []
    return Created(final, manifest, deleted)


def _can_build_on(previous: dict[str, Any], form: str, identity: str, database: str) -> bool:
    """Whether a new backup may be incremental on `previous`: the same form, and for Native
    files the same event store (its partitions' block numbers are that store's own)."""
    if events_form(previous) != form:
        return False
    if form == "native":
        return previous["events"].get("source") == identity and previous["events"]["database"] == database
    return True


_RANGE_SQL = "SELECT toString(min(timestamp)), toString(max(timestamp)), count() FROM {db}.events"


def _time_range(first: Any, last: Any, events: Any) -> dict[str, Any]:
    return {"first": first if events else None, "last": last if events else None}


def _backup_events_clickhouse(
    job: Job, store: EventStore, final: Path, base: tuple[Path, dict[str, Any]] | None
) -> dict[str, Any]:
    """BACKUP DATABASE into `final/events`, with the counts taken back to back with it."""
    names, statements = count_statements(store)
    base_sql = f" SETTINGS base_backup = File({_literal(base[0] / 'events')})" if base else ""
    backup_sql = f"BACKUP DATABASE {{db}} TO File({_literal(final / 'events')}){base_sql}"
    pause = job.buffer.paused() if job.buffer is not None else contextlib.nullcontext()
    with pause:
        answers = store.run_together([*statements, _RANGE_SQL, backup_sql])  # type: ignore[attr-defined]
    counts = {n: int(a.rows[0][0]) for n, a in zip(names, answers, strict=False)}
    first, last, events = answers[len(names)].rows[0]
    status = answers[-1].rows[0][1] if answers[-1].rows else "?"
    if status != "BACKUP_CREATED":
        raise AdminError(f"the event store's BACKUP ended {status}")
    return {
        "backend": "chdb",
        "format": "clickhouse",
        "database": store.database,
        "schema_version": schema_version(store),
        "tables": counts,
        "time_range": _time_range(first, last, events),
    }


def _backup_events_native(
    job: Job, store: EventStore, final: Path, base: tuple[Path, dict[str, Any]] | None
) -> dict[str, Any]:
    """Every partition of every table as a Native file `events/<table>/<partition>.native`
    (footfall.ops.native_copy), with this process's writers paused throughout. Incremental:
    a partition whose signature (highest block number, latest mutation) and columns are
    those the base recorded is not written again; the manifest names the backup holding it."""
    base_events = base[1]["events"] if base else {}
    base_partitions: dict[str, dict[str, Any]] = base_events.get("partitions", {})
    base_columns: dict[str, list[str]] = base_events.get("columns", {})
    partitions: dict[str, dict[str, Any]] = {}
    with job.writers_paused():
        tables = data_tables(store)
        columns = {table: insertable_columns(store, table) for table in tables}
        first, last, events = store.query(_RANGE_SQL).rows[0]
        plan = [(t, p, sig) for t in tables for p, sig in sorted(signatures(store, t).items())]
        for done, (table, partition, signature) in enumerate(plan, start=1):
            before = base_partitions.get(table, {}).get(partition)
            if (
                base is not None
                and before is not None
                and base_columns.get(table) == columns[table]
                and (before["max_block"], before["mutation"]) == (signature.max_block, signature.mutation)
            ):
                partitions.setdefault(table, {})[partition] = {
                    **before,
                    "in": before.get("in") or base[0].name,
                }
            else:
                relative = f"events/{table}/{partition}{COMPRESSED_SUFFIX}"
                raw = final / "events" / table / f".{partition}.native"
                exported = export_partition(store, table, tables[table], partition, columns[table], raw)
                if exported is not None:
                    compress(raw, final / relative)
                    rows, now = exported
                    partitions.setdefault(table, {})[partition] = {
                        "file": relative,
                        "in": None,
                        "rows": rows,
                        "max_block": now.max_block,
                        "mutation": now.mutation,
                    }
            job.progress(done, len(plan), "events")
    return {
        "backend": "chdb" if hasattr(store, "run_together") else "clickhouse",
        "format": "native",
        "database": store.database,
        "schema_version": schema_version(store),
        "tables": {t: sum(int(p["rows"]) for p in partitions.get(t, {}).values()) for t in tables},
        "partitions": partitions,
        "columns": columns,
        "time_range": _time_range(first, last, events),
    }


def apply_retention(directory: Path, *, keep: int | None, keep_days: float | None) -> list[str]:
    """Delete backups beyond both limits given (the newest `keep`; those younger than
    `keep_days`), except the bases a kept backup is built on. Returns the names deleted."""
    found = backups_in(directory)
    if not found:
        return []
    now = datetime.now(UTC)
    kept: set[str] = set()
    for index, (path, manifest) in enumerate(found):
        newest = keep is not None and index >= len(found) - keep
        recent = keep_days is not None and now - datetime.fromisoformat(manifest["created_at"]) < timedelta(
            days=keep_days
        )
        if newest or recent:
            kept.add(path.name)
    if not kept:
        kept.add(found[-1][0].name)  # never delete the last backup there is
    by_name = {path.name: manifest for path, manifest in found}
    for name in list(kept):
        base = by_name[name].get("base")
        while base and base in by_name:
            kept.add(base)
            base = by_name[base].get("base")
    deleted = []
    for path, _ in found:
        if path.name not in kept:
            shutil.rmtree(path)
            deleted.append(path.name)
    return deleted


# -- verify ------------------------------------------------------------------------------


@dataclass
class Verified:
    path: Path
    manifest: dict[str, Any]
    problems: list[str]
    chain: list[str]
    files: int = 0  # checked, in this backup and its bases


def check_files(directory: Path, manifest: dict[str, Any]) -> list[str]:
    """Each file the manifest lists, as it lists it: names the missing, truncated, edited and
    unexpected ones."""
    problems = []
    listed: dict[str, dict[str, Any]] = manifest.get("files", {})
    for name, expected in listed.items():
        path = directory / name
        if not path.is_file():
            problems.append(f"{directory.name}/{name}: missing")
            continue
        size = path.stat().st_size
        if size != expected["size"]:
            what = "truncated" if size < expected["size"] else "grown"
            problems.append(
                f"{directory.name}/{name}: {what} ({size} bytes, the manifest says {expected['size']})"
            )
        elif sha256(path) != expected["sha256"]:
            problems.append(f"{directory.name}/{name}: altered (its SHA-256 differs from the manifest's)")
    for path in sorted(directory.rglob("*")):
        name = path.relative_to(directory).as_posix()
        if path.is_file() and name != MANIFEST and name not in listed:
            problems.append(f"{directory.name}/{name}: not in the manifest")
    return problems


def chain_of(directory: Path, manifest: dict[str, Any]) -> list[tuple[Path, dict[str, Any]]]:
    """This backup and the bases it is built on, newest first."""
    chain = [(directory, manifest)]
    while chain[-1][1].get("base"):
        base = chain[-1][0].parent / chain[-1][1]["base"]
        if not (base / MANIFEST).is_file():
            raise AdminError(f"{chain[-1][0]} is incremental on {base.name}, which is not beside it")
        chain.append((base, read_manifest(base)))
    return chain


def verify_backup(directory: Path, progress: Progress | None = None) -> Verified:
    """Check every file's size and checksum (this backup and its bases), then restore it into a
    scratch store in a temporary directory and compare every table's rows with the manifest.
    Opens chDB in this process: run it where no event store is open (the CLI does)."""
    from footfall.events.chdb_store import ChdbStore

    directory = resolve(directory.expanduser().resolve())
    manifest = read_manifest(directory)
    chain = chain_of(directory, manifest)
    problems: list[str] = []
    for path, each in chain:
        problems += check_files(path, each)
    files = sum(len(each.get("files", {})) for _, each in chain)
    if progress:
        progress(1, 3, "verify")
    if problems:
        return Verified(directory, manifest, problems, [p.name for p, _ in chain], files)
    with tempfile.TemporaryDirectory(prefix="footfall-verify-") as scratch:
        store = ChdbStore(Path(scratch) / "events", database=manifest["events"]["database"])
        try:
            if events_form(manifest) == "native":
                problems += load_native_events(store, directory, manifest, Path(scratch))
            else:
                with events_to_restore(directory) as events_path:
                    store.command(f"RESTORE DATABASE {{db}} FROM File({_literal(events_path)})")
            counts = event_counts(store)
        except Exception as error:
            problems.append(f"events: cannot be restored: {str(error).strip().splitlines()[0]}")
            counts = {}
        finally:
            store.close()
        if progress:
            progress(2, 3, "verify")
        for table, expected in manifest["events"]["tables"].items():
            if counts and counts.get(table) != expected:
                problems.append(
                    f"events.{table}: {counts.get(table)} rows restored, the manifest says {expected}"
                )
        try:
            copy = metastore.open_copy(directory / "metadata.sqlite")
            try:
                metadata_counts = metastore.count_rows(copy)
            finally:
                copy.dispose()
        except Exception as error:
            problems.append(f"metadata.sqlite: cannot be read: {str(error).strip().splitlines()[0]}")
            metadata_counts = {}
        for table, expected in manifest["metadata"]["tables"].items():
            if metadata_counts and metadata_counts.get(table) != expected:
                problems.append(
                    f"metadata.{table}: {metadata_counts.get(table)} rows, the manifest says {expected}"
                )
    if progress:
        progress(3, 3, "verify")
    return Verified(directory, manifest, problems, [p.name for p, _ in chain], files)


def load_native_events(
    store: EventStore,
    directory: Path,
    manifest: dict[str, Any],
    staging: Path,
    progress: Progress | None = None,
) -> list[str]:
    """Load a Native-file backup (and the bases it takes partitions from) into `store`, whose
    database must be empty or absent. The schema is made at the backup's version, the
    materialized views are dropped while rows arrive (the rollups are loaded as they were, not
    computed again) and made again; each file is unpacked into `staging` for its load. Returns
    each partition whose merge-proof rows differ from the manifest's."""
    events = manifest["events"]
    version = int(events["schema_version"])
    store.command("CREATE DATABASE IF NOT EXISTS {db}")
    migrate_events(store, [m for m in MIGRATIONS if m.version <= version])
    views = store.query(
        "SELECT name, create_table_query FROM system.tables WHERE database = {d:String} "
        "AND engine = 'MaterializedView' ORDER BY name",
        {"d": store.database},
    ).rows
    for view, _ in views:
        store.command(f"DROP TABLE IF EXISTS {{db}}.`{view}` SYNC")
    plan = [(t, p, e) for t, parts in sorted(events["partitions"].items()) for p, e in sorted(parts.items())]
    try:
        for done, (table, partition, entry) in enumerate(plan, start=1):
            holder = directory.parent / entry["in"] if entry.get("in") else directory
            path = holder / entry["file"]
            if not path.is_file():
                raise AdminError(f"{holder.name}/{entry['file']}: missing (events.{table} {partition})")
            raw = staging / f"{table}-{partition}.native"
            decompress(path, raw)
            try:
                store.load_native(table, events["columns"][table], raw)  # type: ignore[attr-defined]
            finally:
                raw.unlink(missing_ok=True)
            if progress:
                progress(done, len(plan), "events")
    finally:
        for _, create in views:
            store.command(create)
    problems = []
    engines = data_tables(store)
    for table, parts in sorted(events["partitions"].items()):
        held = partition_rows(store, table, engines.get(table, "MergeTree"))
        for partition, entry in sorted(parts.items()):
            if held.get(partition, 0) != int(entry["rows"]):
                problems.append(
                    f"events.{table} partition {partition}: {held.get(partition, 0)} rows restored, "
                    f"the manifest says {entry['rows']}"
                )
    return problems


# -- restore -----------------------------------------------------------------------------


def check_version(manifest: dict[str, Any]) -> None:
    """A backup written by a newer footfall is refused (its schema may be unknown here)."""
    from footfall.ops.upgrade import newer_than_running

    made_by = str(manifest.get("footfall_version", "?"))
    if newer_than_running(made_by):
        raise AdminError(
            f"this backup was made by footfall {made_by}, newer than this footfall {footfall.__version__}; "
            f"restore it with footfall {made_by} or later"
        )


def restore_backup(job: Job, directory: Path) -> dict[str, Any]:
    """Restore into this instance, which must hold no data (a fresh DATA_DIR, an empty
    PostgreSQL database, an empty ClickHouse database): the metadata at the backup's revision
    then upgraded, the events by ClickHouse's RESTORE (embedded only) or by loading their
    Native files (embedded or a ClickHouse server), then migrated; afterwards the Stats API
    answers as at backup time."""
    services = job.services
    store = services.events
    if store is None:
        raise AdminError("the event store is not open")
    directory = resolve(directory.expanduser().resolve())
    manifest = read_manifest(directory)
    check_version(manifest)
    native = events_form(manifest) == "native"
    if not native and not hasattr(store, "run_together"):
        raise AdminError(
            f"{directory.name} holds its events as a ClickHouse BACKUP, which footfall restores into "
            "an embedded store only: restore it into an embedded instance and move it with "
            "`footfall migrate-store --to-clickhouse`, or back up with --format native"
        )
    chain_of(directory, manifest)
    for path, each in chain_of(directory, manifest):
        problems = check_files(path, each)
        if problems:
            raise AdminError(f"the backup is damaged: {problems[0]} (footfall backup verify lists all)")
    if not metastore.is_empty(services.engine):
        raise AdminError(
            "restore goes into an empty instance, and this metadata store has rows "
            "(use a fresh DATA_DIR or an empty DATABASE_URL)"
        )
    held = event_counts(store)
    if any(held.get(t, 0) for t in ("events", "sessions")):
        raise AdminError("restore goes into an empty instance, and this event store holds events")
    job.flush_events()
    started = time.monotonic()
    with job.writers_paused():
        job.progress(0, 3, "restore")
        copied = metastore.restore_into(services.engine, directory / "metadata.sqlite")
        job.progress(1, 3, "restore")
        store.command("DROP DATABASE IF EXISTS {db} SYNC")
        if native:
            staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=services.settings.data_dir))
            try:
                problems = load_native_events(store, directory, manifest, staging, job.progress)
            except EventStoreError as error:
                raise AdminError(f"the events cannot be loaded: {error}") from None
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            if problems:
                raise AdminError(f"the restored events differ from the backup's manifest: {problems[0]}")
        else:
            with events_to_restore(directory) as events_path:
                store.command(f"RESTORE DATABASE {{db}} FROM File({_literal(events_path)})")
        migrate_events(store)
        from footfall.events import daily_marks
        from footfall.ingest.buffer import ensure_deduplication

        ensure_deduplication(store)
        daily_marks.wrote_marks()  # the marks kept in this process describe the old store
        if hasattr(store, "_column_types"):
            store._column_types.clear()  # type: ignore[attr-defined]
            store._structures.clear()  # type: ignore[attr-defined]
        job.progress(2, 3, "restore")
    services.extras.pop("api_auth_cache", None)
    counts = event_counts(store)
    job.progress(3, 3, "restore")
    mismatched = [t for t, n in manifest["events"]["tables"].items() if counts.get(t) != n]
    if mismatched:
        table = mismatched[0]
        raise AdminError(
            f"restored events.{table} has {counts.get(table)} rows, the backup's manifest says "
            f"{manifest['events']['tables'][table]}"
        )
    return {
        "path": str(directory),
        "name": manifest["name"],
        "events": counts.get("events", 0),
        "metadata_rows": sum(copied.values()),
        "metadata_revision": current_revision(services.engine),
        "seconds": round(time.monotonic() - started, 3),
    }


# -- a moved directory of backups ----------------------------------------------------------

_BASE_ELEMENT = re.compile(r"<base_backup>File\('((?:[^'\\]|\\.)*)'\)</base_backup>")


@contextlib.contextmanager
def events_to_restore(directory: Path) -> Iterator[Path]:
    """The path to RESTORE this backup's events from. ClickHouse records an incremental
    backup's base by the absolute path it had when made; footfall's manifest records it by
    name, beside it. When a chain was moved (its recorded base paths are gone), the chain is
    mirrored in a scratch directory of symbolic links, with each `.backup` naming its base's
    new place; the backup files themselves are never changed."""
    chain = chain_of(directory, read_manifest(directory))
    stale = False
    for (path, _), (base, _) in itertools.pairwise(chain):
        match = _BASE_ELEMENT.search((path / "events" / ".backup").read_text(errors="replace"))
        if match and Path(match.group(1)) != base / "events":
            stale = True
    if not stale:
        yield directory / "events"
        return
    with tempfile.TemporaryDirectory(prefix="footfall-relocated-") as scratch:
        root = Path(scratch)
        for index, (path, _) in enumerate(chain):
            mirror = root / path.name / "events"
            for source in (path / "events").rglob("*"):
                if source.is_dir():
                    continue
                place = mirror / source.relative_to(path / "events")
                place.parent.mkdir(parents=True, exist_ok=True)
                if source.name == ".backup" and source.parent == path / "events" and index + 1 < len(chain):
                    base = root / chain[index + 1][0].name / "events"
                    text = _BASE_ELEMENT.sub(
                        lambda _m, b=base: f"<base_backup>File({_literal(b)})</base_backup>",
                        source.read_text(errors="replace"),
                    )
                    place.write_text(text)
                else:
                    place.symlink_to(source)
        yield root / directory.name / "events"


# -- admin commands ----------------------------------------------------------------------


@admin_command("backup.create")
def backup_create_command(job: Job, args: dict[str, Any]) -> dict[str, Any]:
    created = create_backup(
        job,
        Path(str(args["to"])),
        form=str(args["format"]) if args.get("format") else None,
        full=bool(args.get("full")),
        keep=int(args["keep"]) if args.get("keep") else None,
        keep_days=float(args["keep_days"]) if args.get("keep_days") else None,
    )
    from footfall.ops import metrics

    metrics.backup_succeeded(created.manifest)
    m = created.manifest
    return {
        "path": str(created.path),
        "kind": m["kind"],
        "format": m["events"]["format"],
        "base": m["base"],
        "size_bytes": m["size_bytes"],
        "seconds": m["seconds"],
        "events": m["events"]["tables"].get("events", 0),
        "deleted": created.deleted,
    }


@admin_command("backup.restore")
def backup_restore_command(job: Job, args: dict[str, Any]) -> dict[str, Any]:
    return restore_backup(job, Path(str(args["from"])))


def size_of(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
