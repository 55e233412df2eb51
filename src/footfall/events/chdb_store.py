"""The embedded event store: ClickHouse in-process through chDB, files under DATA_DIR.

Only one process can open a chDB data path, and one chDB session must not run
two statements at once (bound parameters are session state), so every call
takes a lock. A running query releases the interpreter lock, so the event loop
keeps serving while a query or a flush runs in a worker thread.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from footfall.events.store import EventStoreError, EventStoreLocked, QueryResult

DEFAULT_DATABASE = "footfall"


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """chDB prints its own start-up errors on fd 2; we report them in one line instead."""
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _arrow_type(clickhouse_type: str) -> pa.DataType:
    """The Arrow type to hand chDB for a column of the given ClickHouse type."""
    t = clickhouse_type
    if t.startswith("LowCardinality("):
        t = t[len("LowCardinality(") : -1]
    if t.startswith("Nullable("):
        t = t[len("Nullable(") : -1]
    if t.startswith("Array("):
        return pa.list_(_arrow_type(t[len("Array(") : -1]))
    if t.startswith("DateTime64"):
        return pa.timestamp("ms", tz="UTC")
    if t.startswith("DateTime"):
        return pa.timestamp("s", tz="UTC")
    if t == "Date":
        return pa.date32()
    if t.startswith("Decimal"):
        inner = t[t.index("(") + 1 : -1].split(",")
        return pa.decimal128(int(inner[0]), int(inner[1]))
    simple = {
        "UInt8": pa.uint8(),
        "UInt16": pa.uint16(),
        "UInt32": pa.uint32(),
        "UInt64": pa.uint64(),
        "Int8": pa.int8(),
        "Int16": pa.int16(),
        "Int32": pa.int32(),
        "Int64": pa.int64(),
        "Float32": pa.float32(),
        "Float64": pa.float64(),
        "Bool": pa.bool_(),
    }
    return simple.get(t, pa.string())


def _msgpack_type(clickhouse_type: str) -> str:
    """How a value of a column of this type is written in a MessagePack row: times as unix
    seconds, decimals as text, low-cardinality strings as strings (the INSERT casts back)."""
    t = clickhouse_type
    if t.startswith("LowCardinality("):
        t = t[len("LowCardinality(") : -1]
    if t.startswith("Nullable("):
        return f"Nullable({_msgpack_type(t[len('Nullable(') : -1])})"
    if t.startswith("DateTime") and not t.startswith("DateTime64"):
        return "UInt32"
    if t.startswith("Decimal"):
        return "String"
    if t.startswith("Array("):
        return f"Array({_msgpack_type(t[len('Array(') : -1])})"
    return t


ARROW_CHUNK_ROWS = 2_048


def _column(values: Sequence[Any], arrow_type: pa.DataType) -> pa.Array:
    # Fast paths for what the write buffer sends (unix seconds, decimals as text): one C
    # call instead of a Python loop, so a flush holds the interpreter lock for less time.
    if pa.types.is_timestamp(arrow_type):
        if values and type(values[0]) is int:
            with contextlib.suppress(pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
                return pa.array(values, type=pa.int64()).cast(arrow_type)
        values = [_as_utc(v) for v in values]
    elif pa.types.is_decimal(arrow_type):
        with contextlib.suppress(pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):
            return pa.array(values, type=pa.string()).cast(arrow_type)
        values = [None if v is None else Decimal(str(v)) for v in values]
    return pa.array(values, type=arrow_type)


def _as_utc(value: Any) -> Any:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return value


def _quote(path: Path | str) -> str:
    return "'" + str(path).replace("\\", "\\\\").replace("'", "\\'") + "'"


def _identity(value: Any) -> Any:
    return value


def _converter(clickhouse_type: str) -> Callable[[Any], Any]:
    """Turns a JSONCompact value of the given type into the Python value
    clickhouse-connect would return (naive datetimes, Decimal, int)."""
    t = clickhouse_type
    if t.startswith("LowCardinality("):
        t = t[len("LowCardinality(") : -1]
    if t.startswith("Nullable("):
        inner = _converter(t[len("Nullable(") : -1])
        return lambda v: None if v is None else inner(v)
    if t.startswith("Array("):
        item = _converter(t[len("Array(") : -1])
        if item is _identity:
            return _identity
        return lambda v: [item(x) for x in v]
    if t.startswith("DateTime64"):
        return lambda v: datetime.fromisoformat(v)
    if t.startswith("DateTime"):
        return lambda v: datetime.strptime(v, "%Y-%m-%d %H:%M:%S")
    if t in ("Date", "Date32"):
        return lambda v: date.fromisoformat(v)
    if t.startswith("Decimal"):
        return lambda v: Decimal(str(v))
    if t in ("Int64", "UInt64", "Int128", "UInt128", "Int256", "UInt256"):
        return int
    if t.startswith("Float"):
        return lambda v: float(v) if isinstance(v, str) else v
    return _identity


def _settings_clause(settings: Mapping[str, Any] | None) -> tuple[str, dict[str, str]]:
    """An INSERT's ` SETTINGS a = {s_a:String}, ...` and the parameters it names."""
    if not settings:
        return "", {}
    clause = " SETTINGS " + ", ".join(f"{name} = {{s_{name}:String}}" for name in settings)
    return clause, {f"s_{name}": str(value) for name, value in settings.items()}


