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
them from uvicorn's HTTP parser with the same `admit` and the same replies.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import msgspec
from starlette.applications import Starlette

from footfall.ingest import metrics
from footfall.ingest.buffer import RETRY_AFTER_SECONDS
from footfall.ingest.ingestion import Ingestion
from footfall.ingest.pipeline import Rows, count_outcomes
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
    buffer = ingestion.buffer
    assert buffer is not None
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
    peer = client[0] if client else None
    if ingestion.executor is not None:  # visits in Redis: wait for it off the event loop
        return await _handle_in_executor(ingestion, found, peer, body, send)
    reply, rows = admit(ingestion, found, peer, body)
    if rows:
        try:
            await buffer.write(rows.events, rows.sessions)
        except Exception:
            log.exception("cannot record an event")
            reply = CANNOT_RECORD
    return await _send_reply(send, reply)


def admit(
    ingestion: Ingestion, found: dict[bytes, bytes], peer: str | None, body: bytes
) -> tuple[Reply, Rows | None]:
    """Everything `/api/event` does before the write-ahead log, in the loop's thread: the
    answer to send once `rows` (if any) are in the log. Both HTTP paths call it: the ASGI
    handler above and `EventProtocol`'s fast path."""
    request = read_request(ingestion, body)
    if isinstance(request, Reply):
        return request, None
    ip, user_agent = visitor(ingestion, found, peer)
    try:
        _, rows = ingestion.pipeline.process_at(request, user_agent, ip, int(time.time()))
    except Exception:
        log.exception("cannot record an event")
        return CANNOT_RECORD, None
    return (ACCEPTED if rows.events else DROPPED), rows  # an events row per accepted event


def read_request(ingestion: Ingestion, body: bytes) -> EventRequest | Reply:
    """The parsed body, or the answer to an invalid one (or to a full log)."""
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
    return request


def visitor(ingestion: Ingestion, found: dict[bytes, bytes], peer: str | None) -> tuple[str, str]:
    """The visitor's address (footfall.ingest.client_ip) and user agent."""
    forwarding = {}
    for raw_name, name in _FORWARDING_HEADERS:
        value = found.get(raw_name)
        if value is not None:
            forwarding[name] = value.decode("latin-1")
    ip = ingestion.client_ip.resolve(peer, forwarding)
    return ip, found.get(b"user-agent", b"").decode("latin-1")


async def _handle_in_executor(
    ingestion: Ingestion, found: dict[bytes, bytes], peer: str | None, body: bytes, send: Any
) -> int:
    """`handle` with the session cache in Redis: the pipeline runs on the executor's threads
    (the interpreter lock is released while they wait for Redis); counted back on the loop."""
    buffer = ingestion.buffer
    assert buffer is not None
    request = read_request(ingestion, body)
    if isinstance(request, Reply):
        return await _send_reply(send, request)
    ip, user_agent = visitor(ingestion, found, peer)
    try:
        loop = asyncio.get_running_loop()
        outcomes, rows = await loop.run_in_executor(
            ingestion.executor,
            ingestion.pipeline.process_at,
            request,
            user_agent,
            ip,
            int(time.time()),
            False,
        )
        count_outcomes(request.name, outcomes)
        if rows:
            await buffer.write(rows.events, rows.sessions)
    except Exception:
        log.exception("cannot record an event")
        return await _send_reply(send, CANNOT_RECORD)
    return await _send_reply(send, ACCEPTED if rows.events else DROPPED)


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
