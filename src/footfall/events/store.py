"""One interface to the event store, whichever engine holds it.

`ChdbStore` runs ClickHouse in-process (embedded, files under DATA_DIR);
`ClickHouseServerStore` talks to a ClickHouse server; `footfall.events.connect` opens the one
the settings ask for (this module imports neither connector: they import it). Both take the same SQL,
with values always passed as bound `{name:Type}` parameters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from footfall.events.schema import MIGRATIONS, Migration


class EventStoreError(RuntimeError):
    """The event store failed; the message says what a user can do about it."""


class EventStoreLocked(EventStoreError):
    """Another process holds the embedded event store."""


@dataclass(frozen=True)
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def scalar(self) -> Any:
        return self.rows[0][0] if self.rows else None


class EventStore(Protocol):
    database: str

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> QueryResult:
        """Run a SELECT; `{db}` in `sql` is replaced by the database name."""

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run a statement that returns nothing (DDL, INSERT ... SELECT)."""

    def insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        settings: Mapping[str, Any] | None = None,
    ) -> int:
        """Insert many rows in one statement; returns the number inserted. `settings` are
        ClickHouse query settings (the write buffer passes `insert_deduplication_token`)."""

    def insert_msgpack(
        self,
        table: str,
        columns: Sequence[str],
        data: bytes,
        rows: int,
        settings: Mapping[str, Any] | None = None,
    ) -> int:
        """`insert` for `rows` rows already encoded, one after another, each a MessagePack array
        of the columns' values (times as unix seconds, decimals as text), as the write buffer
        keeps them."""

    def ping(self) -> None: ...

    def close(self) -> None: ...


def array_header(length: int) -> bytes:
    """The MessagePack header of an array of `length` items (rows for `insert_msgpack` are
    runs of arrays; prefixed with this, a run decodes as one list)."""
    if length < 16:
        return bytes((0x90 | length,))
    if length < 1 << 16:
        return b"\xdc" + length.to_bytes(2, "big")
    return b"\xdd" + length.to_bytes(4, "big")


def applied_versions(store: EventStore) -> set[int]:
    store.command(
        "CREATE TABLE IF NOT EXISTS {db}.schema_migrations "
        "(version UInt32, description String, applied_at DateTime('UTC') DEFAULT now()) "
        "ENGINE = MergeTree ORDER BY version"
    )
    result = store.query("SELECT version FROM {db}.schema_migrations")
    return {int(row[0]) for row in result.rows}


def migrate_events(store: EventStore, migrations: Sequence[Migration] = MIGRATIONS) -> list[int]:
    """Apply every migration not yet recorded; returns the versions applied now."""
    store.command("CREATE DATABASE IF NOT EXISTS {db}")
    done = applied_versions(store)
    applied = []
    for migration in migrations:
        if migration.version in done:
            continue
        for statement in migration.statements:
            store.command(statement)
        store.insert(
            "schema_migrations",
            ("version", "description"),
            [(migration.version, migration.description)],
        )
        applied.append(migration.version)
    return applied


def schema_version(store: EventStore) -> int:
    done = applied_versions(store)
    return max(done) if done else 0
