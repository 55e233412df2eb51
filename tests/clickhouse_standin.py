"""A stand-in for a ClickHouse server's HTTP interface, for tests: chDB behind a test HTTP layer.

This is NOT a ClickHouse server. No ClickHouse server can be installed on the development
machines, so the tests of `ClickHouseServerStore` (clickhouse-connect over HTTP) run against
this: a small HTTP server in a process of its own that executes every statement it is sent
on one chDB session (the ClickHouse engine itself, the same version footfall embeds), and
answers in the shape of ClickHouse's HTTP interface. What is real: the SQL, its parsing,
bound `{name:Type}` parameters (passed to the engine as the same escaped text), settings,
the Native format both ways, errors and their codes. What is this file's own: the transport.

The subset of the HTTP interface clickhouse-connect uses, and that this layer speaks:
* `GET /ping` and `GET /` answer `Ok.`;
* `POST /` (or `GET /`) with the SQL in the `query` URL parameter and/or the body (joined
  with a newline), or in a `multipart/form-data` field `query` (the client's form encoding of
  long parameters); `param_<name>` values bound to `{name:Type}`; `database`; `query_id`;
  every other parameter is a ClickHouse setting, applied with SET for that request only;
* `INSERT ... FORMAT <fmt>` whose data is the body (or follows the statement in the body),
  plain or chunked, with `Content-Encoding` lz4 (frame), zstd, gzip or deflate: the data is
  written to a file and inserted with `INSERT ... FROM INFILE`, so the engine parses it;
* the answer in the query's `FORMAT` (TabSeparated by default), with the headers the client
  reads: `X-ClickHouse-Summary` (read and written rows), `X-ClickHouse-Query-Id`,
  `X-ClickHouse-Format`, `X-ClickHouse-Timezone`; an error is HTTP 500 with
  `X-ClickHouse-Exception-Code` and ClickHouse's own `Code: N. DB::Exception: ...` text;
* HTTP basic authentication as `default` with an empty password (else code 516).
Not spoken (a request that needs one is refused, or has no effect): sessions (`session_id`),
external data tables, compressed responses (`enable_http_compression` is accepted and the
answer sent plain, which the client reads the same), the client protocol version's block
info (the client's probe falls back to version 0, as behind a proxy that strips it),
progress headers, `ON CLUSTER`, replication, users and grants, concurrency (statements run
one at a time).

Run: `python -m tests.clickhouse_standin DATA_PATH`; it prints `listening on
http://127.0.0.1:PORT` and serves until its stdin closes. `StandIn` does that for a test.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import gzip
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

# Parameters the HTTP interface itself reads: never settings.
HTTP_PARAMETERS = {
    "query",
    "database",
    "default_format",
    "query_id",
    "user",
    "password",
    "quota_key",
    "buffer_size",
    "wait_end_of_query",
    "compress",
    "decompress",
    "client_protocol_version",
    "role",
    "session_timeout",
    "session_check",
    "enable_http_compression",
    "send_progress_in_http_headers",
    "http_headers_progress_interval_ms",
    "http_zlib_compression_level",
}
_INSERT_WITH_DATA = re.compile(r"^\s*(INSERT\s+INTO\s+.*?)\s+FORMAT\s+(\w+)\s*$", re.IGNORECASE | re.DOTALL)
_INSERT_HEAD = re.compile(rb"^\s*(INSERT\s+INTO\s+.*?\s+FORMAT\s+\w+)[ \t]*\r?\n", re.IGNORECASE | re.DOTALL)
_FORMAT = re.compile(r"\bFORMAT\s+(\w+)\s*;?\s*$", re.IGNORECASE)
_CODE = re.compile(r"Code: (\d+)\.")
_CONTENT_TYPES = {
    "TabSeparated": "text/tab-separated-values; charset=UTF-8",
    "TSV": "text/tab-separated-values; charset=UTF-8",
    "JSON": "application/json; charset=UTF-8",
    "JSONCompact": "application/json; charset=UTF-8",
    "CSV": "text/csv; charset=UTF-8",
}


class QueryError(Exception):
    def __init__(self, code: int, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Engine:
    """One chDB session; statements one at a time, each with its request's settings."""

    def __init__(self, path: Path) -> None:
        from chdb import session as chdb_session

        self._session = chdb_session.Session(str(path))
        self._lock = threading.Lock()
        self._session.query("CREATE DATABASE IF NOT EXISTS default")
        self._session.query("USE default")
        self._database = "default"
        defaults = json.loads(
            self._session.query("SELECT name, value FROM system.settings", "JSONCompact").bytes()
        )
        self._defaults = {name: value for name, value in defaults["data"]}
        self._applied: dict[str, str] = {}
        self.timezone = self._session.query("SELECT timezone()", "TabSeparated").bytes().decode().strip()
        self.version = self._session.query("SELECT version()", "TabSeparated").bytes().decode().strip()

    def _run(self, sql: str, fmt: str, params: dict[str, str] | None = None) -> Any:
        try:
            return self._session.query(sql, fmt, params=params or {})
        except Exception as error:  # chDB raises its own error types with ClickHouse's message
            message = str(error).strip()
            found = _CODE.search(message)
            raise QueryError(int(found.group(1)) if found else 1001, message) from None

    def _prepare(self, database: str, settings: dict[str, str]) -> None:
        for name in [n for n in self._applied if n not in settings]:
            self._run(f"SET {name} = {_quote(self._defaults.get(name, ''))}", "TabSeparated")
            del self._applied[name]
        for name, value in settings.items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
                raise QueryError(
                    115, f"Code: 115. DB::Exception: Unknown setting '{name}'. (UNKNOWN_SETTING)"
                )
            if self._applied.get(name) != value:
                self._run(f"SET {name} = {_quote(value)}", "TabSeparated")
                self._applied[name] = value
        if database != self._database:
            self._run(f"USE `{database}`", "TabSeparated")
            self._database = database

    def execute(
        self, sql: str, fmt: str, params: dict[str, str], settings: dict[str, str], database: str
    ) -> tuple[bytes, dict[str, int]]:
        with self._lock:
            self._prepare(database, settings)
            started = time.monotonic_ns()
            result = self._run(sql, fmt, params)
            body = result.bytes() if result is not None else b""
            return body, {
                "read_rows": int(result.rows_read()) if result is not None else 0,
                "read_bytes": int(result.bytes_read()) if result is not None else 0,
                "written_rows": int(result.rows_written()) if result is not None else 0,
                "written_bytes": int(result.bytes_written()) if result is not None else 0,
                "elapsed_ns": time.monotonic_ns() - started,
            }

    def insert(
        self, head: str, fmt: str, data: bytes, settings: dict[str, str], database: str
    ) -> tuple[bytes, dict[str, int]]:
        """`head FORMAT fmt` with `data` as its data: through a file the engine reads."""
        with tempfile.NamedTemporaryFile(prefix="standin-", suffix=f".{fmt.lower()}", delete=False) as file:
            file.write(data)
        try:
            with self._lock:
                self._prepare(database, settings)
                started = time.monotonic_ns()
                rows = self._run(
                    f"SELECT count() FROM file({_quote(file.name)}, {_quote(fmt)})", "TabSeparated"
                )
                written = int(rows.bytes().decode().strip() or 0)
                self._run(f"{head} FROM INFILE {_quote(file.name)} FORMAT {fmt}", "TabSeparated")
                return b"", {
                    "read_rows": written,
                    "read_bytes": len(data),
                    "written_rows": written,
                    "written_bytes": len(data),
                    "elapsed_ns": time.monotonic_ns() - started,
                }
        finally:
            os.unlink(file.name)

    def close(self) -> None:
        with self._lock:
            self._session.close()


