"""An event store's tables partition by partition, as ClickHouse Native files.

The pieces `footfall migrate-store` copies with and the logical backup
(`footfall backup create --format native`) writes and loads with: which tables hold data,
which of their columns can be inserted, each partition's signature (to tell a changed
partition from an unchanged one), the materialized views to drop while rows are loaded, and
the export of one partition to a file with a merge-proof count of what it holds. The same
SQL runs on chDB and on a ClickHouse server (`export_native` / `load_native` of either store).
"""

from __future__ import annotations

import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from footfall.events.schema import MIGRATIONS
from footfall.events.store import EventStore
from footfall.ops.admin import AdminError

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

# Tables that describe the store rather than hold its data: never copied or backed up (the
# schema's record is made by the migrations; `store_migration` is migrate-store's progress).
BOOKKEEPING = ("schema_migrations", "store_migration")
PARTITION_ID = re.compile(r"^[0-9A-Za-z_-]+$")
EXPORT_ATTEMPTS = 5


class PartitionChanging(AdminError):
    """A partition kept changing while it was being exported."""


@dataclass
class Signature:
    rows: int
    max_block: int
    mutation: int


def masked(url: str) -> str:
    """A URL with its password shown as ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def events_identity(settings: Any) -> str:
    """Which event store the settings name: the ClickHouse URL (password masked) or the chDB path."""
    return masked(settings.clickhouse_url) if settings.clickhouse_url else f"chdb:{settings.events_dir}"


def data_tables(store: EventStore) -> dict[str, str]:
    """Every table of the event database that holds data: name -> engine."""
    found = store.query(
        "SELECT name, engine FROM system.tables WHERE database = {d:String} AND engine LIKE '%MergeTree' "
        "ORDER BY name",
        {"d": store.database},
    )
    return {str(name): str(engine) for name, engine in found.rows if name not in BOOKKEEPING}


def copied_tables(store: EventStore) -> list[str]:
    return list(data_tables(store))


def insertable_columns(store: EventStore, table: str) -> list[str]:
    found = store.query(
        "SELECT name FROM system.columns WHERE database = {d:String} AND table = {t:String} "
        "AND default_kind NOT IN ('MATERIALIZED', 'ALIAS', 'EPHEMERAL') ORDER BY position",
        {"d": store.database, "t": table},
    )
    return [name for (name,) in found.rows]


def signatures(store: EventStore, table: str) -> dict[str, Signature]:
    """Each partition of `table` now: its rows, its highest block number (grows with every
    insert into it, kept by merges) and the table's latest mutation (an ALTER DELETE)."""
    mutation = store.query(
        "SELECT max(toUInt64OrZero(extract(mutation_id, '(\\\\d+)'))) FROM system.mutations "
        "WHERE database = {d:String} AND table = {t:String}",
        {"d": store.database, "t": table},
    ).scalar()
    parts = store.query(
        "SELECT partition_id, sum(rows), max(max_block_number) FROM system.parts "
        "WHERE database = {d:String} AND table = {t:String} AND active GROUP BY partition_id",
        {"d": store.database, "t": table},
    )
    return {str(p): Signature(int(rows), int(block), int(mutation or 0)) for p, rows, block in parts.rows}


def checked_partition(table: str, partition: str) -> str:
    if not PARTITION_ID.match(partition):
        raise AdminError(f"unexpected partition id {partition!r} in {table}")
    return partition


def drop_partition(store: Any, table: str, partition: str) -> None:
    checked_partition(table, partition)
    store.command(f"ALTER TABLE {{db}}.`{table}` DROP PARTITION ID '{partition}'")


def views_of(store: Any) -> list[str]:
    found = store.query(
        "SELECT name FROM system.tables WHERE database = {d:String} AND engine = 'MaterializedView'",
        {"d": store.database},
    )
    return [name for (name,) in found.rows]


def view_statements() -> list[str]:
    return [s for m in MIGRATIONS for s in m.statements if s.lstrip().startswith("CREATE MATERIALIZED VIEW")]


def _final(engine: str) -> str:
    return "" if engine == "MergeTree" else " FINAL"


def export_partition_sql(table: str, columns: list[str]) -> str:
    quoted = ", ".join(f"`{c}`" for c in columns)
    return f"SELECT {quoted} FROM {{db}}.`{table}` WHERE _partition_id = {{p:String}}"


def partition_rows(store: Any, table: str, engine: str) -> dict[str, int]:
    """Merge-proof rows of each partition (`FINAL` for the collapsing and aggregating
    engines): the same before and after any merge, so a copy loaded elsewhere counts alike."""
    found = store.query(
        f"SELECT _partition_id, count() FROM {{db}}.`{table}`{_final(engine)} GROUP BY _partition_id"
    )
    return {str(p): int(n) for p, n in found.rows}


def export_partition(
    store: Any, table: str, engine: str, partition: str, columns: list[str], path: Path
) -> tuple[int, Signature] | None:
    """Write partition `partition` of `table` to the Native file `path`; returns its
    merge-proof row count and its signature, or None when the partition is gone (dropped by
    retention meanwhile). The partition's signature is read before the count and after the
    export: when an insert or a mutation came in between (another writer of a ClickHouse
    server), the export is made again, so the count describes the file."""
    checked_partition(table, partition)
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(EXPORT_ATTEMPTS):
        before = signatures(store, table).get(partition)
        if before is None:
            path.unlink(missing_ok=True)
            return None
        rows = int(
            store.query(
                f"SELECT count() FROM {{db}}.`{table}`{_final(engine)} WHERE _partition_id = {{p:String}}",
                {"p": partition},
            ).scalar()
            or 0
        )
        store.export_native(export_partition_sql(table, columns), path, {"p": partition})
        after = signatures(store, table).get(partition)
        if (
            before is not None
            and after is not None
            and (before.max_block, before.mutation)
            == (
                after.max_block,
                after.mutation,
            )
        ):
            return rows, after
    raise PartitionChanging(
        f"{table} {partition} kept changing while it was exported ({EXPORT_ATTEMPTS} tries); run again"
    )


COMPRESSED_SUFFIX = ".native.zst"
_CHUNK = 1 << 20


def compress(raw: Path, packed: Path, level: int = 3) -> None:
    """`raw` (a Native file) compressed with Zstandard into `packed`; `raw` is removed. Native
    files are uncompressed column data, about eight times their size in the engine's parts."""
    with raw.open("rb") as source, zstd.open(packed, "wb", level=level) as target:
        shutil.copyfileobj(source, target, _CHUNK)
    raw.unlink()


def decompress(packed: Path, raw: Path) -> None:
    try:
        with zstd.open(packed, "rb") as source, raw.open("wb") as target:
            shutil.copyfileobj(source, target, _CHUNK)
    except zstd.ZstdError as error:
        raw.unlink(missing_ok=True)
        raise AdminError(f"{packed.parent.name}/{packed.name}: not a Zstandard file ({error})") from None
