"""Readiness: whether this process should be sent traffic now.

`/api/health` is liveness (the process answers and its stores do); `/api/health/ready`
says whether a request sent now would be served. It is not ready while a store does not
answer, while the write-ahead log is over `WAL_MAX_BYTES` (tracker posts would get a 503),
or while a data path's free space is at `DISK_CRITICAL_PERCENT` (inserts are stopped), so
a load balancer sends the traffic to a replica that can take it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from footfall.meta.db import ping as ping_metadata
from footfall.services import Services

# The key in `Services.extras` of the running server's disk watch (footfall.ops.disk), if any.
DISK_WATCH = "disk_watch"


@dataclass
class Readiness:
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return all(check["status"] == "ok" for check in self.checks.values())

    def document(self) -> dict[str, Any]:
        return {"status": "ready" if self.ready else "not_ready", "checks": self.checks}


def _ping(fn: Callable[[], object]) -> dict[str, Any]:
    try:
        fn()
    except Exception as error:
        return {
            "status": "error",
            "error": str(error).strip().splitlines()[0][:300] if str(error) else repr(error),
        }
    return {"status": "ok"}


def readiness(services: Services, buffer: Any | None) -> Readiness:
    """Check every condition that makes this process refuse work. Blocking (pings the
    stores): call it from a worker thread."""
    result = Readiness()
    result.checks["metadata"] = _ping(lambda: ping_metadata(services.engine))
    if services.events is None:
        result.checks["events"] = {"status": "error", "error": "event store not open"}
    else:
        result.checks["events"] = _ping(services.events.ping)
    if buffer is None:
        result.checks["write_ahead_log"] = {"status": "error", "error": "not accepting events (no buffer)"}
    else:
        pending = buffer.pending_bytes
        check: dict[str, Any] = {"pending_bytes": pending, "max_bytes": buffer.max_bytes}
        if not buffer.has_room():
            check.update(status="error", error="the write-ahead log is over WAL_MAX_BYTES")
        elif not buffer.store_available:
            # Still taking events into the log; the store is retried (not a reason to stop traffic
            # unless the log fills, which is the case above).
            check.update(status="ok", note="the event store refuses writes; events wait in the log")
        else:
            check["status"] = "ok"
        result.checks["write_ahead_log"] = check
    watch = services.extras.get(DISK_WATCH)
    if watch is not None:
        result.checks["disk"] = watch.readiness_check()
    return result
