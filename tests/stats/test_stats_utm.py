"""UTM tags, sent as a tracker sends them (in the page URL's query string), as Stats API
dimensions and filters.

utm.example (UTC), on 2026-04-20, four visitors:

- N arrives on /?utm_source=newsletter&utm_medium=email&utm_campaign=spring_sale
  &utm_content=header_link&utm_term=running+shoes and goes on to /shop: 2 pageviews.
- T1 and T2 arrive on /landing?utm_source=twitter&utm_medium=social&utm_campaign=launch
  &utm_content=video&utm_term=trail%20boots: 1 pageview each.
- D arrives on / with no tags: 1 pageview.

So each tag has one value for 1 visitor (2 pageviews), another for 2 visitors (2 pageviews),
and "(not set)" for 1 visitor. `+` and `%20` in the URL are spaces in the tag.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.stats.conftest import CHROME_MAC, SAFARI_IPHONE, SiteSetup, hit

DOMAIN = "utm.example"
DAY = "2026-04-20"
NEWSLETTER = (
    "/?utm_source=newsletter&utm_medium=email&utm_campaign=spring_sale"
    "&utm_content=header_link&utm_term=running+shoes"
)
TWITTER = (
    "/landing?utm_source=twitter&utm_medium=social&utm_campaign=launch"
    "&utm_content=video&utm_term=trail%20boots"
)
# dimension: (the newsletter visitor's value, the two twitter visitors' value)
TAGS = {
    "visit:utm_source": ("newsletter", "twitter"),
    "visit:utm_medium": ("email", "social"),
    "visit:utm_campaign": ("spring_sale", "launch"),
    "visit:utm_content": ("header_link", "video"),
    "visit:utm_term": ("running shoes", "trail boots"),
}


def utm_hits():
    def at(hour: int, minute: int = 0) -> datetime:
        return datetime(2026, 4, 20, hour, minute)

    return [
        hit("pageview", NEWSLETTER, at(9), CHROME_MAC, "85.214.132.21", domain=DOMAIN),
        hit("pageview", "/shop", at(9, 2), CHROME_MAC, "85.214.132.21", domain=DOMAIN),
        hit("pageview", TWITTER, at(10), CHROME_MAC, "85.214.132.22", domain=DOMAIN),
        hit("pageview", TWITTER, at(11), SAFARI_IPHONE, "81.2.69.142", domain=DOMAIN),
        hit("pageview", "/", at(12), SAFARI_IPHONE, "89.160.20.112", domain=DOMAIN),
    ]


@pytest.fixture(scope="module")
def world(world_factory):
    return world_factory([SiteSetup(DOMAIN)], utm_hits())


def v2(world, **body):
    return world.query(site_id=DOMAIN, date_range=[DAY, DAY], metrics=["visitors", "pageviews"], **body)


@pytest.mark.parametrize("dimension", list(TAGS))
def test_each_utm_dimension_gives_the_tagged_values(world, dimension) -> None:
    newsletter, twitter = TAGS[dimension]
    rows = v2(world, dimensions=[dimension], order_by=[["visitors", "desc"], [dimension, "asc"]])
    assert [r["dimensions"] + r["metrics"] for r in rows] == [
        [twitter, 2, 2],
        ["(not set)", 1, 1],
        [newsletter, 1, 2],
    ]


@pytest.mark.parametrize("dimension", list(TAGS))
def test_an_is_filter_on_each_utm_tag_finds_its_visitors(world, dimension) -> None:
    newsletter, twitter = TAGS[dimension]
    assert v2(world, filters=[["is", dimension, [newsletter]]]) == [{"metrics": [1, 2], "dimensions": []}]
    assert v2(world, filters=[["is", dimension, [twitter]]]) == [{"metrics": [2, 2], "dimensions": []}]
    assert v2(world, filters=[["is", dimension, [newsletter, twitter]]]) == [
        {"metrics": [3, 4], "dimensions": []}
    ]
    # The newsletter visitor's second page carries no tags, but the visit keeps them.
    by_page = v2(world, filters=[["is", dimension, [newsletter]]], dimensions=["event:page"])
    assert [r["dimensions"] + r["metrics"] for r in by_page] == [["/", 1, 1], ["/shop", 1, 1]]


@pytest.mark.parametrize("dimension", list(TAGS))
def test_v1_breakdown_and_filter_on_each_utm_tag(world, dimension) -> None:
    newsletter, twitter = TAGS[dimension]
    key = dimension.split(":", 1)[1]
    params = {"site_id": DOMAIN, "period": "day", "date": DAY, "metrics": "visitors,pageviews"}
    rows = world.v1("breakdown", property=dimension, **params).json()["results"]
    # v1 leaves out the visits without the tag.
    assert rows == [
        {key: twitter, "visitors": 2, "pageviews": 2},
        {key: newsletter, "visitors": 1, "pageviews": 2},
    ]
    assert world.aggregate(filters=f"{dimension}=={newsletter}", **params) == {"visitors": 1, "pageviews": 2}
    assert world.aggregate(filters=f"{dimension}!={newsletter}", **params) == {"visitors": 3, "pageviews": 3}
