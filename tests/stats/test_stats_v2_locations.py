"""Location names in Stats API v2: `visit:country_name`, `visit:region_name`, `visit:city_name`
as dimensions and filters, on the shop.example fixture (see tests/stats/shop.py).

On 2026-03-10 visitor A comes from Berlin, Germany (DE, DE-BE; 1 visit, 3 pageviews), B from
London, England, United Kingdom (GB, GB-ENG; 2 visits, 2 pageviews, both bounces) and C from
Stockholm, Sweden (SE, no region in the City Lite file; 1 visit, 2 pageviews).
"""

from __future__ import annotations

import pytest

from footfall.stats.locations import country_names, region_names
from tests.stats.shop import DAY, SHOP, shop_hits

RANGE = [DAY, DAY]


@pytest.fixture(scope="module")
def world(world_factory):
    return world_factory([SHOP], shop_hits())


def rows(world, **body):
    found = world.query(site_id="shop.example", date_range=RANGE, **body)
    return [r["dimensions"] + r["metrics"] for r in found]


def test_names_come_from_the_iso_tables_in_english() -> None:
    assert country_names()["DE"] == "Germany"
    assert country_names()["GB"] == "United Kingdom"
    assert country_names()["KR"] == "South Korea"  # the common name, not "Korea, Republic of"
    assert region_names()["DE-BY"] == "Bavaria"  # English, not the local "Bayern"
    assert region_names()["SE-AB"] == "Stockholms län"  # without the "[SE-01]" annotation


def test_country_name_dimension(world) -> None:
    # One visitor each; ties are ordered by the name.
    assert rows(world, metrics=["visitors", "pageviews"], dimensions=["visit:country_name"]) == [
        ["Germany", 1, 3],
        ["Sweden", 1, 2],
        ["United Kingdom", 1, 2],
    ]


def test_order_by_country_name_sorts_names_not_codes(world) -> None:
    # By code the order would be DE, GB, SE: Germany, United Kingdom, Sweden.
    found = rows(
        world,
        metrics=["visitors"],
        dimensions=["visit:country_name"],
        order_by=[["visit:country_name", "asc"]],
    )
    assert [r[0] for r in found] == ["Germany", "Sweden", "United Kingdom"]
    paged = world.query(
        site_id="shop.example",
        date_range=RANGE,
        metrics=["visitors"],
        dimensions=["visit:country_name"],
        order_by=[["visit:country_name", "desc"]],
        pagination={"limit": 1, "offset": 1},
    )
    assert paged == [{"metrics": [1], "dimensions": ["Sweden"]}]


def test_region_name_dimension_leaves_out_unknown_regions(world) -> None:
    assert rows(
        world, metrics=["visitors"], dimensions=["visit:region_name"], order_by=[["visit:region_name", "asc"]]
    ) == [["Berlin", 1], ["England", 1]]


def test_city_name_dimension_is_the_stored_city(world) -> None:
    by_name = rows(
        world, metrics=["visitors"], dimensions=["visit:city_name"], order_by=[["visit:city_name", "asc"]]
    )
    by_city = rows(world, metrics=["visitors"], dimensions=["visit:city"], order_by=[["visit:city", "asc"]])
    assert by_name == by_city == [["Berlin (Charlottenburg-Wilmersdorf)", 1], ["London", 1], ["Stockholm", 1]]


def test_country_and_city_names_together_as_in_plausibles_example(world) -> None:
    found = rows(
        world,
        metrics=["visitors", "pageviews", "bounce_rate"],
        dimensions=["visit:country_name", "visit:city_name"],
        filters=[["is_not", "visit:country_name", [""]]],
        order_by=[["visit:country_name", "asc"]],
    )
    assert found == [
        ["Germany", "Berlin (Charlottenburg-Wilmersdorf)", 1, 3, 0],
        ["Sweden", "Stockholm", 1, 2, 0],
        ["United Kingdom", "London", 1, 2, 100],
    ]


@pytest.mark.parametrize(
    ("filters", "visitors", "visits", "pageviews"),
    [
        ([["is", "visit:country_name", ["Germany"]]], 1, 1, 3),
        ([["is", "visit:country_name", ["Germany", "Sweden"]]], 2, 2, 5),
        ([["is", "visit:country_name", ["germany"]]], 0, 0, 0),
        ([["is", "visit:country_name", ["germany"], {"case_sensitive": False}]], 1, 1, 3),
        ([["contains", "visit:country_name", ["united"], {"case_sensitive": False}]], 1, 2, 2),
        ([["is_not", "visit:country_name", ["United Kingdom"]]], 2, 2, 5),
        ([["matches", "visit:country_name", ["^S"]]], 1, 1, 2),
        ([["is", "visit:region_name", ["England"]]], 1, 2, 2),
        ([["contains", "visit:region_name", ["erl"]]], 1, 1, 3),
        ([["is", "visit:city_name", ["London"]]], 1, 2, 2),
        (
            [["and", [["is", "visit:country_name", ["Germany"]], ["is", "visit:city_name", ["London"]]]]],
            0,
            0,
            0,
        ),
        (
            [["or", [["is", "visit:country_name", ["Germany"]], ["is", "visit:city_name", ["Stockholm"]]]]],
            2,
            2,
            5,
        ),
        ([["not", ["is", "visit:country_name", ["Germany"]]]], 2, 3, 4),
    ],
)
def test_filters_on_names(world, filters, visitors, visits, pageviews) -> None:
    found = world.query(
        site_id="shop.example", date_range=RANGE, metrics=["visitors", "visits", "pageviews"], filters=filters
    )
    assert found[0]["metrics"] == [visitors, visits, pageviews]


def test_name_filter_with_an_event_breakdown(world) -> None:
    # Pages seen by visitors from the United Kingdom: B saw / and /pricing.
    found = rows(
        world,
        metrics=["visitors"],
        dimensions=["event:page"],
        filters=[["is", "visit:country_name", ["United Kingdom"]]],
        order_by=[["event:page", "asc"]],
    )
    assert found == [["/", 1], ["/pricing", 1]]


def test_names_are_v1_breakdown_properties_too(world) -> None:
    response = world.v1(
        "breakdown", site_id="shop.example", period="day", date=DAY, property="visit:country_name"
    )
    assert response.status_code == 200, response.text
    assert sorted(r["country_name"] for r in response.json()["results"]) == [
        "Germany",
        "Sweden",
        "United Kingdom",
    ]


def test_country_code_check_does_not_apply_to_names(world) -> None:
    response = world.v2(
        {
            "site_id": "shop.example",
            "metrics": ["visitors"],
            "date_range": RANGE,
            "filters": [["is", "visit:country", ["Germany"]]],
        }
    )
    assert response.status_code == 400
    assert "visit:country" in response.json()["error"]
