"""Time buckets in the site's time zone, across the spring-forward change (Europe/Berlin, 2026-03-29).

On 2026-03-29 Berlin clocks jump from 02:00 to 03:00 (UTC+1 to UTC+2), so the local day has
23 hours and starts at 23:00 UTC the evening before. Four visitors:

| UTC               | Berlin            | local day  | local hour |
|-------------------|-------------------|------------|------------|
| 03-28 22:30       | 03-28 23:30 (+1)  | 2026-03-28 | 23:00      |
| 03-28 23:30       | 03-29 00:30 (+1)  | 2026-03-29 | 00:00      |
| 03-29 00:30       | 03-29 01:30 (+1)  | 2026-03-29 | 01:00      |
| 03-29 01:30       | 03-29 03:30 (+2)  | 2026-03-29 | 03:00      |
| 03-29 22:30       | 03-30 00:30 (+2)  | 2026-03-30 | 00:00      |
"""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.stats.conftest import CHROME_MAC, SiteSetup, hit

SITE = SiteSetup("berlin.example", timezone="Europe/Berlin")
MOMENTS = [
    datetime(2026, 3, 28, 22, 30),
    datetime(2026, 3, 28, 23, 30),
    datetime(2026, 3, 29, 0, 30),
    datetime(2026, 3, 29, 1, 30),
    datetime(2026, 3, 29, 22, 30),
]


@pytest.fixture(scope="module")
def world(world_factory):
    hits = [
        hit("pageview", "/", moment, CHROME_MAC, f"85.214.132.{10 + i}", domain="berlin.example")
        for i, moment in enumerate(MOMENTS)
    ]
    return world_factory([SITE], hits)


def test_days_are_local_days(world) -> None:
    response = world.v1(
        "timeseries",
        site_id="berlin.example",
        period="custom",
        date="2026-03-28,2026-03-30",
        metrics="visitors",
    )
    assert response.json()["results"] == [
        {"date": "2026-03-28", "visitors": 1},
        {"date": "2026-03-29", "visitors": 3},
        {"date": "2026-03-30", "visitors": 1},
    ]


def test_the_short_day_has_23_hourly_buckets(world) -> None:
    response = world.v1(
        "timeseries", site_id="berlin.example", period="day", date="2026-03-29", interval="hour"
    )
    rows = response.json()["results"]
    assert len(rows) == 23
    assert "2026-03-29 02:00:00" not in [r["date"] for r in rows]
    assert {r["date"]: r["visitors"] for r in rows if r["visitors"]} == {
        "2026-03-29 00:00:00": 1,
        "2026-03-29 01:00:00": 1,
        "2026-03-29 03:00:00": 1,
    }


def test_aggregate_of_a_local_day(world) -> None:
    assert world.aggregate(site_id="berlin.example", period="day", date="2026-03-29") == {"visitors": 3}


def test_v2_time_labels_skip_the_missing_hour(world) -> None:
    response = world.v2(
        {
            "site_id": "berlin.example",
            "metrics": ["visitors"],
            "date_range": ["2026-03-29", "2026-03-29"],
            "dimensions": ["time:hour"],
            "include": {"time_labels": True},
        }
    )
    body = response.json()
    assert body["meta"]["time_labels"][:3] == [
        "2026-03-29 00:00:00",
        "2026-03-29 01:00:00",
        "2026-03-29 03:00:00",
    ]
    assert len(body["meta"]["time_labels"]) == 23
    assert body["query"]["date_range"] == ["2026-03-29T00:00:00+01:00", "2026-03-29T23:59:59+02:00"]
