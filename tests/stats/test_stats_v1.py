"""Stats API v1 over HTTP on the shop.example fixture (numbers worked out in tests/stats/shop.py),
and on calendar.example for the edges of each named period (its visits are listed below)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.stats.conftest import FIREFOX_LINUX, SiteSetup, hit
from tests.stats.shop import DAY, SHOP, shop_hits

ALL = "visitors,visits,pageviews,views_per_visit,bounce_rate,visit_duration,events"


@pytest.fixture(scope="module")
def world(world_factory):
    return world_factory([SHOP], shop_hits())


def day(world, **params):
    return world.aggregate(site_id="shop.example", period="day", date=DAY, **params)


# --- aggregate ---------------------------------------------------------------------------------


def test_aggregate_gives_every_session_and_event_metric(world) -> None:
    assert day(world, metrics=ALL) == {
        "visitors": 3,
        "visits": 4,
        "pageviews": 7,
        "views_per_visit": 1.75,
        "bounce_rate": 50,
        "visit_duration": 80,
        "events": 9,
    }


def test_aggregate_defaults_to_visitors(world) -> None:
    assert day(world) == {"visitors": 3}


def test_aggregate_compare_previous_period_gives_change(world) -> None:
    response = world.v1(
        "aggregate",
        site_id="shop.example",
        period="day",
        date=DAY,
        metrics="visitors,visits,pageviews,bounce_rate,visit_duration",
        compare="previous_period",
    )
    results = response.json()["results"]
    # 2026-03-09: one visitor, one bouncing visit of one pageview and 0 s.
    assert {m: (r["value"], r["change"]) for m, r in results.items()} == {
        "visitors": (3, 200),
        "visits": (4, 300),
        "pageviews": (7, 600),
        "bounce_rate": (50, -50),
        "visit_duration": (80, 100),
    }


def test_aggregate_custom_period_spans_both_days(world) -> None:
    assert world.aggregate(
        site_id="shop.example", period="custom", date="2026-03-09,2026-03-10", metrics="visitors,visits"
    ) == {"visitors": 4, "visits": 5}


def test_aggregate_30d_period_counts_back_from_date(world) -> None:
    assert world.aggregate(site_id="shop.example", period="30d", date="2026-04-08", metrics="visits") == {
        "visits": 5
    }
    # 2026-04-09 minus 30 days is 03-10: the day before drops out.
    assert world.aggregate(site_id="shop.example", period="30d", date="2026-04-09", metrics="visits") == {
        "visits": 4
    }


def test_aggregate_of_an_empty_range_is_zero(world) -> None:
    assert world.aggregate(site_id="shop.example", period="day", date="2025-01-01", metrics=ALL) == {
        "visitors": 0,
        "visits": 0,
        "pageviews": 0,
        "views_per_visit": 0,
        "bounce_rate": 0,
        "visit_duration": 0,
        "events": 0,
    }


def test_month_and_year_periods(world) -> None:
    # Every fixture visit falls in each of these; the calendar tests below tell edges apart.
    assert world.aggregate(site_id="shop.example", period="month", date="2026-03-31")["visitors"] == 4
    assert world.aggregate(site_id="shop.example", period="6mo", date="2026-05-01")["visitors"] == 4
    assert world.aggregate(site_id="shop.example", period="12mo", date="2027-02-01")["visitors"] == 4
    assert world.aggregate(site_id="shop.example", period="year", date="2026-12-31")["visitors"] == 4
    assert world.aggregate(site_id="shop.example", period="7d", date="2026-03-16")["visitors"] == 3
    assert world.aggregate(site_id="shop.example", period="all")["visitors"] == 4


# --- period edges (calendar.example) -----------------------------------------------------------

# One visitor each, a single pageview of a page named after its moment, on either side of
# every period's edges around the reference date 2025-08-15 (UTC site). The periods, worked
# out for that date: month 2025-08-01..08-31, 6mo 2025-03-01..08-31, 12mo
# 2024-09-01..2025-08-31, year 2025-01-01..12-31.
CALENDAR = SiteSetup("calendar.example")
REFERENCE = "2025-08-15"
CALENDAR_VISITS = [
    "2024-08-10 12:00",  # August a year before the reference month
    "2024-08-31 23:59",  # the last minute before 12mo
    "2024-09-01 00:00",  # the first minute of 12mo
    "2024-12-31 23:59",  # the last minute before the year
    "2025-01-01 00:00",  # the first minute of the year
    "2025-02-28 23:59",  # the last minute before 6mo
    "2025-03-01 00:00",  # the first minute of 6mo
    "2025-07-31 23:59",  # the last minute before the month
    "2025-08-01 00:00",  # the first minute of the month
    "2025-08-15 12:00",  # the reference date
    "2025-08-31 23:59",  # the last minute of the month, 6mo and 12mo
    "2025-09-01 00:00",  # the first minute after them
    "2025-10-10 12:00",  # inside the year only
    "2025-12-31 23:59",  # the last minute of the year
    "2026-01-01 00:00",  # the first minute after the year
]
# And one visit a minute before the tests start: `all` runs up to today.
RECENT = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=1)


def page_of(moment: str) -> str:
    return "/" + moment.replace(" ", "T")


def calendar_hits():
    visits = [(datetime.fromisoformat(m), page_of(m)) for m in CALENDAR_VISITS] + [(RECENT, "/recent")]
    return [
        hit("pageview", page, moment, FIREFOX_LINUX, f"89.160.20.{10 + i}", domain="calendar.example")
        for i, (moment, page) in enumerate(visits)
    ]


@pytest.fixture(scope="module")
def calendar(world_factory):
    return world_factory([CALENDAR], calendar_hits())


MONTH = ["2025-08-01 00:00", "2025-08-15 12:00", "2025-08-31 23:59"]
SIX_MONTHS = ["2025-03-01 00:00", "2025-07-31 23:59", *MONTH]
TWELVE_MONTHS = ["2024-09-01 00:00", "2024-12-31 23:59", "2025-01-01 00:00", "2025-02-28 23:59", *SIX_MONTHS]
YEAR = [*TWELVE_MONTHS[2:], "2025-09-01 00:00", "2025-10-10 12:00", "2025-12-31 23:59"]


@pytest.mark.parametrize(
    ("period", "inside"),
    [("month", MONTH), ("6mo", SIX_MONTHS), ("12mo", TWELVE_MONTHS), ("year", YEAR)],
)
def test_each_period_starts_and_ends_on_its_edges(calendar, period, inside) -> None:
    params = {"site_id": "calendar.example", "period": period, "date": REFERENCE}
    assert calendar.aggregate(metrics="visitors,pageviews", **params) == {
        "visitors": len(inside),
        "pageviews": len(inside),
    }
    # Which visits, not only how many: each one's page is named after its moment.
    rows = calendar.v1("breakdown", property="event:page", **params).json()["results"]
    assert sorted(row["page"] for row in rows) == [page_of(moment) for moment in inside]


def test_all_runs_from_the_first_visit_to_today(calendar) -> None:
    # Every visit from 2024-08-10 (before the site existed) to the one a minute ago.
    everything = len(CALENDAR_VISITS) + 1
    assert calendar.aggregate(site_id="calendar.example", period="all") == {"visitors": everything}
    days = calendar.v1("timeseries", site_id="calendar.example", period="all", interval="date").json()[
        "results"
    ]
    assert days[0] == {"date": "2024-08-10", "visitors": 1}  # the range starts on the first visit's day
    busy = {day["date"]: day["visitors"] for day in days if day["visitors"]}
    assert busy == {moment[:10]: 1 for moment in CALENDAR_VISITS} | {RECENT.date().isoformat(): 1}
    pages = calendar.v1("breakdown", site_id="calendar.example", period="all", property="event:page")
    assert len(pages.json()["results"]) == everything


def test_aggregate_compare_year_over_year_gives_change(calendar) -> None:
    params = {"site_id": "calendar.example", "period": "month", "date": REFERENCE, "metrics": "visitors"}
    # August 2025 has 3 visitors; August 2024 had 2 (the 10th and the 31st at 23:59): +50%.
    year_ago = calendar.v1("aggregate", compare="year_over_year", **params).json()["results"]
    assert year_ago == {"visitors": {"value": 3, "change": 50, "comparison_value": 2}}
    # The previous period is July 2025, with one visitor (the 31st at 23:59): +200%.
    before = calendar.v1("aggregate", compare="previous_period", **params).json()["results"]
    assert before == {"visitors": {"value": 3, "change": 200, "comparison_value": 1}}


@pytest.mark.parametrize("interval", ["date", "day"])
def test_timeseries_interval_date_and_day_split_at_local_midnight(calendar, interval) -> None:
    response = calendar.v1(
        "timeseries",
        site_id="calendar.example",
        period="custom",
        date="2025-07-30,2025-08-02",
        interval=interval,
        metrics="visitors,pageviews",
    )
    # 23:59 on 07-31 and 00:00 on 08-01 fall on either side of midnight.
    assert response.json()["results"] == [
        {"date": "2025-07-30", "visitors": 0, "pageviews": 0},
        {"date": "2025-07-31", "visitors": 1, "pageviews": 1},
        {"date": "2025-08-01", "visitors": 1, "pageviews": 1},
        {"date": "2025-08-02", "visitors": 0, "pageviews": 0},
    ]


def test_timeseries_interval_month_over_a_year(calendar) -> None:
    response = calendar.v1(
        "timeseries", site_id="calendar.example", period="year", date=REFERENCE, interval="month"
    )
    assert response.json()["results"] == [
        {"date": "2025-01-01", "visitors": 1},
        {"date": "2025-02-01", "visitors": 1},  # 02-28 23:59
        {"date": "2025-03-01", "visitors": 1},
        {"date": "2025-04-01", "visitors": 0},
        {"date": "2025-05-01", "visitors": 0},
        {"date": "2025-06-01", "visitors": 0},
        {"date": "2025-07-01", "visitors": 1},  # 07-31 23:59
        {"date": "2025-08-01", "visitors": 3},
        {"date": "2025-09-01", "visitors": 1},
        {"date": "2025-10-01", "visitors": 1},
        {"date": "2025-11-01", "visitors": 0},
        {"date": "2025-12-01", "visitors": 1},  # 12-31 23:59
    ]


# --- filters -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ("visit:source==Google", {"visitors": 1, "pageviews": 3}),
        ("visit:source==Direct / None", {"visitors": 1, "pageviews": 2}),
        ("visit:source!=Google", {"visitors": 2, "pageviews": 4}),
        ("visit:source==Google|Hacker News", {"visitors": 2, "pageviews": 5}),
        ("visit:channel==Organic Social", {"visitors": 1, "pageviews": 2}),
        ("visit:country==DE|GB", {"visitors": 2, "pageviews": 5}),
        ("visit:device==Mobile", {"visitors": 1, "pageviews": 2}),
        ("visit:browser==Firefox", {"visitors": 1, "pageviews": 2}),
        ("visit:os==Mac", {"visitors": 1, "pageviews": 3}),
        ("visit:utm_campaign==launch", {"visitors": 1, "pageviews": 2}),
        ("visit:entry_page==/", {"visitors": 2, "pageviews": 4}),
        ("visit:exit_page==/blog/post-2", {"visitors": 1, "pageviews": 2}),
        ("event:page==/pricing", {"visitors": 2, "pageviews": 2}),
        ("event:page!=/pricing", {"visitors": 3, "pageviews": 5}),
        ("event:page==/blog/*", {"visitors": 2, "pageviews": 3}),
        ("event:page==/blog/**", {"visitors": 2, "pageviews": 3}),
        ("event:page==/*", {"visitors": 2, "pageviews": 4}),
        ("event:page~blog", {"visitors": 2, "pageviews": 3}),
        ("event:page!~blog", {"visitors": 2, "pageviews": 4}),
        ("event:name==Signup", {"visitors": 1, "pageviews": 0}),
        ("event:goal==Visit /pricing", {"visitors": 2, "pageviews": 2}),
        ("event:props:plan==pro", {"visitors": 1, "pageviews": 0}),
        ("visit:browser==Firefox;event:page==/blog/post-2", {"visitors": 1, "pageviews": 1}),
    ],
)
def test_filters(world, filters, expected) -> None:
    assert day(world, metrics="visitors,pageviews", filters=filters) == expected


def test_event_filter_narrows_session_metrics_to_visits_with_that_page(world) -> None:
    # Visits A1 (180 s) and B2 (0 s) saw /pricing; only B2 entered there, and bounced.
    assert day(world, metrics="visits,visit_duration,bounce_rate", filters="event:page==/pricing") == {
        "visits": 2,
        "visit_duration": 90,
        "bounce_rate": 100,
    }


def test_goal_filter_gives_conversion_rate(world) -> None:
    assert day(world, metrics="visitors,events,conversion_rate", filters="event:goal==Signup") == {
        "visitors": 1,
        "events": 1,
        "conversion_rate": 33.3,
    }


def test_time_on_page_and_scroll_depth_for_one_page(world) -> None:
    # (10 s + 30 s) over two page visits; deepest scrolls 40% and 80%.
    assert day(world, metrics="time_on_page,scroll_depth", filters="event:page==/blog/post-1") == {
        "time_on_page": 20,
        "scroll_depth": 60,
    }


def test_engagement_events_are_neither_events_nor_pageviews(world) -> None:
    assert day(world, metrics="events", filters="event:name==engagement") == {"events": 0}


# --- timeseries --------------------------------------------------------------------------------


def test_timeseries_by_day_fills_empty_days(world) -> None:
    response = world.v1(
        "timeseries", site_id="shop.example", period="7d", date="2026-03-11", metrics="visitors,pageviews"
    )
    assert response.json()["results"] == [
        {"date": "2026-03-05", "visitors": 0, "pageviews": 0},
        {"date": "2026-03-06", "visitors": 0, "pageviews": 0},
        {"date": "2026-03-07", "visitors": 0, "pageviews": 0},
        {"date": "2026-03-08", "visitors": 0, "pageviews": 0},
        {"date": "2026-03-09", "visitors": 1, "pageviews": 1},
        {"date": "2026-03-10", "visitors": 3, "pageviews": 7},
        {"date": "2026-03-11", "visitors": 0, "pageviews": 0},
    ]


def test_timeseries_by_hour_for_a_day(world) -> None:
    response = world.v1(
        "timeseries", site_id="shop.example", period="day", date=DAY, metrics="visitors,visits,pageviews"
    )
    rows = response.json()["results"]
    assert len(rows) == 24
    busy = {r["date"]: (r["visitors"], r["visits"], r["pageviews"]) for r in rows if r["visitors"]}
    assert busy == {
        "2026-03-10 10:00:00": (1, 1, 3),
        "2026-03-10 11:00:00": (1, 1, 1),
        "2026-03-10 12:00:00": (1, 1, 1),
        "2026-03-10 13:00:00": (1, 1, 2),
    }


def test_timeseries_interval_month_and_week(world) -> None:
    months = world.v1("timeseries", site_id="shop.example", period="6mo", date="2026-04-15", interval="month")
    assert months.json()["results"] == [
        {"date": "2025-11-01", "visitors": 0},
        {"date": "2025-12-01", "visitors": 0},
        {"date": "2026-01-01", "visitors": 0},
        {"date": "2026-02-01", "visitors": 0},
        {"date": "2026-03-01", "visitors": 4},
        {"date": "2026-04-01", "visitors": 0},
    ]
    weeks = world.v1(
        "timeseries", site_id="shop.example", period="custom", date="2026-03-04,2026-03-15", interval="week"
    )
    # Weeks start on Monday, but never before the first day asked for.
    assert weeks.json()["results"] == [
        {"date": "2026-03-04", "visitors": 0},
        {"date": "2026-03-09", "visitors": 4},
    ]


# --- breakdown ---------------------------------------------------------------------------------


def breakdown(world, prop, **params):
    response = world.v1("breakdown", site_id="shop.example", period="day", date=DAY, property=prop, **params)
    assert response.status_code == 200, response.text
    return response.json()["results"]


def test_breakdown_by_source_keys_rows_by_source(world) -> None:
    assert breakdown(world, "visit:source", metrics="visitors,visits,bounce_rate") == [
        {"source": "Direct / None", "visitors": 1, "visits": 2, "bounce_rate": 100},
        {"source": "Google", "visitors": 1, "visits": 1, "bounce_rate": 0},
        {"source": "Hacker News", "visitors": 1, "visits": 1, "bounce_rate": 0},
    ]


def test_breakdown_by_page_with_pagination(world) -> None:
    everything = breakdown(world, "event:page", metrics="visitors,pageviews")
    assert everything == [
        {"page": "/", "visitors": 2, "pageviews": 2},
        {"page": "/blog/post-1", "visitors": 2, "pageviews": 2},
        {"page": "/pricing", "visitors": 2, "pageviews": 2},
        {"page": "/blog/post-2", "visitors": 1, "pageviews": 1},
    ]
    assert breakdown(world, "event:page", metrics="visitors,pageviews", limit="2", page="2") == everything[2:]
    assert breakdown(world, "event:page", limit="2", page="3") == []


def test_breakdown_by_page_with_time_on_page_and_bounce_rate(world) -> None:
    rows = breakdown(world, "event:page", metrics="visitors,bounce_rate,time_on_page")
    assert rows == [
        {"page": "/", "visitors": 2, "bounce_rate": 50, "time_on_page": 0},
        {"page": "/blog/post-1", "visitors": 2, "bounce_rate": 0, "time_on_page": 20},
        {"page": "/pricing", "visitors": 2, "bounce_rate": 100, "time_on_page": 0},
        {"page": "/blog/post-2", "visitors": 1, "bounce_rate": 0, "time_on_page": 0},
    ]


def test_breakdown_entry_and_exit_pages(world) -> None:
    assert breakdown(world, "visit:entry_page", metrics="visitors,visits") == [
        {"entry_page": "/", "visitors": 2, "visits": 2},
        {"entry_page": "/blog/post-1", "visitors": 1, "visits": 1},
        {"entry_page": "/pricing", "visitors": 1, "visits": 1},
    ]
    assert breakdown(world, "visit:exit_page", metrics="visits") == [
        {"exit_page": "/", "visits": 1},
        {"exit_page": "/blog/post-1", "visits": 1},
        {"exit_page": "/blog/post-2", "visits": 1},
        {"exit_page": "/pricing", "visits": 1},
    ]


@pytest.mark.parametrize(
    ("prop", "key", "expected"),
    [
        ("visit:country", "country", [("DE", 1), ("GB", 1), ("SE", 1)]),
        ("visit:device", "device", [("Desktop", 2), ("Mobile", 1)]),
        ("visit:browser", "browser", [("Chrome", 1), ("Firefox", 1), ("Safari", 1)]),
        ("visit:os", "os", [("GNU/Linux", 1), ("Mac", 1), ("iOS", 1)]),
        ("visit:channel", "channel", [("Direct", 1), ("Organic Search", 1), ("Organic Social", 1)]),
        (
            "visit:referrer",
            "referrer",
            [("Direct / None", 1), ("google.com", 1), ("news.ycombinator.com/item", 1)],
        ),
        ("visit:utm_campaign", "utm_campaign", [("launch", 1)]),
        ("event:name", "name", [("pageview", 3), ("Purchase", 1), ("Signup", 1)]),
        ("event:props:plan", "plan", [("(none)", 3), ("pro", 1)]),
    ],
)
def test_breakdown_keys_rows_by_the_property_name(world, prop, key, expected) -> None:
    rows = breakdown(world, prop)
    assert [(r[key], r["visitors"]) for r in rows] == expected


def test_breakdown_by_goal_with_conversion_rate(world) -> None:
    rows = breakdown(world, "event:goal", metrics="visitors,events,conversion_rate")
    assert rows == [
        {"goal": "Visit /blog/**", "visitors": 2, "events": 3, "conversion_rate": 66.7},
        {"goal": "Visit /pricing", "visitors": 2, "events": 2, "conversion_rate": 66.7},
        {"goal": "Purchase", "visitors": 1, "events": 1, "conversion_rate": 33.3},
        {"goal": "Signup", "visitors": 1, "events": 1, "conversion_rate": 33.3},
    ]


def test_breakdown_with_a_session_filter_on_an_event_property(world) -> None:
    assert breakdown(world, "event:page", filters="visit:browser==Safari") == [
        {"page": "/", "visitors": 1},
        {"page": "/pricing", "visitors": 1},
    ]


def test_breakdown_of_props_under_a_goal_filter(world) -> None:
    assert breakdown(world, "event:props:plan", filters="event:goal==Signup") == [
        {"plan": "pro", "visitors": 1}
    ]


# --- realtime ----------------------------------------------------------------------------------


def test_realtime_visitors_is_a_bare_integer(world) -> None:
    response = world.v1("realtime/visitors", site_id="shop.example")
    assert response.status_code == 200
    assert response.json() == 0


def test_breakdown_by_versions_splits_by_browser_and_os(world) -> None:
    assert breakdown(world, "visit:browser_version") == [
        {"browser": "Chrome", "browser_version": "131.0", "visitors": 1},
        {"browser": "Firefox", "browser_version": "133.0", "visitors": 1},
        {"browser": "Safari", "browser_version": "17.5", "visitors": 1},
    ]
    assert [(r["os"], r["os_version"]) for r in breakdown(world, "visit:os_version")] == [
        ("GNU/Linux", "(not set)"),
        ("Mac", "10.15"),
        ("iOS", "17.5"),
    ]


def test_breakdown_conversion_rate_is_per_group_outside_goal_breakdowns(world) -> None:
    # Of the Desktop visitors A and C, A viewed /pricing; of the Mobile visitor B, B did.
    assert breakdown(
        world, "visit:device", metrics="visitors,conversion_rate", filters="event:goal==Visit /pricing"
    ) == [
        {"device": "Desktop", "visitors": 1, "conversion_rate": 50},
        {"device": "Mobile", "visitors": 1, "conversion_rate": 100},
    ]
