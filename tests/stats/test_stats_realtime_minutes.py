"""Realtime by the minute: v1 `timeseries?period=realtime` and v2 `date_range: "realtime"` / `"30m"`
give one bucket per minute for the last 30 minutes (the current minute and the 29 before it).

Visitors came 1, 2 and 12 minutes before the data was written, and one 50 minutes before
(outside the window). The suite may reach these tests a minute or two after writing, so the
assertions rely on the gaps between the buckets, not on which minute "now" falls in.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from tests.stats.conftest import CHROME_MAC, FIREFOX_LINUX, SAFARI_IPHONE, SiteSetup, hit

DOMAIN = "minutes.example"


@pytest.fixture(scope="module")
def live(world_factory):
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    hits = [
        hit("pageview", "/", now - timedelta(minutes=1), SAFARI_IPHONE, "81.2.69.142", domain=DOMAIN),
        hit("pageview", "/", now - timedelta(minutes=2), CHROME_MAC, "85.214.132.117", domain=DOMAIN),
        hit("pageview", "/x", now - timedelta(minutes=2), CHROME_MAC, "85.214.132.117", domain=DOMAIN),
        hit("pageview", "/a", now - timedelta(minutes=12), FIREFOX_LINUX, "89.160.20.112", domain=DOMAIN),
        hit("pageview", "/b", now - timedelta(minutes=50), FIREFOX_LINUX, "89.160.20.113", domain=DOMAIN),
    ]
    return world_factory([SiteSetup(DOMAIN)], hits), now


def minute(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:00")


def test_v1_realtime_timeseries_has_thirty_minutes_counted_back_from_now(live) -> None:
    world, _ = live
    response = world.v1("timeseries", site_id=DOMAIN, period="realtime", metrics="visitors,pageviews")
    assert response.status_code == 200, response.text
    series = response.json()["results"]
    assert [entry["date"] for entry in series] == list(range(-30, 0))
    busy = [(entry["date"], entry["visitors"], entry["pageviews"]) for entry in series if entry["visitors"]]
    # 12, 2 and 1 minutes ago: the buckets are 10 and 1 minutes apart.
    assert [count for _, *count in busy] == [[1, 1], [1, 2], [1, 1]]
    assert busy[1][0] - busy[0][0] == 10
    assert busy[2][0] - busy[1][0] == 1
    assert sum(entry["visitors"] for entry in series) == 3


@pytest.mark.parametrize("date_range", ["realtime", "30m"])
def test_v2_realtime_by_minute(live, date_range) -> None:
    world, now = live
    response = world.v2(
        {
            "site_id": DOMAIN,
            "metrics": ["visitors", "pageviews"],
            "date_range": date_range,
            "dimensions": ["time:minute"],
            "include": {"time_labels": True},
        }
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [r["dimensions"] + r["metrics"] for r in body["results"]] == [
        [minute(now - timedelta(minutes=12)), 1, 1],
        [minute(now - timedelta(minutes=2)), 1, 2],
        [minute(now - timedelta(minutes=1)), 1, 1],
    ]
    labels = body["meta"]["time_labels"]
    assert len(labels) == 30
    steps = {datetime.fromisoformat(b) - datetime.fromisoformat(a) for a, b in itertools.pairwise(labels)}
    assert steps == {timedelta(minutes=1)}
    assert minute(now - timedelta(minutes=12)) in labels


def test_v2_time_in_realtime_is_by_the_minute(live) -> None:
    world, now = live
    rows = world.query(site_id=DOMAIN, metrics=["visitors"], date_range="realtime", dimensions=["time"])
    assert [r["dimensions"][0] for r in rows] == [
        minute(now - timedelta(minutes=12)),
        minute(now - timedelta(minutes=2)),
        minute(now - timedelta(minutes=1)),
    ]


def test_realtime_aggregate_agrees_with_the_minutes(live) -> None:
    world, _ = live
    assert world.aggregate(site_id=DOMAIN, period="realtime", metrics="visitors,pageviews") == {
        "visitors": 3,
        "pageviews": 4,
    }


def test_minutes_in_the_site_time_zone(world_factory) -> None:
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    world = world_factory(
        [SiteSetup("kolkata.example", timezone="Asia/Kolkata")],
        [
            hit(
                "pageview",
                "/",
                now - timedelta(minutes=3),
                CHROME_MAC,
                "85.214.132.117",
                domain="kolkata.example",
            )
        ],
    )
    rows = world.query(
        site_id="kolkata.example", metrics=["visitors"], date_range="30m", dimensions=["time:minute"]
    )
    # India is 5 h 30 min ahead of UTC all year.
    assert rows == [
        {"metrics": [1], "dimensions": [minute(now - timedelta(minutes=3) + timedelta(hours=5, minutes=30))]}
    ]


def test_minute_buckets_over_a_day_are_refused_beyond_the_label_limit(live) -> None:
    world, _ = live
    response = world.v2(
        {
            "site_id": DOMAIN,
            "metrics": ["visitors"],
            "date_range": ["2026-01-01", "2026-03-01"],
            "dimensions": ["time:minute"],
        }
    )
    assert response.status_code == 400
    assert "minute" in response.json()["error"]
