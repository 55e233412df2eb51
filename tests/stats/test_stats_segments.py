"""Saved segments: the `/api/v1/sites/segments` endpoints, and `["is", "segment", [id, ...]]`
filters in Stats API v2, on the shop.example fixture (see tests/stats/shop.py).

On 2026-03-10: A (Germany) 1 visit, 3 pageviews, saw /pricing; B (United Kingdom) 2 visits,
2 pageviews, both bounces, saw /pricing; C (Sweden) 1 visit, 2 pageviews.
The stranger owns stranger.example and is made a viewer of shop.example here.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from footfall.meta.db import session_scope
from footfall.meta.models import Membership, Role, Site, User
from tests.stats.shop import DAY, SHOP, shop_hits

RANGE = [DAY, DAY]
GERMANY = [["is", "visit:country_name", ["Germany"]]]
SWEDEN = [["is", "visit:country", ["SE"]]]


@pytest.fixture(scope="module")
def world(world_factory):
    world = world_factory([SHOP], shop_hits())
    with session_scope(world.services.sessions) as db:
        shop = db.scalar(select(Site).where(Site.domain == "shop.example"))
        stranger = db.scalar(select(User).where(User.email == "stranger@example.com"))
        db.add(Membership(site_id=shop.id, user_id=stranger.id, role=Role.viewer))
    return world


def call(world, method: str, path: str = "", key: str | None = None, **kwargs: Any):
    headers = {"Authorization": f"Bearer {key or world.key}"}
    return world.client.request(method, f"/api/v1/sites/segments{path}", headers=headers, **kwargs)


def create(world, filters, name="Segment", kind="site", site_id="shop.example", key=None) -> int:
    response = call(
        world,
        "POST",
        key=key,
        json={"site_id": site_id, "name": name, "type": kind, "segment_data": {"filters": filters}},
    )
    assert response.status_code == 200, response.text
    return response.json()["id"]


def numbers(world, filters, metrics=("visitors", "visits", "pageviews"), key=None):
    response = world.v2(
        {"site_id": "shop.example", "metrics": list(metrics), "date_range": RANGE, "filters": filters},
        key=key,
    )
    assert response.status_code == 200, response.text
    return response.json()["results"][0]["metrics"]


def refused(world, filters, key=None) -> str:
    response = world.v2(
        {"site_id": "shop.example", "metrics": ["visitors"], "date_range": RANGE, "filters": filters}, key=key
    )
    assert response.status_code == 400, response.text
    return response.json()["error"]


# --- segments in queries -------------------------------------------------------------------------


def test_a_segment_filter_stands_for_its_saved_filters(world) -> None:
    germany = create(world, GERMANY, "Germany")
    assert numbers(world, [["is", "segment", [germany]]]) == [1, 1, 3]
    response = world.v2(
        {
            "site_id": "shop.example",
            "metrics": ["visitors"],
            "date_range": RANGE,
            "filters": [["is", "segment", [germany]]],
        }
    )
    # The query echo shows the filters that ran, as Plausible's does.
    assert response.json()["query"]["filters"] == GERMANY


def test_several_segment_ids_are_any_of_them(world) -> None:
    germany = create(world, GERMANY, "DE")
    sweden = create(world, SWEDEN, "SE")
    assert numbers(world, [["is", "segment", [germany, sweden]]]) == [2, 2, 5]


def test_a_segment_combines_with_other_filters(world) -> None:
    pricing_visitors = create(world, [["is", "event:page", ["/pricing"]]], "Saw pricing")
    germany = create(world, GERMANY, "Germany again")
    # A and B saw /pricing; only A is from Germany.
    assert numbers(world, [["is", "segment", [pricing_visitors]]], ("visitors",)) == [2]
    assert numbers(
        world, [["is", "segment", [germany]], ["is", "event:page", ["/pricing"]]], ("visitors",)
    ) == [1]
    assert numbers(
        world, [["is", "segment", [germany]], ["is", "segment", [pricing_visitors]]], ("visitors",)
    ) == [1]


def test_a_segment_inside_not_and_or(world) -> None:
    germany = create(world, GERMANY, "Not Germany")
    assert numbers(world, [["not", ["is", "segment", [germany]]]]) == [2, 3, 4]
    assert numbers(world, [["or", [["is", "segment", [germany]], ["is", "visit:country", ["SE"]]]]]) == [
        2,
        2,
        5,
    ]


def test_a_segment_of_several_filters_with_session_metrics(world) -> None:
    british_bounces = create(
        world, [["is", "visit:country", ["GB"]], ["is", "visit:entry_page", ["/", "/pricing"]]], "UK"
    )
    assert numbers(world, [["is", "segment", [british_bounces]]], ("visits", "bounce_rate")) == [2, 100]


def test_unknown_segment_is_a_400_naming_it(world) -> None:
    assert "segment 987654" in refused(world, [["is", "segment", [987654]]])


def test_another_sites_segment_is_a_400_naming_it(world) -> None:
    theirs = create(world, GERMANY, "Elsewhere", site_id="stranger.example", key=world.other_key)
    assert f"segment {theirs} " in refused(world, [["is", "segment", [theirs]]])


def test_personal_segments_are_their_owners_alone(world) -> None:
    mine = create(world, SWEDEN, "Stranger's own", kind="personal", key=world.other_key)
    assert numbers(world, [["is", "segment", [mine]]], ("visitors",), key=world.other_key) == [1]
    assert f"segment {mine} " in refused(world, [["is", "segment", [mine]]])


@pytest.mark.parametrize(
    ("segment_filter", "message"),
    [
        (["is_not", "segment", [1]], "segment"),
        (["contains", "segment", [1]], "segment"),
        (["is", "segment", ["1"]], "integers"),
        (["is", "segment", []], "integers"),
        (["is", "segment", [True]], "integers"),
        (["is", "segment", [1], {"case_sensitive": False}], "segment"),
        (["is", "segment", list(range(1, 12))], "at most 10"),
    ],
)
def test_malformed_segment_filters_are_400s(world, segment_filter, message) -> None:
    assert message in refused(world, [segment_filter])


def test_v1_does_not_take_segments(world) -> None:
    response = world.v1(
        "aggregate", site_id="shop.example", period="day", date=DAY, filters='[["is", "segment", [1]]]'
    )
    assert response.status_code == 400
    assert "segment" in response.json()["error"]


# --- the segments API ----------------------------------------------------------------------------


def test_create_list_show_update_and_delete(world) -> None:
    created = call(
        world,
        "POST",
        json={
            "site_id": "shop.example",
            "name": "Blog readers",
            "type": "site",
            "segment_data": {"filters": [["contains", "event:page", ["/blog"]]], "labels": {}},
        },
    ).json()
    segment_id = created["id"]
    assert created["name"] == "Blog readers"
    assert created["type"] == "site"
    assert created["segment_data"]["filters"] == [["contains", "event:page", ["/blog"]]]
    assert created["owner_id"] is not None
    assert created["inserted_at"].endswith("Z")

    listed = call(world, "GET", params={"site_id": "shop.example"}).json()["segments"]
    assert segment_id in [s["id"] for s in listed]
    # The viewer sees site segments too.
    seen_by_viewer = call(world, "GET", params={"site_id": "shop.example"}, key=world.other_key).json()
    assert segment_id in [s["id"] for s in seen_by_viewer["segments"]]

    shown = call(world, "GET", f"/{segment_id}", params={"site_id": "shop.example"}).json()
    assert shown == created
    # A and C read the blog.
    assert numbers(world, [["is", "segment", [segment_id]]], ("visitors",)) == [2]

    updated = call(
        world,
        "PATCH",
        f"/{segment_id}",
        json={
            "site_id": "shop.example",
            "name": "Post 2 readers",
            "segment_data": {"filters": [["is", "event:page", ["/blog/post-2"]]]},
        },
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["name"] == "Post 2 readers"
    assert numbers(world, [["is", "segment", [segment_id]]], ("visitors",)) == [1]

    deleted = call(world, "DELETE", f"/{segment_id}", params={"site_id": "shop.example"})
    assert deleted.status_code == 200
    assert deleted.json()["id"] == segment_id
    assert call(world, "GET", f"/{segment_id}", params={"site_id": "shop.example"}).status_code == 404
    assert f"segment {segment_id} " in refused(world, [["is", "segment", [segment_id]]])


def test_a_viewer_may_save_personal_segments_but_not_site_segments(world) -> None:
    personal = call(
        world,
        "POST",
        key=world.other_key,
        json={
            "site_id": "shop.example",
            "name": "Mine",
            "type": "personal",
            "segment_data": {"filters": GERMANY},
        },
    )
    assert personal.status_code == 200
    site_wide = call(
        world,
        "POST",
        key=world.other_key,
        json={
            "site_id": "shop.example",
            "name": "Ours",
            "type": "site",
            "segment_data": {"filters": GERMANY},
        },
    )
    assert site_wide.status_code == 403
    assert "error" in site_wide.json()
    # The owner does not see the viewer's personal segment.
    listed = call(world, "GET", params={"site_id": "shop.example"}).json()["segments"]
    assert personal.json()["id"] not in [s["id"] for s in listed]
    assert (
        call(world, "GET", f"/{personal.json()['id']}", params={"site_id": "shop.example"}).status_code == 404
    )


def base(**changes: Any) -> dict[str, Any]:
    return {
        "site_id": "shop.example",
        "name": "S",
        "type": "site",
        "segment_data": {"filters": GERMANY},
        **changes,
    }


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (base(name=""), 400, "name"),
        (base(name="x" * 256), 400, "name"),
        (base(name=7), 400, "name"),
        (base(type="team"), 400, "type"),
        (base(segment_data=[]), 400, "segment_data"),
        (base(segment_data={"filters": []}), 400, "filters"),
        (base(segment_data={"filters": GERMANY, "colour": "red"}), 400, "colour"),
        (base(segment_data={"filters": GERMANY, "labels": []}), 400, "labels"),
        (base(segment_data={"filters": [["is", "visit:planet", ["Mars"]]]}), 400, "visit:planet"),
        (base(segment_data={"filters": [["is", "event:goal", ["Nope"]]]}), 400, "Nope"),
        (base(segment_data={"filters": [["matches", "event:page", ["("]]]}), 400, "regular expression"),
        (base(segment_data={"filters": [["is", "segment", [1]]]}), 400, "segment"),
        (base(segment_data={"filters": [["is", "event:page", ["/" + "x" * 6000]]]}), 400, "bytes"),
        (base(owner_id=3), 400, "owner_id"),
        (base(site_id="nowhere.example"), 404, "Site could not be found"),
        (base(site_id="stranger.example"), 404, "Site could not be found"),
        ({"name": "S", "type": "site", "segment_data": {"filters": GERMANY}}, 400, "site_id"),
    ],
)
def test_bad_segments_are_refused_with_json_errors(world, body, status, message) -> None:
    response = call(world, "POST", json=body)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "message"),
    [
        ("GET", "/abc", {"params": {"site_id": "shop.example"}}, 400, "abc"),
        ("GET", "/99999999", {"params": {"site_id": "shop.example"}}, 404, "99999999"),
        ("PATCH", "/99999999", {"json": {"site_id": "shop.example", "name": "x"}}, 404, "99999999"),
        ("DELETE", "/-1", {"params": {"site_id": "shop.example"}}, 400, "-1"),
        ("GET", "", {}, 400, "site_id"),
        ("POST", "", {"content": b"not json"}, 400, "JSON"),
        ("POST", "", {"content": b"[1]"}, 400, "object"),
    ],
)
def test_bad_requests_are_json_errors(world, method, path, kwargs, status, message) -> None:
    response = call(world, method, path, **kwargs)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]


def test_a_key_is_required(world) -> None:
    response = world.client.get("/api/v1/sites/segments", params={"site_id": "shop.example"})
    assert response.status_code == 401
    assert "error" in response.json()


def test_patch_checks_what_it_changes(world) -> None:
    segment_id = create(world, GERMANY, "To change")
    response = call(world, "PATCH", f"/{segment_id}", json={"site_id": "shop.example", "type": "group"})
    assert response.status_code == 400
    assert "type" in response.json()["error"]
    response = call(world, "PATCH", f"/{segment_id}", json={"site_id": "shop.example", "segment_data": {}})
    assert response.status_code == 400
    assert "filters" in response.json()["error"]
    # The viewer may not change a site segment.
    response = call(
        world, "PATCH", f"/{segment_id}", key=world.other_key, json={"site_id": "shop.example", "name": "x"}
    )
    assert response.status_code == 403


def test_a_stats_key_may_read_segments_but_not_save_them(world) -> None:
    from footfall.accounts.apikeys import STATS_SCOPE, create_api_key

    with session_scope(world.services.sessions) as db:
        owner = db.scalar(select(User).where(User.email == "owner@example.com"))
        stats_key, _ = create_api_key(db, owner, "stats only", scope=STATS_SCOPE)
    listed = call(world, "GET", params={"site_id": "shop.example"}, key=stats_key)
    assert listed.status_code == 200
    refused_write = call(
        world,
        "POST",
        key=stats_key,
        json={"site_id": "shop.example", "name": "S", "type": "site", "segment_data": {"filters": GERMANY}},
    )
    assert refused_write.status_code == 401
    assert "error" in refused_write.json()
    # A stats key may still use segments in queries.
    segment_id = create(world, GERMANY, "For the stats key")
    assert numbers(world, [["is", "segment", [segment_id]]], ("visitors",), key=stats_key) == [1]


def test_a_site_holds_at_most_500_segments(world) -> None:
    from footfall.meta.segments import Segment, SegmentType

    with session_scope(world.services.sessions) as db:
        site = db.scalar(select(Site).where(Site.domain == "stranger.example"))
        already = len(db.scalars(select(Segment.id).where(Segment.site_id == site.id)).all())
        db.add_all(
            Segment(site_id=site.id, name=f"S{i}", type=SegmentType.site, segment_data={"filters": GERMANY})
            for i in range(500 - already)
        )
    response = call(
        world,
        "POST",
        key=world.other_key,
        json={
            "site_id": "stranger.example",
            "name": "One too many",
            "type": "site",
            "segment_data": {"filters": GERMANY},
        },
    )
    assert response.status_code == 400
    assert "500" in response.json()["error"]
