"""The event store on a ClickHouse server, through clickhouse-connect (HTTP).

Kept thin on purpose: the SQL is the same as the embedded store's, only the
transport differs. Covered by contract tests when CLICKHOUSE_TEST_URL is set.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import msgspec

from footfall.events.store import EventStoreError, QueryResult, array_header


class ClickHouseServerStore:
    def __init__(self, url: str) -> None:
        import clickhouse_connect

        parts = urlsplit(url)
        self.database = (parts.path or "/").strip("/") or "footfall"
        secure = parts.scheme == "https"
        self._lock = threading.Lock()
        port = parts.port or (8443 if secure else 8123)
        # clickhouse-connect logs its own line for a failed first request; the error raised
        # below says it in one line.
        driver_log = logging.getLogger("clickhouse_connect")
        level = driver_log.level
        driver_log.setLevel(logging.CRITICAL)
        try:
            self._client = clickhouse_connect.get_client(
                host=parts.hostname,
                port=port,
                username=unquote(parts.username or "default"),
                password=unquote(parts.password or ""),
                secure=secure,
                autogenerate_session_id=False,
            )
        except Exception as error:
            reason = _reason(error)
            raise EventStoreError(f"cannot reach ClickHouse at {parts.hostname}:{port}: {reason}") from None
        finally:
            driver_log.setLevel(level)

    def _sql(self, sql: str) -> str:
        return sql.replace("{db}", self.database)

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> QueryResult:
        try:
            with self._lock:
                result = self._client.query(self._sql(sql), parameters=dict(params or {}))
        except Exception as error:
            raise EventStoreError(str(error).strip().splitlines()[0]) from error
        return QueryResult(list(result.column_names), [tuple(r) for r in result.result_rows])

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        try:
            with self._lock:
                self._client.command(self._sql(sql), parameters=dict(params or {}))
        except Exception as error:
            raise EventStoreError(str(error).strip().splitlines()[0]) from error

    def insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        settings: Mapping[str, Any] | None = None,
    ) -> int:
        if not rows:
            return 0
        try:
            with self._lock:
                self._client.insert(
                    table, rows, column_names=list(columns), database=self.database, settings=settings
                )
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
        return self.insert(table, columns, decode_rows(data, rows), settings=settings)

    def export_native(self, sql: str, path: Path, params: Mapping[str, Any] | None = None) -> None:
        """Write what the SELECT `sql` returns to the local file `path` in the Native format,
        streamed (a partition of any size passes through in chunks)."""
        try:
            with self._lock, open(path, "wb") as out:
                stream = self._client.raw_stream(self._sql(sql), parameters=dict(params or {}), fmt="Native")
                with stream:
                    for chunk in stream:
                        out.write(chunk)
        except OSError:
            raise
        except Exception as error:
            raise EventStoreError(str(error).strip().splitlines()[0]) from error

    def load_native(self, table: str, columns: Sequence[str], path: Path) -> int:
        """Insert every row of the local Native file `path` into `table`; returns the rows
        written. Row for row: never deduplicated (a partition
        loaded again after a drop lands again), never collapsed on insert."""
        try:
            with self._lock, open(path, "rb") as data:
                summary = self._client.raw_insert(
                    f"`{self.database}`.`{table}`",
                    column_names=list(columns),
                    insert_block=data,
                    settings={"insert_deduplicate": 0, "optimize_on_insert": 0},
                    fmt="Native",
                )
        except OSError:
            raise
        except Exception as error:
            raise EventStoreError(str(error).strip().splitlines()[0]) from error
        return int(summary.written_rows)

    def ping(self) -> None:
        self.query("SELECT 1")

    def close(self) -> None:
        self._client.close()


def decode_rows(data: bytes, rows: int) -> list[list[Any]]:
    """A run of `rows` MessagePack arrays (as the write-ahead log keeps them) as lists of
    values, which clickhouse-connect encodes by the columns' types: unix seconds for
    `DateTime`, decimal strings for `Decimal`, lists for `Array`."""
    return msgspec.msgpack.decode(array_header(rows) + data)


def _reason(error: Exception) -> str:
    """The useful part of a driver error: the innermost `[Errno N] ...` when there is one
    (a refused or unresolvable connection), else the first line of the message."""
    text = str(error).strip()
    found = re.findall(r"\[Errno -?\d+\] ([^'\")]+)", text)
    if found:
        return found[-1].strip().lower()
    first = text.splitlines()[0] if text else type(error).__name__
    return first[:300]