def _decompressed(data: bytes, encoding: str | None) -> bytes:
    encoding = (encoding or "").strip().lower()
    if not encoding or encoding == "identity":
        return data
    if encoding == "lz4":
        import lz4.frame

        return lz4.frame.decompress(data)
    if encoding == "zstd":
        if sys.version_info >= (3, 14):
            from compression import zstd
        else:
            from backports import zstd
        return zstd.decompress(data)
    if encoding == "gzip":
        return gzip.decompress(data)
    if encoding == "deflate":
        return zlib.decompress(data)
    raise QueryError(
        1001, f"Code: 1001. DB::Exception: the test stand-in does not read Content-Encoding {encoding}", 415
    )


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    engine: Engine

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _handle(self) -> None:
        url = urlsplit(self.path)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        query_id = params.get("query_id") or str(uuid.uuid4())
        common = {"X-ClickHouse-Query-Id": query_id, "X-ClickHouse-Timezone": self.engine.timezone}
        try:
            body = self._body()
            if url.path == "/ping" or (url.path == "/" and self.command == "GET" and "query" not in params):
                self._reply(200, b"Ok.\n", {"Content-Type": "text/html; charset=UTF-8"})
                return
            if url.path != "/":
                raise QueryError(1001, f"Code: 1001. DB::Exception: the test stand-in has no {url.path}", 404)
            self._authenticate()
            content_type = self.headers.get("Content-Type", "")
            if content_type.startswith("multipart/form-data"):
                params.update(self._form(content_type, body))
                body = b""
            else:
                body = _decompressed(body, self.headers.get("Content-Encoding"))
            answer, summary, fmt = self._run(params, body)
        except QueryError as error:
            text = str(error)
            if not text.startswith("Code:"):
                text = f"Code: {error.code}. DB::Exception: {text}"
            headers = {
                **common,
                "Content-Type": "text/plain; charset=UTF-8",
                "X-ClickHouse-Exception-Code": str(error.code),
            }
            self._reply(error.status, (text + f" (version {self.engine.version})\n").encode(), headers)
            return
        headers = {
            **common,
            "Content-Type": _CONTENT_TYPES.get(fmt, "application/octet-stream"),
            "X-ClickHouse-Format": fmt,
            "X-ClickHouse-Summary": json.dumps(
                {
                    **{k: str(v) for k, v in summary.items()},
                    "total_rows_to_read": "0",
                    "result_rows": "0",
                    "result_bytes": str(len(answer)),
                }
            ),
        }
        self._reply(200, answer, headers)

    def _authenticate(self) -> None:
        user, password = "default", ""
        header = self.headers.get("Authorization", "")
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        user = self.headers.get("X-ClickHouse-User", user)
        if user != "default" or password:
            raise QueryError(
                516,
                f"Code: 516. DB::Exception: {user}: Authentication failed: password is incorrect, or "
                "there is no user with such name. (AUTHENTICATION_FAILED)",
                401,
            )

    def _form(self, content_type: str, body: bytes) -> dict[str, str]:
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
        )
        fields = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if part.get_filename():
                raise QueryError(1001, "Code: 1001. DB::Exception: the test stand-in takes no external data")
            fields[str(name)] = part.get_payload(decode=True).decode()
        return fields

    def _run(self, params: dict[str, str], body: bytes) -> tuple[bytes, dict[str, int], str]:
        database = params.get("database") or "default"
        binds = {k[len("param_") :]: v for k, v in params.items() if k.startswith("param_")}
        settings = {
            k: v for k, v in params.items() if k not in HTTP_PARAMETERS and not k.startswith("param_")
        }
        if "session_id" in settings:
            raise QueryError(1001, "Code: 1001. DB::Exception: the test stand-in has no sessions")
        query = params.get("query", "")
        data: bytes | None = None
        if query and body and _INSERT_WITH_DATA.match(query):
            data = body
        elif query and body:
            query = query + "\n" + body.decode()
        elif body:
            head = _INSERT_HEAD.match(body)
            if head:
                query, data = head.group(1).decode(), body[head.end() :]
            else:
                query = body.decode()
        if not query.strip():
            raise QueryError(62, "Code: 62. DB::Exception: Empty query. (SYNTAX_ERROR)", 400)
        insert = _INSERT_WITH_DATA.match(query) if data is not None else None
        if insert:
            answer, summary = self.engine.insert(
                insert.group(1), insert.group(2), data or b"", settings, database
            )
            return answer, summary, insert.group(2)
        fmt_match = _FORMAT.search(query)
        fmt = fmt_match.group(1) if fmt_match else params.get("default_format", "TabSeparated")
        answer, summary = self.engine.execute(query, fmt, binds, settings, database)
        return answer, summary, fmt


def serve(path: Path) -> None:
    engine = Engine(path)
    Handler.engine = engine
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    sys.stdin.read()  # until the parent closes our stdin (or dies)
    server.shutdown()
    engine.close()


class StandIn:
    """The stand-in in a child process on `path`: `url` is its address (`/database` to add)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.clickhouse_standin", str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=Path(__file__).resolve().parent.parent,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("listening on "):
            self.process.kill()
            raise RuntimeError(f"the ClickHouse stand-in did not start: {line!r}")
        self.url = "http://default:@" + line.split("http://", 1)[1].strip()

    def stop(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


if __name__ == "__main__":
    serve(Path(sys.argv[1]))
