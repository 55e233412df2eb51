"""Operations metrics on /metrics: backups, data paths' free space, the event store's parts,
flush and query latency."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

BACKUP_LAST_SUCCESS = Gauge(
    "footfall_backup_last_success_timestamp_seconds", "Unix time of the last successful backup (0: none yet)"
)
BACKUP_LAST_SIZE = Gauge("footfall_backup_last_size_bytes", "Size of the last successful backup's files")
BACKUP_LAST_DURATION = Gauge(
    "footfall_backup_last_duration_seconds", "How long the last successful backup took"
)
BACKUP_FAILURES = Counter("footfall_backup_failures", "Backups that failed (scheduled or by command)")
BACKUP_STALE = Gauge(
    "footfall_backup_stale", "1 when BACKUP_SCHEDULE is set and no backup succeeded within two intervals"
)


def backup_succeeded(manifest: dict[str, Any]) -> None:
    BACKUP_LAST_SUCCESS.set(time.time())
    BACKUP_LAST_SIZE.set(float(manifest.get("size_bytes", 0)))
    BACKUP_LAST_DURATION.set(float(manifest.get("seconds") or 0))
    BACKUP_STALE.set(0)


def backup_failed() -> None:
    BACKUP_FAILURES.inc()


QUERY_SECONDS = Histogram(
    "footfall_http_request_seconds",
    "Time to answer an HTTP request (all but /api/event), by route template and method",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


RESPONSES = Counter(
    "footfall_http_responses",
    "HTTP answers (all but /api/event, counted in footfall_ingest_requests)",
    ["route", "status"],
)


class ServerCollector(Collector):
    """What is read at scrape time from the running server: free space of each data path,
    the disk level, the write-ahead log's oldest event, the event store's active parts."""

    def __init__(self) -> None:
        self.services: Any = None
        self.buffer_of: Callable[[], Any] = lambda: None
        self.disk: Any = None

    def collect(self) -> Iterator[GaugeMetricFamily]:
        services = self.services
        if services is None:
            return
        from footfall.ops.disk import LEVELS, data_paths, space

        free = GaugeMetricFamily(
            "footfall_disk_free_bytes", "Free bytes of each data path's filesystem", labels=["path"]
        )
        total = GaugeMetricFamily(
            "footfall_disk_total_bytes", "Size of each data path's filesystem", labels=["path"]
        )
        for path in data_paths(services.settings):
            with contextlib.suppress(OSError):
                measured = space(path)
                free.add_metric([str(path)], measured.free)
                total.add_metric([str(path)], measured.total)
        yield free
        yield total
        if self.disk is not None:
            yield GaugeMetricFamily(
                "footfall_disk_level",
                "0 ok, 1 over DISK_WARN_PERCENT, 2 over DISK_CRITICAL_PERCENT",
                value=LEVELS[self.disk.level],
            )
        buffer = self.buffer_of()
        if buffer is not None:
            yield GaugeMetricFamily(
                "footfall_ingest_buffer_age_seconds",
                "Age of the oldest event in the write-ahead log not yet stored (0: none waiting)",
                value=buffer.oldest_age(time.time()),
            )
            yield GaugeMetricFamily(
                "footfall_ingest_inserts_held",
                "1 while inserts are stopped (disk critical)",
                value=int(buffer.inserts_held),
            )
        parts = GaugeMetricFamily(
            "footfall_events_parts", "Active parts of each event-store table", labels=["table"]
        )
        store = services.events
        if store is not None:
            with contextlib.suppress(Exception):
                rows = store.query(
                    "SELECT table, count() FROM system.parts WHERE database = {d:String} AND active "
                    "GROUP BY table",
                    {"d": store.database},
                ).rows
                for table, count in rows:
                    parts.add_metric([str(table)], float(count))
        yield parts


SERVER = ServerCollector()
REGISTRY.register(SERVER)


class RouteTimer:
    """ASGI middleware: times each HTTP request by its route's path template."""

    def __init__(self, app: Any, routes: Any = ()) -> None:
        self.app = app
        # Router puts the matched endpoint into the scope; its template names the series.
        self.templates = {getattr(r, "endpoint", None): r.path for r in routes if hasattr(r, "path")}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = [500]

        async def sending(message: Any) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            template = self.templates.get(scope.get("endpoint"), "unmatched")
            QUERY_SECONDS.labels(template, scope.get("method", "")).observe(time.perf_counter() - began)
            RESPONSES.labels(template, str(status[0])).inc()
