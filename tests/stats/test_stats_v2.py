"""Stats API v2 (`POST /api/v2/query`) on the shop.example fixture (see tests/stats/shop.py)."""

from __future__ import annotations

import pytest

from tests.stats.shop import DAY, SHOP, shop_hits

RANGE = [DAY, DAY]


@pytest.fixture(scope="module")
def world(world_factory):
    return world_factory([SHOP], shop_hits())


def q(world, **body):
    return world.query(site_id="shop.example", date_range=body.pop("date_range", RANGE), **body)


def totals(world, metrics, **body):
    rows = q(world, metrics=metrics, **body)
    assert len(rows) == 1
    return dict(zip(metrics, rows[0]["metrics"], strict=True))


def test_aggregate_matches_v1(world) -> None:
    metrics = [
        "visitors",
        "visits",
        "pageviews",
        "views_per_visit",
        "bounce_rate",
        "visit_duration",
        "events",
    ]
    assert totals(world, metrics) == {
        "visitors": 3,
        "visits": 4,
        "pageviews": 7,
        "views_per_visit": 1.75,
        "bounce_rate": 50,
        "visit_duration": 80,
        "events": 9,
    }
    v1 = world.aggregate(site_id="shop.example", period="day", date=DAY, metrics=",".join(metrics))
    assert v1 == totals(world, metrics)


def test_response_echoes_the_query(world) -> None:
    response = world.v2({"site_id": "shop.example", "metrics": ["visitors"], "date_range": RANGE})
    body = response.json()
    assert body["results"] == [{"metrics": [3], "dimensions": []}]
    assert body["query"]["site_id"] == "shop.example"
    assert body["query"]["date_range"] == ["2026-03-10T00:00:00+00:00", "2026-03-10T23:59:59+00:00"]
    assert body["query"]["pagination"] == {"limit": 10000, "offset": 0}
    assert body["meta"] == {}


