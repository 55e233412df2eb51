"""`POST /api/event`: the endpoint every tracker posts to, answered ahead of Starlette.

`EventFirstStarlette` is the application: it answers `/api/event` itself, in raw ASGI,
before Starlette's middleware stack and router (routing, request objects and the error
middleware's wrapper around `send` cost a good part of the throughput here), and hands
every other request to Starlette unchanged. The body is parsed with msgspec, the visitor
address resolved, the pipeline run in-process, the rows appended to the write-ahead log,
and only then `202 ok` sent. Dropped events (bots, unknown sites, spam) get `202` too,
with `X-Plausible-Dropped: 1`, as Plausible answers; invalid bodies get `400` with
`{"errors": {field: [message]}}`; a full log gets `503` with `Retry-After`. Every answer
carries `Access-Control-Allow-Origin: *` so browsers on any site may post.

Under `footfall serve`, most posts never reach ASGI: `footfall.web.event_protocol` answers
them from uvicorn's HTTP parser. Both run one flow, `respond` (admit -> write -> reply), and
send the same replies.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

import msgspec
from starlette.applications import Starlette

from footfall.ingest import metrics
from footfall.ingest.buffer import RETRY_AFTER_SECONDS
from footfall.ingest.ingestion import Ingestion
from footfall.ingest.pipeline import Outcome, Rows, count_outcomes
from footfall.ingest.request import EventRequest, RequestInvalid, decode_body, parse_event

log = logging.getLogger("footfall.ingest")

PATH = "/api/event"
_CORS = [
    (b"access-control-allow-origin", b"*"),
    (b"cache-control", b"no-store"),
]
_TEXT = (b"content-type", b"text/plain; charset=utf-8")
# What the client address is resolved from (footfall.ingest.client_ip).
_FORWARDING_HEADERS = tuple(
    (name.encode(), name)
    for name in ("x-forwarded-for", "forwarded", "x-real-ip", "x-plausible-ip", "cf-connecting-ip")
)
_JSON = (b"content-type", b"application/json")
_PREFLIGHT_HEADERS = [
    *_CORS,
    (b"access-control-allow-methods", b"POST, OPTIONS"),
    (b"access-control-allow-headers", b"Content-Type"),
    (b"access-control-max-age", b"86400"),
]
# Parsed bodies by their bytes: many visitors send the very same body (a pageview of a
# popular page from the same referrer). An EventRequest is never changed after parsing.
_parsed: dict[bytes, EventRequest] = {}
_CACHED_BODIES = 1_024  # each entry is objects a full garbage collection walks
_CACHED_BODY_BYTES = 1_024


class EventFirstStarlette(Starlette):
    """The Starlette application, except that `/api/event` is answered by `serve_event`
    before the middleware stack; `app.state` and everything else are Starlette's."""

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:  # type: ignore[override]
        if scope["type"] == "http" and scope["path"] == PATH:
            scope["app"] = self
            await serve_event(self, scope, receive, send)
            return
        await super().__call__(scope, receive, send)


async def serve_event(app: Starlette, scope: dict, receive: Any, send: Any) -> None:
    method = scope["method"]
    if method == "OPTIONS":
        await _send_reply(send, PREFLIGHT)
        return
    if method != "POST":
        await _send_reply(send, NOT_ALLOWED)
        return
    ingestion: Ingestion | None = getattr(app.state, "ingestion", None)
    if ingestion is None or ingestion.buffer is None:
        await _send_reply(send, STARTING)
        return
    status = await handle(ingestion, scope, receive, send)
    metrics.count_request(status)


