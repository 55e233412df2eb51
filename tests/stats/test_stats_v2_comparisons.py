"""Comparisons aligned by weekday (`include.comparisons.match_day_of_week`), on the shop.example
fixture (see tests/stats/shop.py): 2026-03-10 is a Tuesday with 3 visitors; the only earlier
visit is visitor D's on Monday 2026-03-09.
"""

from __future__ import annotations

from datetime import date

import pytest

from footfall.stats.query import comparison_range, date_range
from tests.stats.shop import SHOP, shop_hits


@pytest.fixture(scope="module")
def world(world_factory):
    return world_factory([SHOP], shop_hits())


def compared(mode: str, first: str, last: str, match: bool) -> tuple[str, str]:
    rng = date_range(date.fromisoformat(first), date.fromisoformat(last), "Etc/UTC")
    other = comparison_range(rng, mode, match_day_of_week=match)
    return other.first.isoformat(), other.last.isoformat()


@pytest.mark.parametrize(
    ("mode", "first", "last", "match", "expected"),
    [
        # Plausible's own example: Sunday 1-7 January 2023 against a year before.
        ("year_over_year", "2023-01-01", "2023-01-07", False, ("2022-01-01", "2022-01-07")),
        ("year_over_year", "2023-01-01", "2023-01-07", True, ("2022-01-02", "2022-01-08")),
        # Seven days before seven days start on the same weekday already.
        ("previous_period", "2026-03-09", "2026-03-15", True, ("2026-03-02", "2026-03-08")),
        # Tue-Thu: the period before is Sat-Mon; the next Tuesday is the period's own first day,
        # so the comparison moves back to the Tuesday before.
        ("previous_period", "2026-03-10", "2026-03-12", False, ("2026-03-07", "2026-03-09")),
        ("previous_period", "2026-03-10", "2026-03-12", True, ("2026-03-03", "2026-03-05")),
        # March 2026 (31 days from a Sunday): the 31 days before start on Thursday 29 January and
        # move forward to Sunday 1 February, as Plausible moves them, overlapping by three days.
        ("previous_period", "2026-03-01", "2026-03-31", False, ("2026-01-29", "2026-02-28")),
        ("previous_period", "2026-03-01", "2026-03-31", True, ("2026-02-01", "2026-03-03")),
        # One day, Tuesday: the day before is Monday, the next Tuesday is the day itself.
        ("previous_period", "2026-03-10", "2026-03-10", True, ("2026-03-03", "2026-03-03")),
    ],
)
def test_comparison_ranges(mode, first, last, match, expected) -> None:
    assert compared(mode, first, last, match) == expected


def body(**include):
    return {
        "site_id": "shop.example",
        "metrics": ["visitors"],
        "date_range": ["2026-03-10", "2026-03-12"],
        "include": {"comparisons": include},
    }


def test_match_day_of_week_moves_the_compared_period(world) -> None:
    plain = world.v2(body(mode="previous_period")).json()
    # Sat 7 - Mon 9 March holds visitor D.
    assert plain["results"][0]["comparison"]["metrics"] == [1]
    assert plain["meta"]["comparison_date_range"][0] == "2026-03-07T00:00:00+00:00"
    matched = world.v2(body(mode="previous_period", match_day_of_week=True)).json()
    # Tue 3 - Thu 5 March: nobody.
    assert matched["results"][0]["comparison"] == {"dimensions": [], "metrics": [0], "change": [100]}
    assert matched["meta"]["comparison_date_range"] == [
        "2026-03-03T00:00:00+00:00",
        "2026-03-05T23:59:59+00:00",
    ]
    assert matched["query"]["include"]["comparisons"] == {
        "mode": "previous_period",
        "match_day_of_week": True,
    }


def test_match_day_of_week_false_is_the_plain_comparison(world) -> None:
    plain = world.v2(body(mode="year_over_year")).json()
    unmatched = world.v2(body(mode="year_over_year", match_day_of_week=False)).json()
    assert plain["meta"] == unmatched["meta"]
    assert unmatched["meta"]["comparison_date_range"][0] == "2025-03-10T00:00:00+00:00"
    matched = world.v2(body(mode="year_over_year", match_day_of_week=True)).json()
    # 10 March 2025 is a Monday; the next Tuesday is the 11th.
    assert matched["meta"]["comparison_date_range"][0] == "2025-03-11T00:00:00+00:00"


@pytest.mark.parametrize(
    ("comparisons", "message"),
    [
        ({"mode": "previous_period", "match_day_of_week": "yes"}, "match_day_of_week"),
        ({"mode": "previous_period", "match_day_of_week": 1}, "match_day_of_week"),
        ({"mode": "previous_period", "match_day_of_week": None}, "match_day_of_week"),
        ({"mode": "previous_period", "align": True}, '"align"'),
        ({"mode": "year_over_year", "date_range": ["2026-01-01", "2026-01-02"]}, "date_range"),
    ],
)
def test_bad_comparison_options_are_400s_naming_them(world, comparisons, message) -> None:
    response = world.v2(
        {
            "site_id": "shop.example",
            "metrics": ["visitors"],
            "date_range": ["2026-03-10", "2026-03-10"],
            "include": {"comparisons": comparisons},
        }
    )
    assert response.status_code == 400
    assert message in response.json()["error"]
