"""Counters of the write path, by outcome and drop reason, for `GET /metrics`."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

EVENTS = Counter(
    "footfall_ingest_events",
    "Events by outcome (accepted, dropped) and drop reason",
    ["outcome", "reason"],
)
REQUESTS = Counter(
    "footfall_ingest_requests",
    "Requests to /api/event by HTTP status",
    ["status"],
)
FLUSHED_ROWS = Counter("footfall_ingest_flushed_rows", "Rows written to the event store", ["table"])
FLUSH_FAILURES = Counter("footfall_ingest_flush_failures", "Failed attempts to write a batch to the store")
WAL_PENDING_BYTES = Gauge("footfall_ingest_wal_pending_bytes", "Bytes in the write-ahead log not yet stored")

_accepted = {
    "pageview": EVENTS.labels("accepted", "pageview"),
    "engagement": EVENTS.labels("accepted", "engagement"),
}
_custom = EVENTS.labels("accepted", "custom")
_dropped: dict[str, Counter] = {}
_status: dict[int, Counter] = {}


def count_accepted(name: str) -> None:
    _accepted.get(name, _custom).inc()


def count_dropped(reason: str) -> None:
    counter = _dropped.get(reason)
    if counter is None:
        counter = _dropped[reason] = EVENTS.labels("dropped", reason)
    counter.inc()


def count_request(status: int) -> None:
    counter = _status.get(status)
    if counter is None:
        counter = _status[status] = REQUESTS.labels(str(status))
    counter.inc()
