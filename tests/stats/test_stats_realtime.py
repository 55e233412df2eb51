"""Realtime: current visitors (last 5 minutes) and the `realtime` period (last 30 minutes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.stats.conftest import CHROME_MAC, FIREFOX_LINUX, SAFARI_IPHONE, SiteSetup, hit


@pytest.fixture(scope="module")
def world(world_factory):
    # "Now" is taken when the data is written, not when the module is imported: the suite may
    # reach these tests minutes after collection, and realtime windows are minutes wide.
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    hits = [
        hit("pageview", "/", now - timedelta(minutes=2), CHROME_MAC, "85.214.132.117", domain="live.example"),
        hit("pageview", "/", now - timedelta(minutes=1), SAFARI_IPHONE, "81.2.69.142", domain="live.example"),
        hit(
            "pageview",
            "/a",
            now - timedelta(minutes=12),
            FIREFOX_LINUX,
            "89.160.20.112",
            domain="live.example",
        ),
        hit(
            "pageview",
            "/b",
            now - timedelta(minutes=50),
            FIREFOX_LINUX,
            "89.160.20.113",
            domain="live.example",
        ),
    ]
    return world_factory([SiteSetup("live.example")], hits)


def test_current_visitors_are_those_of_the_last_five_minutes(world) -> None:
    response = world.v1("realtime/visitors", site_id="live.example")
    assert response.json() == 2


def test_realtime_period_is_the_last_thirty_minutes(world) -> None:
    assert world.aggregate(site_id="live.example", period="realtime") == {"visitors": 3}
    rows = world.query(site_id="live.example", metrics=["visitors", "pageviews"], date_range="realtime")
    assert rows == [{"metrics": [3, 3], "dimensions": []}]
