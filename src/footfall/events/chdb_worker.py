"""An embedded event store opened in a process of its own, driven over a pipe.

chDB opens one data path per process, so a process that already holds one (the running
server's store, during `footfall migrate-store --to-data-dir`) reaches a second path through
this worker: `ChdbWorkerStore(path)` starts `python -m footfall.events.chdb_worker PATH`,
which opens `ChdbStore(PATH)` and answers one JSON line per request on a private copy of its
stdout (chDB's own output goes to stderr). The worker ends when its stdin closes, so a
killed parent never leaves it holding the path.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from footfall.events.store import EventStoreError, EventStoreLocked, QueryResult


class ChdbWorkerStore:
    """The EventStore interface (plus `load_native`) on chDB at `path`, in a child process."""

    single_writer = True

    def __init__(self, path: Path, database: str = "footfall") -> None:
        self.path = Path(path)
        self.database = database
        self._lock = threading.Lock()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "footfall.events.chdb_worker", str(self.path), database],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self._call({"op": "ping"})

    def _call(self, request: dict[str, Any]) -> Any:
        with self._lock:
            process = self._process
            assert process.stdin is not None and process.stdout is not None
            try:
                process.stdin.write(json.dumps(request, default=str).encode() + b"\n")
                process.stdin.flush()
                line = process.stdout.readline()
            except (BrokenPipeError, OSError):
                line = b""
            if not line:
                code = process.wait(timeout=30)
                raise EventStoreError(
                    f"the worker holding the embedded event store {self.path} ended (exit {code})"
                )
        answer = json.loads(line)
        if "locked" in answer:
            raise EventStoreLocked(answer["locked"])
        if "error" in answer:
            raise EventStoreError(answer["error"])
        return answer.get("result")

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> QueryResult:
        result = self._call({"op": "query", "sql": sql, "params": dict(params or {})})
        return QueryResult(result["columns"], [tuple(row) for row in result["rows"]])

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._call({"op": "command", "sql": sql, "params": dict(params or {})})

    def insert(
        self,
        table: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        settings: Mapping[str, Any] | None = None,
    ) -> int:
        return int(
            self._call(
                {
                    "op": "insert",
                    "table": table,
                    "columns": list(columns),
                    "rows": [list(r) for r in rows],
                    "settings": dict(settings or {}),
                }
            )
        )

    def load_native(self, table: str, columns: Sequence[str], path: Path) -> int:
        return int(
            self._call({"op": "load_native", "table": table, "columns": list(columns), "path": str(path)})
        )

    def ping(self) -> None:
        self._call({"op": "ping"})

    def close(self) -> None:
        process = self._process
        if process.poll() is None:
            assert process.stdin is not None
            with contextlib.suppress(OSError):
                process.stdin.close()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _serve(path: Path, database: str, answers: Any) -> int:
    from footfall.events.chdb_store import ChdbStore

    def send(message: dict[str, Any]) -> None:
        answers.write(json.dumps(message, default=str).encode() + b"\n")
        answers.flush()

    try:
        store = ChdbStore(path, database=database)
    except EventStoreLocked as error:
        send({"locked": str(error)})
        return 1
    except EventStoreError as error:
        send({"error": str(error)})
        return 1
    try:
        for line in sys.stdin.buffer:
            if not line.strip():
                continue
            request = json.loads(line)
            op = request.get("op")
            try:
                if op == "ping":
                    store.ping()
                    send({"result": None})
                elif op == "query":
                    result = store.query(request["sql"], request.get("params"))
                    send({"result": {"columns": result.columns, "rows": result.rows}})
                elif op == "command":
                    store.command(request["sql"], request.get("params"))
                    send({"result": None})
                elif op == "insert":
                    rows = [tuple(r) for r in request["rows"]]
                    send(
                        {
                            "result": store.insert(
                                request["table"], request["columns"], rows, request.get("settings")
                            )
                        }
                    )
                elif op == "load_native":
                    send(
                        {
                            "result": store.load_native(
                                request["table"], request["columns"], Path(request["path"])
                            )
                        }
                    )
                else:
                    send({"error": f"unknown request {op!r}"})
            except EventStoreError as error:
                send({"error": str(error)})
    finally:
        store.close()
    return 0


def main() -> int:
    path, database = Path(sys.argv[1]), sys.argv[2]
    # The answers go to a private copy of stdout; fd 1 becomes stderr, so nothing chDB prints
    # can be taken for an answer.
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    return _serve(path, database, answers)


if __name__ == "__main__":
    sys.exit(main())
