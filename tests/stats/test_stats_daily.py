"""The daily counts (footfall.stats.daily) answer exactly what the raw tables answer.

Traffic is written through the ingestion pipeline over six days, with visits that cross
midnight (one id on two days), visitors who come back on another day (a new id), goals, and
a second site of generated demo traffic. Each query is run twice: through `compile_daily`
(counted days plus raw rows for the rest) and forced onto the raw tables; the rows must be
identical. The data is small, so Plausible's `uniq` is exact here and both must agree.
"""

from __future__ import annotations

import random
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from footfall.demo import DEMO_GOALS, generate
from footfall.ingest.api import Hit, record_hits
from footfall.stats import daily, v2
from footfall.stats.compiler import compile_query
from footfall.stats.engine import execute
from footfall.stats.query import GoalSpec, SiteSpec
from tests.stats.conftest import CHROME_MAC, EDGE_WINDOWS, FIREFOX_LINUX, SAFARI_IPHONE, SiteSetup

DOMAIN = "daily.example"
GOALS = [{"event_name": "Signup"}, {"page_path": "/pricing"}, {"page_path": "/blog/**"}]
SPEC_GOALS = tuple(
    GoalSpec(g.get("event_name") or f"Visit {g['page_path']}", g.get("event_name"), g.get("page_path"))
    for g in GOALS
)
FIRST_DAY = date(2026, 3, 5)
DAYS = 6  # 5 to 10 March; the 10th stays uncounted ("today" for the refresh below)
REFRESHED_AT = datetime(2026, 3, 10, 12, tzinfo=UTC)
DEMO_SITE = 91
DEMO = SiteSpec(
    DEMO_SITE,
    "demo-daily.example",
    "Etc/UTC",
    tuple(
        GoalSpec(g.get("event_name") or f"Visit {g['page_path']}", g.get("event_name"), g.get("page_path"))
        for g in DEMO_GOALS
    ),
)
AGENTS = [CHROME_MAC, SAFARI_IPHONE, FIREFOX_LINUX, EDGE_WINDOWS]
ADDRESSES = ["81.2.69.160", "89.160.20.112", "2.125.160.216", "67.43.156.1", "175.16.199.1", "216.160.83.56"]
PAGES = ["/", "/pricing", "/blog/one", "/blog/two", "/about"]
REFERRERS = [None, "https://www.google.com/", "https://news.ycombinator.com/", "https://twitter.com/x"]


def _hits() -> list[Hit]:
    """Visits on each day; some cross midnight, some visitors return on later days."""
    rng = random.Random(7)
    hits: list[Hit] = []
    for index in range(DAYS):
        day = datetime.combine(FIRST_DAY + timedelta(days=index), datetime.min.time(), tzinfo=UTC)
        for visitor in range(14):
            agent = AGENTS[visitor % len(AGENTS)]
            address = f"{ADDRESSES[visitor % len(ADDRESSES)][:-1]}{visitor % 9}"
            # Late visitors start close to midnight and keep browsing into the next day.
            start = (
                day + timedelta(hours=23, minutes=40)
                if visitor % 5 == 0
                else day + timedelta(hours=rng.randint(1, 21), minutes=rng.randint(0, 59))
            )
            moment = start
            referrer = REFERRERS[visitor % len(REFERRERS)]
            for step in range(1 + visitor % 4):
                page = PAGES[(visitor + step * 2 + index) % len(PAGES)]
                hits.append(
                    Hit(
                        "pageview",
                        f"https://{DOMAIN}{page}",
                        DOMAIN,
                        agent,
                        address,
                        moment,
                        referrer=referrer,
                    )
                )
                referrer = None
                moment += timedelta(minutes=rng.randint(4, 12))
                if visitor % 3 == 0 and step == 0:
                    hits.append(Hit("Signup", f"https://{DOMAIN}{page}", DOMAIN, agent, address, moment))
    hits.sort(key=lambda h: h.timestamp)
    return hits


@pytest.fixture(scope="module")
def world(world_factory):
    world = world_factory([SiteSetup(DOMAIN, goals=GOALS)], _hits())
    store = world.services.events
    generate(store, DEMO_SITE, DEMO.domain, events=20_000, days=4, last_day=date(2026, 3, 9))
    return world


