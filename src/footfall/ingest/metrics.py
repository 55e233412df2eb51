"""Counters of the write path, by outcome and drop reason, for `GET /metrics`.

Events and requests are counted once or twice per event by the web loop, so they are
plain integers in dicts (a prometheus `Counter` takes a lock on every increment) that a
custom collector reads when `/metrics` is scraped, under the same names and labels as
`Counter`s would have. The increments are exact from one thread (the web loop; or
`record_hits`, when no server runs in the same process). The flusher's counters change
once per batch and stay ordinary `Counter`s.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client import metrics as prometheus_metrics
from prometheus_client.core import CounterMetricFamily, SummaryMetricFamily
from prometheus_client.registry import Collector

Labels = tuple[str, ...]


class _Counts:
    """One counter family: label values -> count, and when each label set first counted."""

    def __init__(self, name: str, documentation: str, label_names: Labels) -> None:
        self.name = name
        self.documentation = documentation
        self.label_names = label_names
        self.counts: dict[Labels, int] = {}
        self.created: dict[Labels, float] = {}

    def start(self, labels: Labels) -> None:
        if labels not in self.counts:
            self.counts[labels] = 0
            self.created[labels] = time.time()

    def family(self) -> CounterMetricFamily:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.label_names)
        # `_created` samples unless PROMETHEUS_DISABLE_CREATED_SERIES, as for a Counter.
        with_created = getattr(prometheus_metrics, "_use_created", True)
        for labels, count in list(self.counts.items()):
            family.add_metric(labels, count, created=self.created.get(labels) if with_created else None)
        return family


EVENTS = _Counts(
    "footfall_ingest_events", "Events by outcome (accepted, dropped) and drop reason", ("outcome", "reason")
)
REQUESTS = _Counts("footfall_ingest_requests", "Requests to /api/event by HTTP status", ("status",))


class _StepTimes:
    """Seconds spent in each pipeline step, over the events that were timed (one in
    `footfall.ingest.pipeline.TIME_EVERY`): a summary's `_count` and `_sum` per step."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    def add(self, step: str, seconds: float) -> None:
        self.seconds[step] = self.seconds.get(step, 0.0) + seconds
        self.counts[step] = self.counts.get(step, 0) + 1

    def family(self) -> SummaryMetricFamily:
        family = SummaryMetricFamily(
            "footfall_ingest_step_seconds",
            "Time in each step of the ingestion pipeline, for a sample of events",
            labels=("step",),
        )
        for step, count in list(self.counts.items()):
            family.add_metric((step,), count_value=count, sum_value=self.seconds.get(step, 0.0))
        return family


STEP_TIMES = _StepTimes()


class _CountsCollector(Collector):
    def collect(self) -> Iterator[CounterMetricFamily | SummaryMetricFamily]:
        yield EVENTS.family()
        yield REQUESTS.family()
        yield STEP_TIMES.family()


REGISTRY.register(_CountsCollector())
FLUSHED_ROWS = Counter("footfall_ingest_flushed_rows", "Rows written to the event store", ["table"])
COALESCED_SESSION_ROWS = Counter(
    "footfall_ingest_coalesced_session_rows",
    "Session rows not written: a visit's state and the row cancelling it, both in one batch",
)
FLUSH_FAILURES = Counter("footfall_ingest_flush_failures", "Failed attempts to write a batch to the store")
FLUSH_SECONDS = Histogram(
    "footfall_ingest_flush_seconds",
    "Time to store one batch of the write-ahead log in the event store",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
WAL_PENDING_BYTES = Gauge("footfall_ingest_wal_pending_bytes", "Bytes in the write-ahead log not yet stored")

_ACCEPTED = {name: ("accepted", name) for name in ("pageview", "engagement")}
_CUSTOM = ("accepted", "custom")
for _labels in (*_ACCEPTED.values(), _CUSTOM):
    EVENTS.start(_labels)
_events = EVENTS.counts
_dropped: dict[str, Labels] = {}
_requests = REQUESTS.counts
_status: dict[int, Labels] = {}


def count_accepted(name: str) -> None:
    _events[_ACCEPTED.get(name, _CUSTOM)] += 1


def count_dropped(reason: str) -> None:
    labels = _dropped.get(reason)
    if labels is None:
        labels = _dropped[reason] = ("dropped", str(reason))
        EVENTS.start(labels)
    _events[labels] += 1


def count_request(status: int) -> None:
    labels = _status.get(status)
    if labels is None:
        labels = _status[status] = (str(status),)
        REQUESTS.start(labels)
    _requests[labels] += 1
