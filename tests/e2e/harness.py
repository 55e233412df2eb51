"""What the browser and proxy tests drive: a real `footfall serve`, a web server for test
pages, and a reader of the event store.

The embedded event store (chDB) belongs to one process at a time, so rows are read the
way an operator would: stop the server (it flushes its buffer on shutdown), read the
store from a separate process (the test process may already hold its own chDB session,
and chDB allows one per process), and start the server again when the next test needs it.
Nothing waits on a fixed sleep: the tests first wait until the browser has seen the
server's answer to every event they expect, then read.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

FOOTFALL = str(Path(sys.executable).parent / "footfall")
ACCEPTED_EVENT = re.compile(r'"POST /api/event(?:\?[^ ]*)? HTTP/1\.1" 202')
STORE_READER = Path(__file__).with_name("store_reader.py")
# Environment variables of the developer's shell that must not leak into a test server.
_FOREIGN = ("DATABASE_URL", "CLICKHOUSE_DATABASE_URL", "REDIS_URL", "BASE_URL", "TRUSTED_PROXIES")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition: Callable[[], Any], what: str, timeout: float = 20.0, interval: float = 0.05) -> Any:
    """Polls `condition` until it returns something truthy; fails naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


@dataclass(frozen=True)
class StoredEvent:
    """One row of the `events` table, with its site's domain instead of the site id."""

    site: str
    name: str
    hostname: str
    pathname: str
    props: dict[str, str]
    user_id: int
    country_code: str
    revenue_amount: str | None
    revenue_currency: str
    interactive: int
    scroll_depth: int
    engagement_time: int
    referrer_source: str

    @property
    def key(self) -> tuple[str, str, str, tuple[tuple[str, str], ...]]:
        """What most tests compare: name, hostname, pathname and props."""
        return (self.name, self.hostname, self.pathname, tuple(sorted(self.props.items())))