@pytest.fixture(scope="module")
def site(world) -> SiteSpec:
    site_id = world.services.events.query(
        "SELECT any(site_id) FROM {db}.events WHERE hostname = {h:String}", {"h": DOMAIN}
    ).scalar()
    return SiteSpec(int(site_id), DOMAIN, "Etc/UTC", SPEC_GOALS)


@pytest.fixture(scope="module")
def counted(world, site):
    made = daily.refresh(world.services.events, [(site.id, site.goals), (DEMO.id, DEMO.goals)], REFRESHED_AT)
    assert made > 0
    return world


def one_site(
    world_factory, domain: str, moments: list[datetime], name: str = "pageview"
) -> tuple[Any, Any, int]:
    """A world with one site and one visitor's `name` events at `moments`: (world, store, site id)."""
    world = world_factory([SiteSetup(domain)], [])
    hits = [Hit(name, f"https://{domain}/", domain, CHROME_MAC, "81.2.69.160", at) for at in moments]
    record_hits(world.services, hits)
    store = world.services.events
    site_id = store.query(
        "SELECT any(site_id) FROM {db}.events WHERE hostname = {h:String}", {"h": domain}
    ).scalar()
    return world, store, int(site_id)


SESSION_QUERIES: list[dict[str, Any]] = [
    {
        "metrics": [
            "visitors",
            "visits",
            "pageviews",
            "views_per_visit",
            "bounce_rate",
            "visit_duration",
            "events",
        ]
    },
    {"metrics": ["visitors"], "dimensions": ["time:day"]},
    {"metrics": ["visitors", "visits"], "dimensions": ["time:week"]},
    {"metrics": ["visitors", "bounce_rate", "visit_duration"], "dimensions": ["visit:source"]},
    {"metrics": ["visitors", "visits"], "dimensions": ["visit:entry_page"]},
    {"metrics": ["visitors", "visits"], "dimensions": ["visit:exit_page"]},
    {"metrics": ["visitors", "percentage"], "dimensions": ["visit:country"]},
    {"metrics": ["visitors", "percentage"], "dimensions": ["visit:device"]},
    {"metrics": ["visitors", "visits", "pageviews"], "dimensions": ["visit:browser"]},
    {"metrics": ["visitors"], "dimensions": ["visit:region"]},
    {"metrics": ["visitors", "visits"], "dimensions": ["visit:channel"]},
    {"metrics": ["percentage", "visitors"], "dimensions": ["visit:referrer"]},
]
EVENT_QUERIES: list[dict[str, Any]] = [
    {"metrics": ["visitors", "pageviews"], "dimensions": ["event:page"]},
    {"metrics": ["visitors", "pageviews", "events", "percentage"], "dimensions": ["event:page"]},
    {"metrics": ["visitors", "events"], "dimensions": ["event:name"]},
    {"metrics": ["visitors", "events", "conversion_rate"], "dimensions": ["event:goal"]},
]
RANGES = [
    ("2026-03-05", "2026-03-10"),  # every counted day and the uncounted 10th
    ("2026-03-06", "2026-03-08"),  # counted days only, visits crossing both ends
    ("2026-03-07", "2026-03-07"),  # one day
    ("2026-03-01", "2026-03-31"),  # a month with empty days
]


def run(store: Any, site: SiteSpec, body: dict[str, Any], use_daily: bool) -> tuple[list[Any], bool]:
    query = v2.parse(site, {"site_id": site.domain, **body}, REFRESHED_AT)
    compiled = daily.compile_daily(store, query) if use_daily else None
    used = compiled is not None
    compiled = compiled or compile_query(query, rollups=False)
    return store.query(compiled.sql, compiled.params).rows, used


