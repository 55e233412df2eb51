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
from footfall.stats.compiler import compile_query
from footfall.stats.query import GoalSpec, SiteSpec
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
# Unfiltered breakdowns by a visit's string properties, and by pages, goals and event names.
UNFILTERED: list[dict[str, Any]] = [
    *(
        {"metrics": [m for m in VISIT_METRICS if m != "views_per_visit"], "dimensions": [dimension]}
        for dimension in (
            "visit:source",
            "visit:referrer",
            "visit:utm_source",
            "visit:utm_medium",
            "visit:utm_campaign",
        )
    ),
    {"metrics": ["visitors", "visits", "bounce_rate"], "dimensions": ["time:day", "visit:source"]},
    {"metrics": ["visitors", "visit_duration"], "dimensions": ["time:hour", "visit:source"]},
    {"metrics": ["visitors", "pageviews", "events", "percentage"], "dimensions": ["event:page"]},
    {"metrics": ["visitors", "events"], "dimensions": ["event:name"]},
    {"metrics": ["visitors", "events", "conversion_rate"], "dimensions": ["event:goal"]},
    {"metrics": ["visitors", "pageviews"], "dimensions": ["time:day", "event:page"]},
    {"metrics": ["visitors", "events"], "dimensions": ["time:week", "event:goal"]},
    {"metrics": ["visitors", "events"], "dimensions": ["time:month", "event:name"]},
]
# Queries the rollups do not answer: filtered, split by a property the rollups lack or by two,
# exit pages and entry pages (a visit that begins with a custom event gets its entry page at its
# first pageview, and the rollups' visitor states would still count it in the empty group),
# metrics from engagement events or of visits split by page.
RAW_ONLY: list[dict[str, Any]] = [
    {"metrics": VISIT_METRICS[:-1]},
    {"metrics": ["visitors", "visits", "pageviews"], "dimensions": ["time:day"]},
    {"metrics": ["visitors", "percentage"], "dimensions": ["visit:country"]},
    {"metrics": ["visitors", "percentage"], "dimensions": ["visit:device"]},
    {"metrics": ["visitors"], "dimensions": ["visit:region"]},
    {"metrics": ["visitors"], "filters": [["is", "visit:source", ["Google"]]]},
    {"metrics": ["visitors"], "dimensions": ["visit:source"], "filters": [["is", "visit:country", ["US"]]]},
    {"metrics": ["visitors"], "dimensions": ["event:page"], "filters": [["is", "event:name", ["Signup"]]]},
    {"metrics": ["visitors", "visits"], "dimensions": ["visit:exit_page"]},
    {"metrics": [m for m in VISIT_METRICS if m != "views_per_visit"], "dimensions": ["visit:entry_page"]},
    {"metrics": ["visitors", "visit_duration"], "dimensions": ["time:hour", "visit:entry_page"]},
    {"metrics": ["visitors", "time_on_page"], "dimensions": ["event:page"]},
    {"metrics": ["visitors", "visits"], "dimensions": ["event:page"]},
    {"metrics": ["visitors"], "dimensions": ["visit:source", "visit:entry_page"]},
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


def test_entry_pages_count_a_visit_updated_after_it_started_once(world, shop) -> None:
    """Visit A1 is written as a first state and then cancelled and re-stated with each pageview;
    entry pages are read from the raw visits (see RAW_ONLY)."""
    body = {
        "metrics": ["visitors", "visits", "pageviews", "events", "bounce_rate", "visit_duration"],
        "dimensions": ["visit:entry_page"],
        "date_range": ["2026-03-10", "2026-03-10"],
    }
    rows, sql = run(world.services.events, shop, body, True)
    assert "sessions_hourly" not in sql
    # A1 entered on / (3 pageviews + Signup, 180 s), B1 on / (a bounce), B2 on /pricing (a
    # bounce), C1 on /blog/post-1 (2 pageviews + Purchase, 140 s); see shop.py.
    assert rows == [
        ("/", 2, 2, 4, 5, 50, 90),
        ("/blog/post-1", 1, 1, 2, 3, 0, 140),
        ("/pricing", 1, 1, 1, 1, 100, 0),
    ]


@pytest.mark.parametrize("body", RAW_ONLY, ids=lambda b: "+".join(b.get("dimensions", ["aggregate"])))
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


@pytest.mark.parametrize("site_name", ["shop", "demo"])
def test_exit_pages_count_each_visit_by_its_last_page(world, shop, site_name) -> None:
    """Visitors and visits by exit page, read in one pass, agree with each live visit's latest state."""
    site, first, last = (
        (shop, "2026-03-09", "2026-03-10") if site_name == "shop" else (DEMO, "2026-03-28", "2026-03-30")
    )
    store = world.services.events
    body = {"metrics": ["visitors", "visits"], "dimensions": ["visit:exit_page"], "date_range": [first, last]}
    body["pagination"] = {"limit": 1000}
    rows, _ = run(store, site, body, True)
    query = v2.parse(site, {"site_id": site.domain, **body}, NOW)
    expected = store.query(
        "SELECT exit_page, uniqExact(user_id) AS visitors, count() AS visits FROM ("
        "SELECT session_id, any(user_id) AS user_id, argMax(exit_page, version) AS exit_page "
        "FROM {db}.sessions WHERE site_id = {site:UInt64} AND start >= {start:DateTime('UTC')} "
        "AND start < {end:DateTime('UTC')} GROUP BY session_id HAVING sum(sign) > 0) "
        "GROUP BY exit_page ORDER BY visitors DESC, exit_page",
        {
            "site": site.id,
            "start": query.date_range.start.strftime("%Y-%m-%d %H:%M:%S"),
            "end": query.date_range.end.strftime("%Y-%m-%d %H:%M:%S"),
        },
    ).rows
    assert rows == expected
    assert len(rows) > 1


@pytest.mark.parametrize("timezone", ["Etc/UTC", "Europe/Berlin"])
@pytest.mark.parametrize(
    "body",
    [
        {"metrics": ["visitors", "conversion_rate"], "filters": [["is", "event:goal", ["Signup"]]]},
        {
            "metrics": ["visitors", "events", "conversion_rate"],
            "dimensions": ["visit:source"],
            "filters": [["is", "event:goal", ["Visit /pricing", "Purchase"]]],
        },
    ],
)
def test_conversion_rates_divide_by_the_same_visitors_from_the_hourly_total(world, body, timezone) -> None:
    site = replace(DEMO, timezone=timezone)
    ask = {**body, "date_range": ["2026-03-28", "2026-03-30"]}
    fast, fast_sql = run(world.services.events, site, ask, rollups=True)
    raw, raw_sql = run(world.services.events, site, ask, rollups=False)
    assert "visitors_hourly" in fast_sql
    assert "_hourly" not in raw_sql
    assert fast == raw
    assert fast