@pytest.mark.parametrize(
    "include",
    [{"imports": True}, {"imports": True, "imports_meta": True}, {"imports_meta": True}],
)
def test_imports_requested_on_a_site_without_imported_data(world, include) -> None:
    body = {"site_id": "shop.example", "metrics": ["visitors"], "date_range": RANGE, "include": include}
    response = world.v2(body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["results"] == [{"metrics": [3], "dimensions": []}]
    assert answer["meta"] == {"imports_included": False, "imports_skip_reason": "no_imported_data"}
    assert answer["query"]["include"] == include


def test_imports_false_adds_nothing_to_meta(world) -> None:
    body = {"site_id": "shop.example", "metrics": ["visitors"], "date_range": RANGE}
    response = world.v2({**body, "include": {"imports": False, "total_rows": True}})
    assert response.status_code == 200, response.text
    assert response.json()["meta"] == {"total_rows": 1}


@pytest.mark.parametrize("flag", ["imports", "imports_meta"])
@pytest.mark.parametrize("value", ["true", 1, None, []])
def test_a_non_boolean_imports_flag_is_a_400(world, flag, value) -> None:
    body = {"site_id": "shop.example", "metrics": ["visitors"], "date_range": RANGE}
    response = world.v2({**body, "include": {flag: value}})
    assert response.status_code == 400, response.text
    assert response.json() == {"error": f"Invalid include.{flag}: expected true or false."}


def test_date_range_with_timestamps(world) -> None:
    assert totals(world, ["visitors"], date_range=["2026-03-10T10:30:00Z", "2026-03-10T12:30:00Z"]) == {
        "visitors": 1
    }


def test_named_date_range_with_reference_date(world) -> None:
    assert totals(world, ["visits"], date_range="7d", date="2026-03-12") == {"visits": 5}
    assert totals(world, ["visits"], date_range="28d", date="2026-03-12") == {"visits": 5}
    assert totals(world, ["visits"], date_range="91d", date="2026-03-12") == {"visits": 5}


def test_dimensions_and_percentage(world) -> None:
    rows = q(world, metrics=["visitors", "percentage"], dimensions=["visit:device"])
    assert rows == [
        {"metrics": [2, 66.7], "dimensions": ["Desktop"]},
        {"metrics": [1, 33.3], "dimensions": ["Mobile"]},
    ]


def test_two_dimensions(world) -> None:
    rows = q(
        world,
        metrics=["visitors"],
        dimensions=["visit:browser", "event:page"],
        order_by=[["visit:browser", "asc"]],
    )
    assert [r["dimensions"] + r["metrics"] for r in rows] == [
        ["Chrome", "/", 1],
        ["Chrome", "/blog/post-1", 1],
        ["Chrome", "/pricing", 1],
        ["Firefox", "/blog/post-1", 1],
        ["Firefox", "/blog/post-2", 1],
        ["Safari", "/", 1],
        ["Safari", "/pricing", 1],
    ]


@pytest.mark.parametrize(
    ("dimension", "expected"),
    [
        ("event:hostname", [["shop.example", 3]]),
        ("visit:region", [["DE-BE", 1], ["GB-ENG", 1]]),
        ("visit:city", [["Berlin (Charlottenburg-Wilmersdorf)", 1], ["London", 1], ["Stockholm", 1]]),
        ("visit:country", [["DE", 1], ["GB", 1], ["SE", 1]]),
        ("visit:screen", [["Desktop", 2], ["Mobile", 1]]),
        ("visit:exit_page_hostname", [["shop.example", 3]]),
        ("visit:os_version", [["(not set)", 1], ["10.15", 1], ["17.5", 1]]),
        ("visit:browser_version", [["131.0", 1], ["133.0", 1], ["17.5", 1]]),
        ("visit:utm_source", [["(not set)", 3]]),
        ("visit:utm_medium", [["(not set)", 3]]),
        ("visit:utm_content", [["(not set)", 3]]),
        ("visit:utm_term", [["(not set)", 3]]),
    ],
)
def test_each_dimension(world, dimension, expected) -> None:
    rows = q(
        world,
        metrics=["visitors"],
        dimensions=[dimension],
        order_by=[["visitors", "desc"], [dimension, "asc"]],
    )
    assert [r["dimensions"] + r["metrics"] for r in rows] == expected


def test_city_dimension_hides_unknown_locations(world) -> None:
    rows = q(world, metrics=["visitors"], dimensions=["visit:city"])
    assert all(r["dimensions"][0] != "" for r in rows)


@pytest.mark.parametrize(
    ("filters", "visitors", "pageviews"),
    [
        ([["is", "event:page", ["/pricing"]]], 2, 2),
        ([["is", "event:page", ["/PRICING"], {"case_sensitive": False}]], 2, 2),
        ([["is", "event:page", ["/PRICING"]]], 0, 0),
        ([["is_not", "event:page", ["/pricing"]]], 3, 5),
        ([["contains", "event:page", ["blog"]]], 2, 3),
        ([["contains", "event:page", ["BLOG"], {"case_sensitive": False}]], 2, 3),
        ([["contains_not", "event:page", ["blog"]]], 2, 4),
        ([["matches", "event:page", ["^/blog/post-[12]$"]]], 2, 3),
        ([["matches", "event:page", ["^/BLOG"], {"case_sensitive": False}]], 2, 3),
        ([["matches_not", "event:page", ["^/blog"]]], 2, 4),
        ([["matches_wildcard", "event:page", ["/blog/**"]]], 2, 3),
        ([["matches_wildcard_not", "event:page", ["/blog/**"]]], 2, 4),
        ([["or", [["is", "visit:source", ["Google"]], ["is", "visit:browser", ["Safari"]]]]], 2, 5),
        ([["not", ["is", "visit:browser", ["Safari"]]]], 2, 5),
        ([["and", [["is", "event:page", ["/"]], ["not", ["is", "visit:browser", ["Safari"]]]]]], 1, 1),
        (
            [
                [
                    "or",
                    [
                        ["and", [["is", "visit:country", ["DE"]], ["is", "event:page", ["/"]]]],
                        ["is", "visit:exit_page", ["/blog/post-2"]],
                    ],
                ]
            ],
            2,
            3,
        ),
        ([["has_done", ["is", "event:name", ["Signup"]]]], 1, 3),
        ([["has_not_done", ["is", "event:name", ["Signup"]]]], 2, 4),
        ([["has_done", ["is", "event:goal", ["Purchase"]]]], 1, 2),
        ([["is", "event:goal", ["Visit /blog/**"]]], 2, 3),
        ([["contains", "event:goal", ["Visit"]]], 3, 5),
        ([["is", "visit:country", ["SE"]]], 1, 2),
        ([["is", "visit:region", ["DE-BE"]]], 1, 3),
        ([["is", "visit:city", ["London"]]], 1, 2),
        ([["contains", "visit:city", ["berlin"], {"case_sensitive": False}]], 1, 3),
        ([["is", "visit:entry_page_hostname", ["shop.example"]]], 3, 7),
        ([["is", "event:props:plan", ["(none)"]]], 3, 7),
    ],
)
def test_filter_operators_and_nesting(world, filters, visitors, pageviews) -> None:
    assert totals(world, ["visitors", "pageviews"], filters=filters) == {
        "visitors": visitors,
        "pageviews": pageviews,
    }


def test_session_metric_under_an_or_of_event_and_session_filters(world) -> None:
    # Visits with a /pricing pageview (A1, B2) or entering on /blog/post-1 (C1).
    filters = [["or", [["is", "event:page", ["/pricing"]], ["is", "visit:entry_page", ["/blog/post-1"]]]]]
    assert totals(world, ["visits", "visit_duration"], filters=filters) == {
        "visits": 3,
        "visit_duration": 107,
    }


def test_goal_dimension_with_conversion_rates(world) -> None:
    rows = q(
        world, metrics=["visitors", "conversion_rate", "group_conversion_rate"], dimensions=["event:goal"]
    )
    assert [r["dimensions"] + r["metrics"] for r in rows] == [
        ["Visit /blog/**", 2, 66.7, 66.7],
        ["Visit /pricing", 2, 66.7, 66.7],
        ["Purchase", 1, 33.3, 33.3],
        ["Signup", 1, 33.3, 33.3],
    ]


def test_group_conversion_rate_divides_by_the_group(world) -> None:
    rows = q(
        world,
        metrics=["visitors", "conversion_rate", "group_conversion_rate"],
        dimensions=["visit:device"],
        filters=[["is", "event:goal", ["Visit /pricing"]]],
    )
    # Desktop: A converted of A and C; Mobile: B of B. Overall 2 of 3.
    assert [r["dimensions"] + r["metrics"] for r in rows] == [
        ["Desktop", 1, 33.3, 50],
        ["Mobile", 1, 33.3, 100],
    ]


def test_revenue_metrics_for_a_revenue_goal(world) -> None:
    rows = q(
        world,
        metrics=["visitors", "total_revenue", "average_revenue"],
        filters=[["is", "event:goal", ["Purchase"]]],
    )
    visitors, total, average = rows[0]["metrics"]
    assert visitors == 1
    assert total == {"short": "€20", "long": "€20.00", "value": 20.0, "currency": "EUR"}
    assert average["value"] == 20.0


def test_revenue_without_a_revenue_goal_is_null_with_a_warning(world) -> None:
    response = world.v2({"site_id": "shop.example", "metrics": ["total_revenue"], "date_range": RANGE})
    body = response.json()
    assert body["results"][0]["metrics"] == [None]
    assert body["meta"]["metric_warnings"]["total_revenue"]["code"] == "no_revenue_goals_matching"


def test_scroll_depth_and_time_on_page_by_page(world) -> None:
    rows = q(
        world,
        metrics=["scroll_depth", "time_on_page"],
        dimensions=["event:page"],
        filters=[["is", "event:page", ["/blog/post-1", "/"]]],
        order_by=[["event:page", "asc"]],
    )
    assert rows == [
        {"metrics": [0, 0], "dimensions": ["/"]},
        {"metrics": [60, 20], "dimensions": ["/blog/post-1"]},
    ]


def test_time_dimension_with_time_labels(world) -> None:
    response = world.v2(
        {
            "site_id": "shop.example",
            "metrics": ["visitors"],
            "date_range": ["2026-03-08", "2026-03-11"],
            "dimensions": ["time:day"],
            "include": {"time_labels": True},
        }
    )
    body = response.json()
    assert body["results"] == [
        {"metrics": [1], "dimensions": ["2026-03-09"]},
        {"metrics": [3], "dimensions": ["2026-03-10"]},
    ]
    assert body["meta"]["time_labels"] == ["2026-03-08", "2026-03-09", "2026-03-10", "2026-03-11"]


def test_time_picks_the_interval_for_the_range(world) -> None:
    rows = q(world, metrics=["pageviews"], dimensions=["time"])
    assert rows[0]["dimensions"] == ["2026-03-10 10:00:00"]
    rows = q(world, metrics=["pageviews"], dimensions=["time"], date_range=["2026-03-01", "2026-03-31"])
    assert [r["dimensions"][0] for r in rows] == ["2026-03-09", "2026-03-10"]
    rows = q(world, metrics=["pageviews"], dimensions=["time:month"], date_range=["2026-01-01", "2026-12-31"])
    assert rows == [{"metrics": [8], "dimensions": ["2026-03-01"]}]


def test_pagination_with_total_rows(world) -> None:
    response = world.v2(
        {
            "site_id": "shop.example",
            "metrics": ["visitors"],
            "date_range": RANGE,
            "dimensions": ["event:page"],
            "pagination": {"limit": 2, "offset": 2},
            "include": {"total_rows": True},
        }
    )
    body = response.json()
    assert body["results"] == [
        {"metrics": [2], "dimensions": ["/pricing"]},
        {"metrics": [1], "dimensions": ["/blog/post-2"]},
    ]
    assert body["meta"]["total_rows"] == 4
    past_the_end = world.v2(
        {
            "site_id": "shop.example",
            "metrics": ["visitors"],
            "date_range": RANGE,
            "dimensions": ["event:page"],
            "pagination": {"limit": 2, "offset": 10},
            "include": {"total_rows": True},
        }
    ).json()
    assert past_the_end["results"] == []
    assert past_the_end["meta"]["total_rows"] == 4


def test_order_by(world) -> None:
    rows = q(
        world,
        metrics=["visitors", "pageviews"],
        dimensions=["visit:browser"],
        order_by=[["pageviews", "asc"]],
    )
    assert [r["dimensions"][0] for r in rows] == ["Firefox", "Safari", "Chrome"]


def test_comparison_with_previous_period(world) -> None:
    response = world.v2(
        {
            "site_id": "shop.example",
            "metrics": ["visitors", "bounce_rate"],
            "date_range": RANGE,
            "include": {"comparisons": {"mode": "previous_period"}},
        }
    )
    body = response.json()
    assert body["results"] == [
        {
            "metrics": [3, 50],
            "dimensions": [],
            "comparison": {"dimensions": [], "metrics": [1, 100], "change": [200, -50]},
        }
    ]
    assert body["meta"]["comparison_date_range"] == ["2026-03-09T00:00:00+00:00", "2026-03-09T23:59:59+00:00"]


def test_comparison_by_time_pairs_buckets_by_position(world) -> None:
    response = world.v2(
        {
            "site_id": "shop.example",
            "metrics": ["visitors"],
            "date_range": RANGE,
            "dimensions": ["time:day"],
            "include": {"comparisons": {"mode": "custom", "date_range": ["2026-03-09", "2026-03-09"]}},
        }
    )
    assert response.json()["results"] == [
        {
            "metrics": [3],
            "dimensions": ["2026-03-10"],
            "comparison": {"dimensions": ["2026-03-09"], "metrics": [1], "change": [200]},
        }
    ]


def test_comparison_year_over_year_of_a_dimension(world) -> None:
    response = world.v2(
        {
            "site_id": "shop.example",
            "metrics": ["visitors"],
            "date_range": RANGE,
            "dimensions": ["visit:device"],
            "include": {"comparisons": {"mode": "year_over_year"}},
        }
    )
    rows = response.json()["results"]
    assert rows[0]["comparison"] == {"dimensions": ["Desktop"], "metrics": [0], "change": [100]}
    assert response.json()["meta"]["comparison_date_range"][0] == "2025-03-10T00:00:00+00:00"


def test_empty_range_gives_zero_totals_and_no_rows(world) -> None:
    empty = ["2020-01-01", "2020-01-31"]
    assert totals(world, ["visitors", "bounce_rate"], date_range=empty) == {"visitors": 0, "bounce_rate": 0}
    assert q(world, metrics=["visitors"], dimensions=["visit:source"], date_range=empty) == []


def test_session_metrics_by_entry_page(world) -> None:
    rows = q(world, metrics=["visits", "bounce_rate", "visit_duration"], dimensions=["visit:entry_page"])
    assert [r["dimensions"] + r["metrics"] for r in rows] == [
        ["/", 2, 50, 90],
        ["/blog/post-1", 1, 0, 140],
        ["/pricing", 1, 100, 0],
    ]


def test_funnel_counts_visitors_at_each_step(world) -> None:
    response = world.client.get(
        "/api/v1/stats/funnel",
        params={"site_id": "shop.example", "funnel_id": "1", "period": "day", "date": DAY},
        headers={"Authorization": f"Bearer {world.key}"},
    )
    body = response.json()
    assert body["name"] == "Pricing to signup"
    # A and B saw /pricing; only A signed up afterwards.
    assert [(s["label"], s["visitors"], s["dropoff"]) for s in body["steps"]] == [
        ("Visit /pricing", 2, 0),
        ("Signup", 1, 1),
    ]
    assert body["all_visitors"] == 3
    assert body["steps"][1]["conversion_rate"] == "50.00"