async def handle(ingestion: Ingestion, scope: dict, receive: Any, send: Any) -> int:
    """The ASGI handler: read the body, then `respond`, then send its answer."""
    found = header_map(scope["headers"])
    limit = ingestion.max_body_bytes
    if declared_too_large(found, limit):
        return await _send_reply(send, too_large(limit))
    body = b""
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return 499
        body += message.get("body", b"")
        more = message.get("more_body", False)
        if len(body) > limit:
            return await _send_reply(send, too_large(limit))

    client = scope.get("client")
    answered: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()

    def answer(reply: Reply) -> None:
        if not answered.done():  # the request went away meanwhile (cancelled)
            answered.set_result(reply)

    respond(ingestion, found, client[0] if client else None, body, answer)
    return await _send_reply(send, await answered)


def respond(
    ingestion: Ingestion,
    found: dict[bytes, bytes],
    peer: str | None,
    body: bytes,
    answer: Callable[[Reply], None],
) -> None:
    """admit -> write -> reply, the one flow of every `/api/event` handler (the ASGI handler
    above and `EventProtocol`'s fast path): parse the body into a request carrying the
    visitor (`read_request`), run the pipeline (`admit`; with the session cache in Redis on
    the executor's threads, whose interpreter lock is released while they wait for it), hand
    the rows to the write-ahead log, and call `answer` with the reply once the log has them.
    `answer` is called exactly once, in the loop's thread: at once, or later from the loop."""
    request = read_request(ingestion, found, peer, body)
    if isinstance(request, Reply):
        answer(request)
        return
    if ingestion.executor is None:
        reply, rows, _ = admit(ingestion, request)
        write_then_answer(ingestion, reply, rows, answer)
        return
    loop = asyncio.get_running_loop()
    admitting = loop.run_in_executor(ingestion.executor, admit, ingestion, request, False)

    def admitted(done: asyncio.Future[tuple[Reply, Rows | None, list[Outcome]]]) -> None:
        if done.cancelled():
            answer(CANNOT_RECORD)
            return
        reply, rows, outcomes = done.result()  # admit answers its own failures
        count_outcomes(request.name, outcomes)  # the counters belong to the loop's thread
        write_then_answer(ingestion, reply, rows, answer)

    admitting.add_done_callback(admitted)


def admit(
    ingestion: Ingestion, request: EventRequest, count: bool = True
) -> tuple[Reply, Rows | None, list[Outcome]]:
    """The pipeline's verdict on one request: the answer to send once `rows` (if any) are in
    the log, and what became of each domain's event. `count=False` (off the loop's thread)
    leaves the counters to the caller."""
    try:
        outcomes, rows = ingestion.pipeline.process(request, count)
    except Exception:
        log.exception("cannot record an event")
        return CANNOT_RECORD, None, []
    return (ACCEPTED if rows.events else DROPPED), rows, outcomes  # an events row per accepted event


def write_then_answer(
    ingestion: Ingestion, reply: Reply, rows: Rows | None, answer: Callable[[Reply], None]
) -> None:
    """Hand `rows` to the write-ahead log and `answer(reply)` once it has them (at once if
    there are none), or `answer(CANNOT_RECORD)` if they cannot be written."""
    if not rows:
        answer(reply)
        return
    buffer = ingestion.buffer
    if buffer is None:  # the server stopped accepting meanwhile
        answer(CANNOT_RECORD)
        return

    def written(error: OSError | None) -> None:
        if error is not None:
            log.error("cannot record an event: %s", error)
        answer(reply if error is None else CANNOT_RECORD)

    try:
        buffer.write_then(rows.events, rows.sessions, written)
    except Exception:
        log.exception("cannot record an event")
        answer(CANNOT_RECORD)


