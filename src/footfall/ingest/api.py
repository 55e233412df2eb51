"""Recording events from Python: test fixtures, `footfall demo` and imports.

`record_hits` runs each `Hit` through the same parsing and pipeline as `POST /api/event`,
with the hit's own timestamp as the clock (visits time out and salts rotate as if the
hit had arrived then), and writes the rows straight to the event store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from footfall.events import daily_marks
from footfall.events.schema import EVENTS_COLUMNS, SESSIONS_COLUMNS
from footfall.ingest.ingestion import ingestion_for
from footfall.ingest.pipeline import DropReason, Outcome, Rows
from footfall.ingest.request import RequestInvalid, parse_event
from footfall.services import Services

__all__ = ["DropReason", "Hit", "Outcome", "RequestInvalid", "record_hits"]

INSERT_CHUNK = 50_000


@dataclass
class Hit:
    """One request to /api/event, already parsed."""

    name: str  # "pageview", "engagement", or a custom event name
    url: str
    domain: str  # may be comma-separated
    user_agent: str
    ip: str
    timestamp: datetime  # UTC (naive or aware); the pipeline's clock for this hit
    referrer: str | None = None
    props: dict[str, str] | None = None
    revenue: dict | None = None  # {"amount": "12.5", "currency": "EUR"}
    hash_mode: bool = False
    interactive: bool = True
    scroll_depth: int | None = None
    engagement_time: int | None = None  # ms

    def body(self) -> dict[str, Any]:
        """The JSON body a tracker would have sent for this hit."""
        body: dict[str, Any] = {"n": self.name, "u": self.url, "d": self.domain, "i": self.interactive}
        if self.referrer is not None:
            body["r"] = self.referrer
        if self.props:
            body["p"] = self.props
        if self.revenue:
            body["$"] = self.revenue
        if self.hash_mode:
            body["h"] = 1
        if self.scroll_depth is not None:
            body["sd"] = self.scroll_depth
        if self.engagement_time is not None:
            body["e"] = self.engagement_time
        return body


def record_hits(services: Services, hits: Iterable[Hit]) -> list[Outcome]:
    """Run each hit through the full pipeline in order, then write everything to the
    event store before returning. One Outcome per hit and site domain. A hit the HTTP
    endpoint would answer with 400 raises RequestInvalid."""
    if services.events is None:
        raise RuntimeError("record_hits needs an open event store (services.events)")
    pipeline = ingestion_for(services).pipeline
    pipeline.shields.refresh()  # no server thread keeps them current here: as of this call
    outcomes: list[Outcome] = []
    rows = Rows()
    for hit in hits:
        request = parse_event(hit.body()).arrived(hit.ip, hit.user_agent, unix_seconds(hit.timestamp))
        hit_outcomes, hit_rows = pipeline.process(request)
        outcomes.extend(hit_outcomes)
        rows.events.extend(hit_rows.events)
        rows.sessions.extend(hit_rows.sessions)
    for start in range(0, len(rows.events), INSERT_CHUNK):
        services.events.insert("events", EVENTS_COLUMNS, rows.events[start : start + INSERT_CHUNK])
    for start in range(0, len(rows.sessions), INSERT_CHUNK):
        services.events.insert("sessions", SESSIONS_COLUMNS, rows.sessions[start : start + INSERT_CHUNK])
    # Days already counted for the dashboard that these rows change are read raw until recounted.
    daily_marks.note_rows(services.events, rows.events, rows.sessions)
    return outcomes


def unix_seconds(moment: datetime) -> int:
    """A UTC moment (naive or aware) as unix seconds."""
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())
