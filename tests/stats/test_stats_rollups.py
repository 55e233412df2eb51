"""The hourly rollups (sessions_hourly, events_hourly) answer exactly what the raw tables answer.

Every query here is compiled twice, once allowed to read the rollups and once forced onto the
raw `events` and `sessions` tables, and run on the same data: the shop.example fixture (written
through the ingestion pipeline, so visits carry cancelled states) and three days of demo traffic
across a DST change. The rows must be identical, metric for metric. Queries the rollups cannot
answer exactly (filters, half-hour time zones, realtime, exit pages) must not read them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest

from footfall.demo import DEMO_GOALS, generate
from footfall.stats import v2
from footfall.stats.query import GoalSpec, SiteSpec
from footfall.stats.sql import compile_query
from tests.stats.shop import SHOP, shop_hits

DEMO_SITE = 77
DEMO = SiteSpec(
    DEMO_SITE,
    "demo.example",
    "Etc/UTC",
    tuple(
        GoalSpec(g.get("event_name") or f"Visit {g['page_path']}", g.get("event_name"), g.get("page_path"))
        for g in DEMO_GOALS
    ),
)
SHOP_SPEC = SiteSpec(
    0,
    "shop.example",
    "Etc/UTC",
    tuple(
        GoalSpec(g.get("event_name") or f"Visit {g['page_path']}", g.get("event_name"), g.get("page_path"))
        for g in SHOP.goals
    ),
)
NOW = datetime(2026, 4, 2, 12, tzinfo=UTC)

VISIT_METRICS = [
    "visitors",
    "visits",
    "pageviews",
    "events",
    "bounce_rate",
    "visit_duration",
    "views_per_visit",
    "percentage",
]
# Queries a dashboard makes, and their neighbours, none filtered.
UNFILTERED: list[dict[str, Any]] = [
    {"metrics": VISIT_METRICS[:-1]},
    {"metrics": ["visitors", "visits", "pageviews"], "dimensions": ["time:day"]},
    {"metrics": ["visitors", "bounce_rate"], "dimensions": ["time:hour"]},
    {"metrics": ["visitors", "visit_duration"], "dimensions": ["time:week"]},
    {"metrics": ["visitors", "views_per_visit"], "dimensions": ["time:month"]},
    *(
        {"metrics": [m for m in VISIT_METRICS if m != "views_per_visit"], "dimensions": [dimension]}
        for dimension in (
            "visit:source",
            "visit:channel",
            "visit:entry_page",
            "visit:country",
            "visit:device",
            "visit:browser",
            "visit:os",
        )
    ),
    {"metrics": ["visitors", "visits"], "dimensions": ["time:day", "visit:source"]},
    {"metrics": ["visitors", "pageviews", "events", "percentage"], "dimensions": ["event:page"]},
    {"metrics": ["visitors", "events"], "dimensions": ["event:name"]},
    {"metrics": ["visitors", "events", "conversion_rate"], "dimensions": ["event:goal"]},
    {"metrics": ["visitors", "pageviews"], "dimensions": ["time:day", "event:page"]},
]


def run(store: Any, site: SiteSpec, body: dict[str, Any], rollups: bool) -> tuple[list[Any], str]:
    query = v2.parse(site, {"site_id": site.domain, **body}, NOW)
    compiled = compile_query(query, rollups=rollups)
    return store.query(compiled.sql, compiled.params).rows, compiled.sql


@pytest.fixture(scope="module")
def world(world_factory):
    world = world_factory([SHOP], shop_hits())
    # Three days of demo traffic on another site, across Europe's DST change on 29 March.
    generate(world.services.events, DEMO_SITE, DEMO.domain, events=30_000, days=3, last_day=date(2026, 3, 30))
    return world


@pytest.fixture(scope="module")
def shop(world) -> SiteSpec:
    site_id = world.services.events.query(
        "SELECT any(site_id) FROM {db}.events WHERE hostname = 'shop.example'"
    ).scalar()
    return replace(SHOP_SPEC, id=int(site_id))


@pytest.mark.parametrize("timezone", ["Etc/UTC", "Europe/Berlin", "America/New_York"])
@pytest.mark.parametrize("body", UNFILTERED, ids=lambda b: "+".join(b.get("dimensions", ["aggregate"])))
def test_rollups_answer_exactly_what_the_raw_rows_answer(world, shop, body, timezone) -> None:
    store = world.services.events
    for site, first, last in ((shop, "2026-03-09", "2026-03-10"), (DEMO, "2026-03-28", "2026-03-30")):
        zoned = replace(site, timezone=timezone)
        ask = {**body, "date_range": [first, last]}
        fast, fast_sql = run(store, zoned, ask, rollups=True)
        raw, raw_sql = run(store, zoned, ask, rollups=False)
        assert "_hourly" in fast_sql
        assert "_hourly" not in raw_sql
        assert fast == raw
        assert raw, "the fixture has data for every query"


def test_rollups_cover_a_visit_updated_after_it_started(world, shop) -> None:
    """Visit A1 is written as a first state and then cancelled and re-stated with each pageview."""
    rows, sql = run(
        world.services.events,
        shop,
        {"metrics": VISIT_METRICS[:-1], "date_range": ["2026-03-10", "2026-03-10"]},
        True,
    )
    assert "sessions_hourly" in sql
    # visitors, visits, pageviews, events, bounce_rate, visit_duration, views_per_visit (shop.py).
    assert rows == [(3, 4, 7, 9, 50, 80, 1.75)]


@pytest.mark.parametrize(
    "body",
    [
        {"metrics": ["visitors"], "filters": [["is", "visit:source", ["Google"]]]},
        {
            "metrics": ["visitors"],
            "dimensions": ["event:page"],
            "filters": [["is", "event:goal", ["Signup"]]],
        },
        {"metrics": ["visitors", "visits"], "dimensions": ["visit:exit_page"]},
        {"metrics": ["visitors"], "dimensions": ["visit:region"]},
        {"metrics": ["visitors", "time_on_page"], "dimensions": ["event:page"]},
        {"metrics": ["visitors", "visits"], "dimensions": ["event:page"]},
        {"metrics": ["visitors"], "dimensions": ["visit:source", "visit:country"]},
    ],
)
def test_queries_the_rollups_cannot_answer_read_the_raw_tables(world, body) -> None:
    rows, sql = run(world.services.events, DEMO, {**body, "date_range": ["2026-03-28", "2026-03-30"]}, True)
    assert "_hourly" not in sql
    assert rows


@pytest.mark.parametrize("timezone", ["Asia/Kolkata", "Australia/Adelaide", "America/St_Johns"])
def test_half_hour_time_zones_read_the_raw_tables(world, timezone) -> None:
    site = replace(DEMO, timezone=timezone)
    body = {"metrics": ["visitors"], "dimensions": ["time:day"], "date_range": ["2026-03-28", "2026-03-30"]}
    rows, sql = run(world.services.events, site, body, True)
    assert "_hourly" not in sql
    assert rows == run(world.services.events, site, body, False)[0]


def test_realtime_reads_the_raw_tables(world) -> None:
    _, sql = run(world.services.events, DEMO, {"metrics": ["visitors"], "date_range": "realtime"}, True)
    assert "_hourly" not in sql


def test_the_migration_backfills_the_rollups_from_existing_data(chdb_engine) -> None:
    """A store created before the rollups existed gets them filled from its rows; rows written
    afterwards reach them through the materialized views."""
    import uuid

    from footfall.events.schema import MIGRATIONS
    from footfall.events.store import migrate_events

    store = chdb_engine.scoped(f"rollup_{uuid.uuid4().hex[:12]}")
    try:
        migrate_events(store, MIGRATIONS[:1])
        generate(store, DEMO_SITE, DEMO.domain, events=8_000, days=2, last_day=date(2026, 3, 29))
        migrate_events(store)
        generate(store, DEMO_SITE + 1, "later.example", events=4_000, days=2, last_day=date(2026, 3, 29))
        for site in (DEMO, replace(DEMO, id=DEMO_SITE + 1, domain="later.example")):
            for body in UNFILTERED:
                ask = {**body, "date_range": ["2026-03-28", "2026-03-29"]}
                fast, fast_sql = run(store, site, ask, rollups=True)
                assert "_hourly" in fast_sql
                assert fast == run(store, site, ask, rollups=False)[0]
                assert fast
    finally:
        store.command("DROP DATABASE IF EXISTS {db}")