@pytest.mark.parametrize("timezone", ["Etc/UTC", "Europe/Berlin", "America/New_York"])
@pytest.mark.parametrize("period", RANGES, ids=lambda r: f"{r[0]}..{r[1]}")
@pytest.mark.parametrize(
    "body", SESSION_QUERIES + EVENT_QUERIES, ids=lambda b: "+".join(b.get("dimensions", ["aggregate"]))
)
def test_daily_counts_answer_exactly_what_the_raw_rows_answer(counted, site, body, period, timezone) -> None:
    store = counted.services.events
    for spec in (site, DEMO):
        zoned = replace(spec, timezone=timezone)
        ask = {**body, "date_range": list(period)}
        fast, used = run(store, zoned, ask, use_daily=True)
        raw, _ = run(store, zoned, ask, use_daily=False)
        time_dimension = any(d.startswith("time:") for d in body.get("dimensions", []))
        # Zoned day buckets and a zoned single day (no whole UTC day inside) are read raw.
        zoned_only = timezone != "Etc/UTC" and (time_dimension or period[0] == period[1])
        assert used != zoned_only
        assert fast == raw
        if period[0] <= "2026-03-07":
            assert raw, "the fixture has data for every query"


def test_a_visit_across_midnight_keeps_its_first_id(counted, site) -> None:
    """Its session rows carry the first day's id, its events after midnight the new day's: visits
    of different start days, and events of different days, never share an id."""
    store = counted.services.events
    shared = store.query(
        "SELECT count() FROM (SELECT user_id FROM {db}.sessions WHERE site_id = {s:UInt64} "
        "GROUP BY user_id HAVING uniqExact(toDate(start)) > 1)",
        {"s": site.id},
    ).scalar()
    crossing = store.query(
        "SELECT count() FROM (SELECT session_id FROM {db}.events WHERE site_id = {s:UInt64} "
        "GROUP BY session_id HAVING uniqExact(toDate(timestamp)) > 1)",
        {"s": site.id},
    ).scalar()
    assert crossing > 0 and shared == 0
    body = {"metrics": ["visitors", "pageviews"], "date_range": ["2026-03-05", "2026-03-09"]}
    fast, used = run(store, site, body, True)
    assert used and fast == run(store, site, body, False)[0]


def test_queries_the_daily_counts_cannot_answer_are_left_to_the_compiler(counted, site) -> None:
    store = counted.services.events
    for body in (
        {"metrics": ["visitors"], "filters": [["is", "visit:source", ["Google", "Bing"]]]},
        {"metrics": ["visitors"], "filters": [["contains", "visit:source", ["Goo"]]]},
        {"metrics": ["visitors"], "filters": [["is", "visit:source", ["google"], {"case_sensitive": False}]]},
        {
            "metrics": ["visitors"],
            "filters": [["is", "visit:source", ["Google"]], ["is", "event:page", ["/"]]],
        },
        {"metrics": ["visitors"], "filters": [["is", "visit:entry_page", ["/"]]]},
        # Under a page filter, visits are those that saw the page: not kept per day.
        {"metrics": ["visitors", "visits"], "filters": [["is", "event:page", ["/"]]]},
        {
            "metrics": ["visitors"],
            "dimensions": ["visit:exit_page"],
            "filters": [["is", "event:page", ["/"]]],
        },
        {"metrics": ["visitors"], "dimensions": ["visit:source", "visit:country"]},
        {"metrics": ["visitors", "time_on_page"], "dimensions": ["event:page"]},
        {"metrics": ["visitors"], "dimensions": ["time:hour"]},
        {"metrics": ["visitors"], "date_range": "realtime"},
    ):
        _, used = run(store, site, {"date_range": ["2026-03-05", "2026-03-09"], **body}, True)
        assert not used, body


def test_one_source_or_page_filter_is_answered_from_the_counts_per_filter_value(counted, site) -> None:
    store = counted.services.events
    for body in (
        {"metrics": ["visitors", "visits", "bounce_rate"], "filters": [["is", "visit:source", ["Google"]]]},
        {
            "metrics": ["visitors"],
            "dimensions": ["event:page"],
            "filters": [["is", "visit:source", ["Google"]]],
        },
        {"metrics": ["visitors", "pageviews"], "filters": [["is", "event:page", ["/"]]]},
        {"metrics": ["visitors"], "dimensions": ["visit:source"], "filters": [["is", "event:page", ["/"]]]},
        {"metrics": ["visitors"], "dimensions": ["time:day"], "filters": [["is", "event:page", ["/"]]]},
    ):
        full = {"date_range": ["2026-03-05", "2026-03-09"], **body}
        answer, used = run(store, site, full, True)
        assert used, body
        assert answer == run(store, site, full, False)[0], body


