"""The baseline: a bare ASGI endpoint that reads the body and answers 202, nothing else."""

from __future__ import annotations

START = {
    "type": "http.response.start",
    "status": 202,
    "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"access-control-allow-origin", b"*")],
}
BODY = {"type": "http.response.body", "body": b"ok"}


async def app(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send(START)
    await send(BODY)
