"""`GET /api/health`: whether each store answers, as JSON (200 when both do, else 503)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from footfall.meta.db import ping as ping_metadata
from footfall.services import Services


def _check(fn) -> dict[str, str]:
    try:
        fn()
    except Exception as error:
        return {"status": "error", "error": str(error).splitlines()[0][:300]}
    return {"status": "ok"}


async def health(request: Request) -> JSONResponse:
    services: Services = request.app.state.services
    metadata = await run_in_threadpool(_check, lambda: ping_metadata(services.engine))
    metadata["backend"] = services.engine.dialect.name
    if services.events is None:
        events = {"status": "error", "error": "event store not open"}
    else:
        events = await run_in_threadpool(_check, services.events.ping)
    events["backend"] = "chdb" if services.settings.embedded_events else "clickhouse"
    healthy = metadata["status"] == "ok" and events["status"] == "ok"
    return JSONResponse(
        {"status": "ok" if healthy else "error", "metadata": metadata, "events": events},
        status_code=200 if healthy else 503,
        headers={"Cache-Control": "no-store"},
    )


async def ready(request: Request) -> JSONResponse:
    """`GET /api/health/ready`: 200 when this process would serve traffic now, else 503
    naming each failed check (footfall.ops.health)."""
    from footfall.ops.health import readiness

    ingestion = getattr(request.app.state, "ingestion", None)
    buffer = ingestion.buffer if ingestion is not None else None
    result = await run_in_threadpool(readiness, request.app.state.services, buffer)
    return JSONResponse(
        result.document(),
        status_code=200 if result.ready else 503,
        headers={"Cache-Control": "no-store", **({} if result.ready else {"Retry-After": "10"})},
    )