class ChdbStore:
    """EventStore on chDB. `path` is the data directory it owns."""

    # Only this process writes to it (the data directory is locked), so what it writes is all
    # there is: caches of small tables may be invalidated locally (footfall.stats.daily).
    single_writer = True

    def __init__(self, path: Path, database: str = DEFAULT_DATABASE) -> None:
        from chdb import session as chdb_session

        self.path = Path(path)
        self.database = database
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._column_types: dict[str, dict[str, pa.DataType]] = {}
        self._structures: dict[tuple[str, tuple[str, ...]], str] = {}
        # Batches for insert_msgpack are written here for the moment of their insert.
        self._inserts = self.path.parent / f".{self.path.name}-inserts"
        self._insert_numbers = itertools.count()
        try:
            with _quiet_stderr():
                # BACKUP ... TO File(...) needs `backups.allowed_path` in the engine's
                # configuration: any path, because `footfall backup create --to` may name any
                # directory (only footfall's own statements reach this engine).
                self._session = chdb_session.Session(f"{self.path}?backups.allowed_path=/")
        except Exception as error:
            if "EmbeddedServer" in str(error) or "lock" in str(error).lower():
                raise EventStoreLocked(
                    f"the embedded event store {self.path} is open in another footfall process "
                    "(is `footfall serve` running?); stop that process first, or run this "
                    "command through it"
                ) from None
            raise EventStoreError(f"cannot open the embedded event store {self.path}: {error}") from None
        # Batch files a crashed process left behind (their rows are still in the write-ahead
        # log, which replays them); no other process can be inserting: the path is ours.
        for leftover in self._inserts.glob("*.msgpack"):
            leftover.unlink(missing_ok=True)

    def scoped(self, database: str) -> ChdbStore:
        """The same engine and lock, another database (tests use one per test)."""
        view = copy.copy(self)
        view.database = database
        view._column_types = {}
        return view

    def _sql(self, sql: str) -> str:
        return sql.replace("{db}", self.database)

    def _run(self, sql: str, fmt: str, params: Mapping[str, Any] | None) -> Any:
        try:
            with self._lock:
                return self._session.query(self._sql(sql), fmt, params=dict(params or {}))
        except Exception as error:
            raise EventStoreError(str(error).strip().splitlines()[0]) from error

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> QueryResult:
        data = self._run(sql, "JSONCompact", params).bytes()
        if not data:
            return QueryResult([], [])
        document = orjson.loads(data)
        meta = document["meta"]
        converters = [_converter(column["type"]) for column in meta]
        rows = [
            tuple(convert(value) for convert, value in zip(converters, row, strict=True))
            for row in document["data"]
        ]
        return QueryResult([column["name"] for column in meta], rows)

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._run(sql, "CSV", params)

    def _types(self, table: str) -> dict[str, pa.DataType]:
        if table not in self._column_types:
            result = self.query(
                "SELECT name, type FROM system.columns WHERE database = {d:String} AND table = {t:String}",
                {"d": self.database, "t": table},
            )
            if not result.rows:
                raise EventStoreError(f"no table {self.database}.{table}; run `footfall migrate`")
            self._column_types[table] = {name: _arrow_type(kind) for name, kind in result.rows}
        return self._column_types[table]

    def insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        settings: Mapping[str, Any] | None = None,
    ) -> int:
        if not rows:
            return 0
        types = self._types(table)
        arrow_types = [types[name] for name in columns]
        names = list(columns)
        # Converted ARROW_CHUNK_ROWS rows at a time: each conversion is one C call that holds
        # the interpreter lock, and the web loop waits for it (a 50,000-row batch in one
        # piece held it for tens of milliseconds).
        chunks = []
        for start in range(0, len(rows), ARROW_CHUNK_ROWS):
            by_column = zip(*rows[start : start + ARROW_CHUNK_ROWS], strict=True)
            arrays = [_column(values, kind) for values, kind in zip(by_column, arrow_types, strict=True)]
            chunks.append(pa.record_batch(arrays, names=names))
        # chDB's Python() table function finds `batch` in this frame by name.
        batch = pa.Table.from_batches(chunks)  # noqa: F841
        quoted = ", ".join(f"`{name}`" for name in columns)
        setting_sql, setting_params = _settings_clause(settings)
        sql = (
            f"INSERT INTO {self.database}.{table} ({quoted}){setting_sql} SELECT {quoted} FROM Python(batch)"
        )
        try:
            with self._lock:
                self._session.query(sql, params=setting_params)
        except Exception as error:
            raise EventStoreError(str(error).strip().splitlines()[0]) from error
        return len(rows)

    def insert_msgpack(
        self,
        table: str,
        columns: Sequence[str],
        data: bytes,
        rows: int,
        settings: Mapping[str, Any] | None = None,
    ) -> int:
        """The rows go to the engine as they are: written to a file, which `file(..., 'MsgPack')`
        reads as one `Tuple` per row (a row is a MessagePack array) and the INSERT casts to the
        columns' types. Parsing happens in the engine, with the interpreter lock released."""
        if not rows:
            return 0
        structure = self._msgpack_structure(table, tuple(columns))
        quoted = ", ".join(f"`{name}`" for name in columns)
        elements = ", ".join(f"r.{i}" for i in range(1, len(columns) + 1))
        setting_sql, setting_params = _settings_clause(settings)
        self._inserts.mkdir(exist_ok=True)
        path = self._inserts / f"{os.getpid()}-{threading.get_ident()}-{next(self._insert_numbers)}.msgpack"
        literal = str(path).replace("\\", "\\\\").replace("'", "\\'")
        sql = (
            f"INSERT INTO {self.database}.{table} ({quoted}){setting_sql} "
            f"SELECT {elements} FROM file('{literal}', 'MsgPack', 'r Tuple({structure})')"
        )
        try:
            with open(path, "wb") as batch:
                batch.write(data)
            with self._lock:
                self._session.query(sql, params=setting_params)
        except Exception as error:
            raise EventStoreError(str(error).strip().splitlines()[0]) from error
        finally:
            path.unlink(missing_ok=True)
        return rows

    def _msgpack_structure(self, table: str, columns: tuple[str, ...]) -> str:
        """The tuple element types a MessagePack row of `columns` is read as."""
        key = (table, columns)
        if key not in self._structures:
            result = self.query(
                "SELECT name, type FROM system.columns WHERE database = {d:String} AND table = {t:String}",
                {"d": self.database, "t": table},
            )
            types = dict(result.rows)
            missing = [name for name in columns if name not in types]
            if missing:
                where = f"{self.database}.{table}"
                raise EventStoreError(f"no column {missing[0]} in {where}; run `footfall migrate`")
            self._structures[key] = ", ".join(_msgpack_type(types[name]) for name in columns)
        return self._structures[key]

    def export_native(self, sql: str, path: Path, params: Mapping[str, Any] | None = None) -> None:
        """Write what the SELECT `sql` returns to the new file `path`, in ClickHouse's Native
        format (columns with their types; aggregate states as they are)."""
        Path(path).unlink(missing_ok=True)
        self.command(f"INSERT INTO FUNCTION file({_quote(path)}, 'Native') {sql}", params)

    def load_native(self, table: str, columns: Sequence[str], path: Path) -> int:
        """Insert every row of the Native file `path` (as `export_native` writes it) into
        `table`; returns the rows the file held. Row for row: never deduplicated (a file
        loaded again after its partition was dropped must land again) and not collapsed on
        insert (`optimize_on_insert`), so the table holds what the file holds."""
        quoted = ", ".join(f"`{name}`" for name in columns)
        rows = int(self.query(f"SELECT count() FROM file({_quote(path)}, 'Native')").scalar() or 0)
        self.command(
            f"INSERT INTO {{db}}.`{table}` ({quoted}) "
            "SETTINGS insert_deduplicate = 0, optimize_on_insert = 0 "
            f"SELECT {quoted} FROM file({_quote(path)}, 'Native')"
        )
        return rows

    def run_together(self, statements: Sequence[str]) -> list[QueryResult]:
        """Run `statements` one after another with nothing else in between (no flush, no
        other query of this process): a consistent view for a backup's counts and its BACKUP.
        Each answers as `query` does."""
        results = []
        try:
            with self._lock:
                for sql in statements:
                    data = self._session.query(self._sql(sql), "JSONCompact").bytes()
                    if not data:
                        results.append(QueryResult([], []))
                        continue
                    document = orjson.loads(data)
                    results.append(
                        QueryResult(
                            [c["name"] for c in document["meta"]], [tuple(r) for r in document["data"]]
                        )
                    )
        except Exception as error:
            raise EventStoreError(str(error).strip().splitlines()[0]) from error
        return results

    def ping(self) -> None:
        self._run("SELECT 1", "CSV", None)

    def close(self) -> None:
        with self._lock:
            self._session.close()
