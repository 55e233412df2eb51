"""uvicorn's httptools protocol, with `POST /api/event` answered without ASGI.

Tracker posts are almost every request a footfall server sees, and for them ASGI's
per-request machinery (a scope, a request/response cycle object, an asyncio task, `receive`
and two `send` messages whose headers are checked one by one) costs about as much as
everything footfall does with the event. `EventProtocol` takes those requests straight from
the HTTP parser: it collects the body as it arrives and runs `footfall.web.event.respond`
(admit -> write -> reply, the same flow the ASGI handler runs), whose answer, once the
write-ahead log has the rows, it writes to the socket in one call.

With the session cache in Redis (`REDIS_URL`), `respond` runs the pipeline on the write path's
executor threads and answers from the loop once they are done; the fast path waits for that
answer as it waits for the log's group commit.

Everything else, and every `/api/event` request this fast path does not take (another
method, `Expect: 100-continue`, a request pipelined behind one still unanswered, the server
still starting), goes through uvicorn's own path to the ASGI application unchanged, where
`EventFirstStarlette` answers `/api/event` with the same replies.

`footfall serve` passes `event_protocol(app)` to uvicorn as its `http` protocol class.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from footfall.ingest import metrics
from footfall.ingest.ingestion import Ingestion
from footfall.web.event import (
    CANNOT_RECORD,
    PATH,
    EventFirstStarlette,
    Reply,
    declared_too_large,
    header_map,
    respond,
    too_large,
)

_PATH = PATH.encode()
_QUERY = _PATH + b"?"
_CLOSE = b"connection: close\r\n"


class _Ignored:
    """Stands in for the `asyncio.Event` uvicorn sets on a cycle when a connection is lost."""

    __slots__ = ()

    def set(self) -> None:
        pass


class _EventCycle:
    """One `/api/event` request on the fast path, where uvicorn keeps its request cycle
    (`protocol.cycle`): uvicorn reads `response_complete`, `keep_alive` and `disconnected`
    from it, so requests pipelined behind it wait, a shutdown closes the connection after
    its answer, and a lost connection is noticed."""

    __slots__ = ("body", "disconnected", "headers", "keep_alive", "response_complete", "too_large")
    message_event = _Ignored()

    def __init__(self, headers: dict[bytes, bytes], keep_alive: bool) -> None:
        self.headers = headers
        self.body = b""
        self.keep_alive = keep_alive
        self.disconnected = False
        self.response_complete = False
        self.too_large = False


class EventProtocol(HttpToolsProtocol):
    """`HttpToolsProtocol` with the `/api/event` fast path (see the module docstring). The
    footfall application is found through `footfall_app`, set by `event_protocol`."""

    footfall_app: EventFirstStarlette | None = None
    # uvicorn's default headers (the `date` header, renewed every second), encoded once per list.
    _defaults_source: list[tuple[bytes, bytes]] | None = None
    _defaults: bytes = b""
    _found: Ingestion | None = None  # per connection, see _ingestion

    # -- keep-alive: one timer per idle spell, not one per request --------------------------
    # uvicorn arms a timer after every answer and cancels it on the next read: on a busy
    # keep-alive connection that is a timer created and cancelled per request (6% of the
    # fast path's own time). Here the timer stays armed and looks when it fires: idle long
    # enough, it closes the connection as uvicorn does; otherwise it waits the rest.

    _idle_since: float | None = None

    def _unset_keepalive_if_required(self) -> None:
        self._idle_since = None  # reading: busy until the answer is complete

    def on_response_complete(self) -> None:
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
            return
        self._idle_since = self.loop.time()
        if self.timeout_keep_alive_task is None:
            self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive, self._keep_alive_due)

    def _keep_alive_due(self) -> None:
        self.timeout_keep_alive_task = None
        if self.transport.is_closing():
            return
        idle_since = self._idle_since
        if idle_since is None:  # a request is being read or answered: look again later
            wait = float(self.timeout_keep_alive)
        else:
            wait = idle_since + self.timeout_keep_alive - self.loop.time()
            if wait <= 0:
                self.timeout_keep_alive_handler()
                return
        self.timeout_keep_alive_task = self.loop.call_later(wait, self._keep_alive_due)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self.timeout_keep_alive_task is not None:
            self.timeout_keep_alive_task.cancel()
            self.timeout_keep_alive_task = None

    # -- the fast path ---------------------------------------------------------------------

    def on_message_begin(self) -> None:
        # What uvicorn's on_message_begin resets, without the ASGI scope it also builds there:
        # the fast path never needs one, the others get it in on_headers_complete.
        self.url = b""
        self.expect_100_continue = False
        self.headers = []

    def on_headers_complete(self) -> None:
        url = self.url
        if (url == _PATH or url.startswith(_QUERY)) and self._can_take():
            ingestion = self._ingestion()
            if ingestion is not None:
                self._start_event(ingestion)
                return
        url, headers, expect_100_continue = self.url, self.headers, self.expect_100_continue
        super().on_message_begin()  # the scope, as uvicorn builds it, then what was read since
        self.url, self.headers, self.expect_100_continue = url, headers, expect_100_continue
        self.scope["headers"] = headers
        super().on_headers_complete()

    def _can_take(self) -> bool:
        existing = self.cycle
        return (
            (existing is None or existing.response_complete)
            and self.parser.get_method() == b"POST"
            and not self.expect_100_continue
            and self.limit_concurrency is None
            and not self.parser.should_upgrade()
        )

    def _ingestion(self) -> Ingestion | None:
        """The running write path, or None while the server starts or stops (found once per
        connection: the application keeps one for its whole life)."""
        ingestion = self._found
        if ingestion is None:
            app = self.footfall_app
            ingestion = getattr(app.state, "ingestion", None) if app is not None else None
            if ingestion is None:
                return None
            self._found = ingestion
        return ingestion if ingestion.buffer is not None else None

    def _start_event(self, ingestion: Ingestion) -> None:
        headers = header_map(self.headers)
        # uvicorn keeps no HTTP/1.0 connection alive. llhttp keeps one alive only when it says
        # `Connection: keep-alive`, so without that header the version need not be asked
        # (`get_http_version` formats a new string on every call).
        parser = self.parser
        keep_alive = parser.should_keep_alive() and (
            b"connection" not in headers or parser.get_http_version() != "1.0"
        )
        cycle = _EventCycle(headers, keep_alive)
        if declared_too_large(cycle.headers, ingestion.max_body_bytes):
            cycle.too_large = True
        self.cycle = cycle  # type: ignore[assignment]

    def on_body(self, body: bytes) -> None:
        cycle = self.cycle
        if type(cycle) is not _EventCycle:
            super().on_body(body)
            return
        if cycle.too_large or cycle.response_complete:
            return
        cycle.body += body
        ingestion = self._ingestion()
        if ingestion is None or len(cycle.body) > ingestion.max_body_bytes:
            cycle.too_large = True
            cycle.body = b""

    def on_message_complete(self) -> None:
        cycle = self.cycle
        if type(cycle) is not _EventCycle:
            super().on_message_complete()
            return
        if cycle.response_complete:
            return
        ingestion = self._ingestion()
        if ingestion is None:  # the server stopped accepting while the body arrived
            self._answer(cycle, CANNOT_RECORD)
            return
        if cycle.too_large:
            self._answer(cycle, too_large(ingestion.max_body_bytes))
            return
        client = self.client
        respond(
            ingestion,
            cycle.headers,
            client[0] if client else None,
            cycle.body,
            partial(self._answer, cycle),
        )

    def _answer(self, cycle: _EventCycle, reply: Reply) -> None:
        """Write the whole answer in one call and let uvicorn go on with the connection."""
        if cycle.response_complete:
            return
        cycle.response_complete = True
        metrics.count_request(reply.status)
        if self.access_log:  # as uvicorn logs the requests it answers
            client = f"{self.client[0]}:{self.client[1]}" if self.client else "-"
            version = self.parser.get_http_version()
            # The arguments uvicorn's access formatter expects: client, method, path, version, status.
            path = self.url.decode("latin-1")
            self.access_logger.info('%s - "%s %s HTTP/%s" %d', client, "POST", path, version, reply.status)
        if cycle.disconnected:
            return
        defaults = self.server_state.default_headers
        if defaults is not EventProtocol._defaults_source:
            EventProtocol._defaults = b"".join(name + b": " + value + b"\r\n" for name, value in defaults)
            EventProtocol._defaults_source = defaults
        parts = [STATUS_LINE[reply.status], EventProtocol._defaults, reply.encoded]
        if not cycle.keep_alive:
            parts.append(_CLOSE)
        parts += [b"\r\n", reply.body]
        self.transport.write(b"".join(parts))
        if not cycle.keep_alive:
            self.transport.close()
        self.on_response_complete()


def event_protocol(app: Any) -> type[EventProtocol]:
    """The protocol class for uvicorn's `http` setting, bound to footfall's application
    (found through any middleware uvicorn wraps it in)."""
    found = app
    while found is not None and not isinstance(found, EventFirstStarlette):
        found = getattr(found, "app", None)
    return type("FootfallHttpProtocol", (EventProtocol,), {"footfall_app": found})
