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
from footfall.ingest.pipeline import count_outcomes
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
_OK_LENGTH = (b"content-length", b"2")
_ACCEPTED = {"type": "http.response.start", "status": 202, "headers": [*_CORS, _TEXT, _OK_LENGTH]}
_DROPPED = {
    "type": "http.response.start",
    "status": 202,
    "headers": [*_CORS, _TEXT, _OK_LENGTH, (b"x-plausible-dropped", b"1")],
}
_OK_BODY = {"type": "http.response.body", "body": b"ok"}
_PREFLIGHT_HEADERS = [
    *_CORS,
    (b"access-control-allow-methods", b"POST, OPTIONS"),
    (b"access-control-allow-headers", b"Content-Type"),
    (b"access-control-max-age", b"86400"),
]
_encode_json = msgspec.json.Encoder().encode
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
        await _reply(send, 204, b"", _PREFLIGHT_HEADERS)
        return
    if method != "POST":
        await _reply(send, 405, b"", [*_CORS, (b"allow", b"POST, OPTIONS")])
        return
    ingestion: Ingestion | None = getattr(app.state, "ingestion", None)
    if ingestion is None or ingestion.buffer is None:
        await _error(send, 503, {"request": ["footfall is starting; try again"]})
        return
    status = await handle(ingestion, scope, receive, send)
    metrics.count_request(status)


async def handle(ingestion: Ingestion, scope: dict, receive: Any, send: Any) -> int:
    buffer = ingestion.buffer
    assert buffer is not None
    raw_headers = scope["headers"]
    found = dict(raw_headers)  # ASGI header names are lower-case
    if len(found) < len(raw_headers):  # a repeated header: its values joined, as HTTP reads them
        found = _joined(raw_headers)

    limit = ingestion.max_body_bytes
    declared = found.get(b"content-length", b"")
    if declared.isdigit() and int(declared) > limit:
        return await _error(send, 413, {"request": [f"body is larger than {limit} bytes"]})
    body = b""
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return 499
        body += message.get("body", b"")
        more = message.get("more_body", False)
        if len(body) > limit:
            return await _error(send, 413, {"request": [f"body is larger than {limit} bytes"]})

    request = _parsed.get(body)
    if request is None:
        try:
            request = parse_event(decode_body(body))
        except RequestInvalid as invalid:
            return await _error(send, 400, invalid.errors)
        if len(body) <= _CACHED_BODY_BYTES and request.name != "engagement":  # those rarely repeat
            if len(_parsed) >= _CACHED_BODIES:
                _parsed.clear()
            _parsed[body] = request

    if not buffer.has_room():
        metrics.count_dropped("wal_full")
        return await _error(
            send,
            503,
            {"request": ["the event store is unreachable and the write-ahead log is full; retry later"]},
            [(b"retry-after", str(RETRY_AFTER_SECONDS).encode())],
        )

    forwarding = {}
    for raw_name, name in _FORWARDING_HEADERS:
        value = found.get(raw_name)
        if value is not None:
            forwarding[name] = value.decode("latin-1")
    client = scope.get("client")
    ip = ingestion.client_ip.resolve(client[0] if client else None, forwarding)
    user_agent = found.get(b"user-agent", b"").decode("latin-1")
    try:
        now = int(time.time())
        if ingestion.executor is None:
            _, rows = ingestion.pipeline.process_at(request, user_agent, ip, now)
        else:  # visits in Redis: wait for it off the event loop; count back on it
            process = ingestion.pipeline.process_at
            loop = asyncio.get_running_loop()
            outcomes, rows = await loop.run_in_executor(
                ingestion.executor, process, request, user_agent, ip, now, False
            )
            count_outcomes(request.name, outcomes)
        if rows:
            await buffer.write(rows.events, rows.sessions)
    except Exception:
        log.exception("cannot record an event")
        return await _error(
            send,
            503,
            {"request": ["footfall cannot record events right now; retry later"]},
            [(b"retry-after", str(RETRY_AFTER_SECONDS).encode())],
        )
    await send(_ACCEPTED if rows.events else _DROPPED)  # an events row per accepted event
    await send(_OK_BODY)
    return 202


def _joined(raw_headers: list[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    joined: dict[bytes, bytes] = {}
    for name, value in raw_headers:
        joined[name] = joined[name] + b", " + value if name in joined else value
    return joined


async def _reply(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _error(
    send: Any, status: int, errors: dict[str, list[str]], extra: list[tuple[bytes, bytes]] | None = None
) -> int:
    await _reply(send, status, _encode_json({"errors": errors}), [*_CORS, _JSON, *(extra or [])])
    return status