def read_request(
    ingestion: Ingestion, found: dict[bytes, bytes], peer: str | None, body: bytes
) -> EventRequest | Reply:
    """The request at the edge: the parsed body with the visitor's address, user agent and
    arrival time (`EventRequest.arrived`); or the answer to an invalid body (or a full log)."""
    request = _parsed.get(body)
    if request is None:
        try:
            request = parse_event(decode_body(body))
        except RequestInvalid as invalid:
            return error_reply(400, invalid.errors)
        except Exception:  # a parsing bug: still the body's answer, never a 5xx (and logged)
            log.exception("cannot parse an event body")
            return UNREADABLE
        if len(body) <= _CACHED_BODY_BYTES and request.name != "engagement":  # those rarely repeat
            if len(_parsed) >= _CACHED_BODIES:
                _parsed.clear()
            _parsed[body] = request
    buffer = ingestion.buffer
    if buffer is not None and not buffer.has_room():
        metrics.count_dropped("wal_full")
        return WAL_FULL
    ip, user_agent = visitor(ingestion, found, peer)
    return request.arrived(ip, user_agent, int(time.time()))


def visitor(ingestion: Ingestion, found: dict[bytes, bytes], peer: str | None) -> tuple[str, str]:
    """The visitor's address (footfall.ingest.client_ip) and user agent."""
    forwarding = {}
    for raw_name, name in _FORWARDING_HEADERS:
        value = found.get(raw_name)
        if value is not None:
            forwarding[name] = value.decode("latin-1")
    ip = ingestion.client_ip.resolve(peer, forwarding)
    return ip, found.get(b"user-agent", b"").decode("latin-1")


def header_map(raw_headers: list[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    """Request headers by (lower-case) name; a repeated header's values joined, as HTTP reads them."""
    found = dict(raw_headers)
    if len(found) < len(raw_headers):
        found = _joined(raw_headers)
    return found


def declared_too_large(found: dict[bytes, bytes], limit: int) -> bool:
    declared = found.get(b"content-length", b"")
    return declared.isdigit() and int(declared) > limit


def too_large(limit: int) -> Reply:
    return error_reply(413, {"request": [f"body is larger than {limit} bytes"]})


def _joined(raw_headers: list[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    joined: dict[bytes, bytes] = {}
    for name, value in raw_headers:
        joined[name] = joined[name] + b", " + value if name in joined else value
    return joined


class Reply:
    """One answer of `/api/event`: status, headers (content-length included) and body, and
    the same pre-encoded for `EventProtocol`, which writes it to the socket itself."""

    __slots__ = ("body", "encoded", "headers", "start", "status")

    def __init__(self, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        self.status = status
        self.body = body
        self.headers = [*headers, (b"content-length", str(len(body)).encode())]
        self.start = {"type": "http.response.start", "status": status, "headers": self.headers}
        self.encoded = b"".join(name + b": " + value + b"\r\n" for name, value in self.headers)


_encode_json = msgspec.json.Encoder().encode


def error_reply(
    status: int, errors: dict[str, list[str]], extra: list[tuple[bytes, bytes]] | None = None
) -> Reply:
    return Reply(status, _encode_json({"errors": errors}), [*_CORS, _JSON, *(extra or [])])


ACCEPTED = Reply(202, b"ok", [*_CORS, _TEXT])
DROPPED = Reply(202, b"ok", [*_CORS, _TEXT, (b"x-plausible-dropped", b"1")])
_RETRY = [(b"retry-after", str(RETRY_AFTER_SECONDS).encode())]
WAL_FULL = error_reply(
    503, {"request": ["the event store is unreachable and the write-ahead log is full; retry later"]}, _RETRY
)
UNREADABLE = error_reply(400, {"request": ["the body could not be read as an event"]})
CANNOT_RECORD = error_reply(
    503, {"request": ["footfall cannot record events right now; retry later"]}, _RETRY
)
STARTING = error_reply(503, {"request": ["footfall is starting; try again"]})
PREFLIGHT = Reply(204, b"", _PREFLIGHT_HEADERS)
NOT_ALLOWED = Reply(405, b"", [*_CORS, (b"allow", b"POST, OPTIONS")])


async def _send_reply(send: Any, reply: Reply) -> int:
    await send(reply.start)
    await send({"type": "http.response.body", "body": reply.body})
    return reply.status