def test_a_write_about_a_counted_day_sends_it_back_to_the_raw_rows_until_recounted(world_factory) -> None:
    base = datetime(2026, 3, 5, 10, tzinfo=UTC)
    world, store, site_id = one_site(
        world_factory, "late.example", [base + timedelta(days=d) for d in range(3)]
    )
    spec = SiteSpec(int(site_id), "late.example")
    now = datetime(2026, 3, 9, tzinfo=UTC)
    daily.refresh(store, [(spec.id, ())], now)
    body = {"metrics": ["visitors", "pageviews"], "date_range": ["2026-03-05", "2026-03-07"]}
    query = v2.parse(spec, {"site_id": spec.domain, **body}, now)
    assert daily.compile_daily(store, query) is not None
    assert execute(store, query).rows[0].metrics == {"visitors": 3, "pageviews": 3}

    # A replayed write about the 6th: another visitor. The 6th is now read raw, still exact.
    record_hits(
        world.services,
        [
            Hit(
                "pageview",
                "https://late.example/a",
                "late.example",
                SAFARI_IPHONE,
                "89.160.20.112",
                base + timedelta(days=1),
            )
        ],
    )
    states = daily.day_states(store, spec.id, date(2026, 3, 5), date(2026, 3, 7))
    assert states[(date(2026, 3, 6), "rows")].state == daily.DIRTY
    assert states[(date(2026, 3, 5), "rows")].state == daily.COMPUTED
    assert execute(store, query).rows[0].metrics == {"visitors": 4, "pageviews": 4}
    daily.refresh(store, [(spec.id, ())], now)
    assert (
        daily.day_states(store, spec.id, date(2026, 3, 6), date(2026, 3, 6))[(date(2026, 3, 6), "rows")].state
        == daily.COMPUTED
    )
    assert execute(store, query).rows[0].metrics == {"visitors": 4, "pageviews": 4}


def test_days_are_counted_only_once_sealed_and_again_when_goals_change(world_factory) -> None:
    moments = [datetime(2026, 3, d, 23, 30, tzinfo=UTC) for d in (5, 6)]
    _world, store, site_id = one_site(world_factory, "seal.example", moments, name="Signup")
    # At 00:30 on the 7th the 6th is over but not sealed (SEAL_AFTER is an hour).
    daily.refresh(store, [(site_id, ())], datetime(2026, 3, 7, 0, 30, tzinfo=UTC))
    states = daily.day_states(store, site_id, date(2026, 3, 1), date(2026, 3, 31))
    assert states[(date(2026, 3, 5), "rows")].state == daily.COMPUTED
    # (record_hits marked the 6th dirty: it wrote about a day before the real today)
    assert states[(date(2026, 3, 6), "rows")].state == daily.DIRTY
    goal = GoalSpec("Signup", "Signup")
    spec = SiteSpec(site_id, "seal.example", goals=(goal,))
    query = v2.parse(
        spec,
        {
            "site_id": spec.domain,
            "metrics": ["visitors", "events"],
            "dimensions": ["event:goal"],
            "date_range": ["2026-03-05", "2026-03-05"],
        },
        datetime(2026, 3, 8, tzinfo=UTC),
    )
    assert daily.compile_daily(store, query) is None  # counted without that goal
    daily.refresh(store, [(site_id, (goal,))], datetime(2026, 3, 8, tzinfo=UTC))
    assert daily.compile_daily(store, query) is not None
    assert [r.metrics for r in execute(store, query).rows] == [{"visitors": 1, "events": 1}]