class FootfallServer:
    """`footfall serve` in a subprocess with its own DATA_DIR and port, started on demand."""

    def __init__(self, data_dir: Path, *, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if k not in _FOREIGN}
        self.env.update(
            DATA_DIR=str(data_dir),
            HTTP_PORT=str(self.port),
            BASE_URL=self.url,
            # Events wait at most this long in the buffer before they are written.
            FLUSH_INTERVAL_MS="50",
            WAL_SYNC="none",
            # debug turns on the access log: each answered event is a line the tests count.
            LOG_LEVEL="debug",
        )
        self.env.update(env or {})
        self.log_path = data_dir.parent / f"footfall-{self.port}.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._cached_rows: list[StoredEvent] | None = None

    def cli(self, *args: str) -> str:
        """Runs a `footfall` command against this server's data; metadata commands work while it runs."""
        result = subprocess.run(
            [FOOTFALL, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            raise AssertionError(f"footfall {' '.join(args)} failed: {result.stderr.strip()}")
        return result.stdout

    def create_sites(self, *domains: str) -> None:
        for domain in domains:
            self.cli("site", "create", domain)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        if self.running:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            [FOOTFALL, "serve"], env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
        log.close()
        self._cached_rows = None

        def healthy() -> bool:
            if self._process is not None and self._process.poll() is not None:
                raise AssertionError(f"footfall serve exited at start:\n{self.log()}")
            try:
                return httpx.get(f"{self.url}/api/health", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(healthy, "footfall serve to answer /api/health", timeout=60, interval=0.1)

    def stop(self) -> None:
        """Stops the server gracefully, so that it flushes what it has buffered."""
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
                raise AssertionError(f"footfall serve did not stop on SIGTERM:\n{self.log()}") from None
        self._process = None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def acknowledged(self) -> int:
        """How many events this server has answered 202, from its access log (all runs).

        The browser cannot tell: an event sent as a page navigates away (keepalive)
        reaches the server, but the old page reports the request as aborted."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return 0
        return len(ACCEPTED_EVENT.findall(text))

    def wait_acknowledged(self, count: int, timeout: float = 20.0) -> None:
        """Waits until the server has answered `count` events in all, 202 each."""
        try:
            wait_until(
                lambda: self.acknowledged() >= count, f"footfall to acknowledge {count} events", timeout
            )
        except AssertionError as error:
            raise AssertionError(f"{error} (got {self.acknowledged()}); server log:\n{self.log()}") from None

    def has_route(self, method: str, path: str) -> bool:
        """Whether the running server has a handler for `path` (a 404 or 405 means no)."""
        self.start()
        response = httpx.request(method, f"{self.url}{path}", timeout=5, content=b"")
        return response.status_code not in (404, 405)

    def rows(self) -> list[StoredEvent]:
        """Every stored event. Stops the server to read; the next `start()` brings it back."""
        if self._cached_rows is None or self.running:
            self.stop()
            result = subprocess.run(
                [sys.executable, str(STORE_READER), str(self.data_dir)],
                env=self.env,
                capture_output=True,
                text=True,
                timeout=120,
                stdin=subprocess.DEVNULL,
            )
            if result.returncode != 0:
                raise AssertionError(f"reading the event store failed: {result.stderr.strip()}")
            self._cached_rows = [StoredEvent(**row) for row in json.loads(result.stdout)]
        return self._cached_rows

    def rows_of(
        self, hostname: str, site: str | None = None, *, engagement: bool = False
    ) -> list[StoredEvent]:
        """The stored events of pages on `hostname` (each test uses its own host name),
        of one site if given; `engagement` rows only when asked for."""
        return [
            row
            for row in self.rows()
            if row.hostname == hostname
            and (site is None or row.site == site)
            and (engagement or row.name != "engagement")
        ]


@dataclass
class Page:
    body: bytes
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


class PageServer:
    """Serves test pages on 127.0.0.1 for any host name (the browser maps `*.test` here).

    Pages are registered by path; the same path answers for every host, so a test uses
    its own host name (`spa.test`) and its own paths. Every request is logged, so a test
    can wait for a navigation to land."""

    def __init__(self) -> None:
        self.pages: dict[str, Page] = {}
        self.requests: list[tuple[str, str, str]] = []  # (method, host, path with query)
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                with server._lock:
                    server.requests.append((self.command, self.headers.get("Host", ""), self.path))
                page = server.pages.get(urlsplit(self.path).path)
                if page is None:
                    page = Page(b"<!doctype html><title>not found</title>", headers={"X-Status": "404"})
                status = int(page.headers.get("X-Status", "200"))
                self.send_response(status)
                self.send_header("Content-Type", page.content_type)
                self.send_header("Content-Length", str(len(page.body)))
                self.send_header("Cache-Control", "no-store")
                for name, value in page.headers.items():
                    if name != "X-Status":
                        self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(page.body)

            do_GET = do_POST = do_HEAD = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def url(self, host: str, path: str = "/") -> str:
        return f"http://{host}:{self.port}{path}"

    def add(
        self, path: str, body: str | bytes, content_type: str = "text/html; charset=utf-8", **headers: str
    ) -> None:
        self.pages[path] = Page(body.encode() if isinstance(body, str) else body, content_type, headers)

    def requested(self, host: str, path: str) -> bool:
        with self._lock:
            return any(h.split(":")[0] == host and p == path for _, h, p in self.requests)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def html(*, head: str = "", body: str = "", title: str = "footfall e2e") -> str:
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>{title}</title>{head}</head>"
        f"<body>{body}</body></html>"
    )


def sorted_keys(rows: Iterable[StoredEvent]) -> list[tuple[str, str, str, tuple[tuple[str, str], ...]]]:
    return sorted(row.key for row in rows)


def with_callback(page: Any, call: str, timeout_ms: int = 10_000) -> Any:
    """Runs the JavaScript `call`, in which `resolve` is a callback, and returns what the
    callback received; fails after `timeout_ms` instead of waiting forever."""
    message = json.dumps(f"no callback within {timeout_ms} ms: {call}")
    return page.evaluate(
        f"""() => new Promise((resolve, reject) => {{
            setTimeout(() => reject(new Error({message})), {timeout_ms});
            {call};
        }})"""
    )


def mouse_click(page: Any, selector: str) -> None:
    """A real left click at the element's centre, without Playwright's wait for the
    navigation it may start: a navigation the page itself delays (the compat script holds
    a link until its event is sent) can leave `page.click` waiting for good."""
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not visible"
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)


def dashboard_stat(page: Any, label: str, timeout_ms: int = 15_000) -> str:
    """The value of one of the dashboard's top stats ("Unique visitors") once it has loaded."""
    value = page.locator(f".stat:has(.stat-label:text-is('{label}')) .stat-value")
    value.wait_for(timeout=timeout_ms)
    page.wait_for_function(
        "el => el.textContent.trim() !== '\\u2013'", arg=value.element_handle(), timeout=timeout_ms
    )
    return value.inner_text().strip()