def test_the_newest_sealed_days_are_counted_first(world_factory) -> None:
    moments = [datetime(2026, 3, d, 12, tzinfo=UTC) for d in (2, 3, 4)]
    _world, store, site_id = one_site(world_factory, "newest.example", moments)
    asked = iter([False, True])  # stop after the first count
    made = daily.refresh(
        store, [(site_id, ())], datetime(2026, 3, 6, tzinfo=UTC), stopping=lambda: next(asked)
    )
    assert made == 1
    states = daily.day_states(store, site_id, date(2026, 3, 1), date(2026, 3, 5))
    counted = sorted(
        day for (day, part), state in states.items() if part == "rows" and state.state == daily.COMPUTED
    )
    assert counted == [date(2026, 3, 4)]


def test_the_background_refresher_counts_days(world_factory) -> None:
    _world, store, site_id = one_site(world_factory, "bg.example", [datetime(2026, 3, 5, 9, tzinfo=UTC)])
    refresher = daily.Refresher(store, lambda: [(site_id, ())], interval=0.1)
    refresher.start()
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=20)
        while datetime.now(UTC) < deadline:
            found = daily.day_states(store, site_id, date(2026, 3, 5), date(2026, 3, 5))
            if found and found[(date(2026, 3, 5), "rows")].state == daily.COMPUTED:
                break
            time.sleep(0.05)
        states = daily.day_states(store, site_id, date(2026, 3, 5), date(2026, 3, 5))
    finally:
        refresher.stop()
    assert states[(date(2026, 3, 5), "rows")].state == daily.COMPUTED


def test_a_flushed_write_ahead_log_batch_about_a_counted_day_marks_it_dirty(world_factory, tmp_path) -> None:
    from footfall.ingest.buffer import WriteAheadBuffer
    from footfall.ingest.ingestion import ingestion_for
    from footfall.ingest.request import parse_event

    world = world_factory([SiteSetup("wal.example")], [])
    store = world.services.events
    moment = datetime(2026, 3, 5, 10, tzinfo=UTC)
    pipeline = ingestion_for(world.services).pipeline
    request = parse_event({"n": "pageview", "u": "https://wal.example/", "d": "wal.example"})
    _, rows = pipeline.process(request.arrived("81.2.69.160", CHROME_MAC, int(moment.timestamp())))
    site_id = rows.events[0][1]
    daily.count_day(store, site_id, date(2026, 3, 5), ())
    assert (
        daily.day_states(store, site_id, date(2026, 3, 5), date(2026, 3, 5))[(date(2026, 3, 5), "rows")].state
        == daily.COMPUTED
    )

    buffer = WriteAheadBuffer(store, tmp_path / "wal", sync="none", flush_interval=3600)
    buffer.open()
    buffer.append(rows.events, rows.sessions)
    assert buffer.flush()
    buffer.stop()
    state = daily.day_states(store, site_id, date(2026, 3, 5), date(2026, 3, 5))[(date(2026, 3, 5), "rows")]
    assert state.state == daily.DIRTY


def test_a_recount_drops_the_rows_of_counts_older_than_an_hour(world_factory) -> None:
    _world, store, site_id = one_site(world_factory, "old.example", [datetime(2026, 3, 5, 9, tzinfo=UTC)])
    day = date(2026, 3, 5)

    def generations() -> set[int]:
        return {
            int(row[0])
            for row in store.query(
                "SELECT DISTINCT generation FROM {db}.daily_sessions WHERE site_id = {s:UInt64}",
                {"s": site_id},
            ).rows
        }

    daily.count_day(store, site_id, day, ())
    (recent,) = generations()
    # A copy of that count's rows under a generation two hours older: an old recount's rows.
    old = recent - 2 * 3_600_000_000 * 1000
    store.command(
        "INSERT INTO {db}.daily_sessions SELECT site_id, day, {old:UInt64}, kind, value, visitors, visits, "
        "bounces, duration, pageviews, events FROM {db}.daily_sessions WHERE generation = {recent:UInt64}",
        {"old": old, "recent": recent},
    )
    assert generations() == {recent, old}
    daily.count_day(store, site_id, day, ())
    remaining = generations()
    # The old rows are gone; the recent count stays (a query may still read it) beside the new one.
    assert old not in remaining and recent in remaining and len(remaining) == 2
    state = daily.day_states(store, site_id, day, day)[(day, "rows")]
    assert state.generation in remaining and state.generation != recent
