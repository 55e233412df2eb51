"""`POST /api/stats/:domain/query` answers exactly as `POST /api/v2/query`, for whoever may see
the site; its neighbours (current visitors, funnel, property keys, segments) and the page."""

from __future__ import annotations

import pytest

from tests.stats.shop import DAY, SHOP, shop_hits
from tests.web.conftest import Visitor

RANGE = [DAY, DAY]

BODIES = [
    {"metrics": ["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration"]},
    {
        "metrics": ["visitors", "pageviews"],
        "date_range": ["2026-03-09", "2026-03-10"],
        "dimensions": ["time:day"],
        "include": {"time_labels": True},
    },
    {"metrics": ["visitors"], "dimensions": ["visit:source"], "order_by": [["visitors", "desc"]]},
    {
        "metrics": ["visitors", "bounce_rate"],
        "dimensions": ["event:page"],
        "filters": [["is", "visit:source", ["Google"]]],
    },
    {"metrics": ["visitors", "events", "conversion_rate", "total_revenue"], "dimensions": ["event:goal"]},
    {
        "metrics": ["visitors"],
        "dimensions": ["visit:country"],
        "pagination": {"limit": 1, "offset": 1},
        "include": {"total_rows": True},
    },
    {
        "metrics": ["visitors"],
        "include": {"comparisons": {"mode": "custom", "date_range": ["2026-03-09", "2026-03-09"]}},
    },
]


@pytest.fixture(scope="module")
def world(world_factory):
    return world_factory([SHOP], shop_hits())


def dashboard(world, body, key=None, domain="shop.example"):
    headers = {"Authorization": f"Bearer {key or world.key}"} if key != "" else {}
    return world.client.post(f"/api/stats/{domain}/query", json=body, headers=headers)


@pytest.mark.parametrize("body", BODIES, ids=range(len(BODIES)))
def test_answers_exactly_as_the_stats_api_v2(world, body) -> None:
    full = {"site_id": "shop.example", "date_range": RANGE} | body
    api = world.v2(full)
    mine = dashboard(world, full)
    assert api.status_code == mine.status_code == 200, mine.text
    assert mine.json() == api.json()
    assert mine.json()["results"], "the fixture should give rows for every body"


def test_the_domain_is_the_paths_whatever_the_body_says(world) -> None:
    body = {"site_id": "stranger.example", "metrics": ["visitors"], "date_range": RANGE}
    answer = dashboard(world, body)
    assert answer.status_code == 200
    assert answer.json()["results"] == [{"metrics": [3], "dimensions": []}]
    assert answer.json()["query"]["site_id"] == "shop.example"
    no_site = dashboard(world, {"metrics": ["visitors"], "date_range": RANGE})
    assert no_site.json()["results"] == [{"metrics": [3], "dimensions": []}]


def test_a_stranger_and_an_anonymous_request_get_404(world) -> None:
    body = {"metrics": ["visitors"], "date_range": RANGE}
    stranger = dashboard(world, body, key=world.other_key)
    anonymous = dashboard(world, body, key="")
    unknown_site = dashboard(world, body, domain="nowhere.example")
    for answer in (stranger, anonymous, unknown_site):
        assert answer.status_code == 404
        assert answer.json() == {"error": "Site not found, or you may not see it."}
    assert dashboard(world, body, key=world.other_key, domain="stranger.example").status_code == 200


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{", "Invalid request body: not valid JSON."),
        (b"[]", "Invalid request body: expected a JSON object."),
    ],
)
def test_a_body_that_is_no_json_object_is_a_400(world, raw, message) -> None:
    answer = world.client.post(
        "/api/stats/shop.example/query", content=raw, headers={"Authorization": f"Bearer {world.key}"}
    )
    assert answer.status_code == 400
    assert answer.json() == {"error": message}


def test_query_errors_are_the_v2_errors(world) -> None:
    body = {"metrics": ["visitors"], "date_range": RANGE, "dimensions": ["visit:nonsense"]}
    api = world.v2({"site_id": "shop.example"} | body)
    mine = dashboard(world, body)
    assert mine.status_code == api.status_code == 400
    assert mine.json() == api.json()


def post(world, path, body):
    return world.client.post(
        f"/api/stats/shop.example/{path}", json=body, headers={"Authorization": f"Bearer {world.key}"}
    )


def test_funnel_route_counts_each_step(world) -> None:
    from footfall.meta.db import session_scope
    from footfall.meta.models import Funnel

    with session_scope(world.services.sessions) as db:
        funnel_id = next(f.id for f in db.query(Funnel).all() if f.name == "Pricing to signup")
    answer = post(world, "funnel", {"funnel_id": funnel_id, "date_range": RANGE})
    assert answer.status_code == 200, answer.text
    steps = answer.json()["steps"]
    # B2 and A1 reach /pricing (visitors A and B); only A signs up.
    assert [(s["label"], s["visitors"]) for s in steps] == [("Visit /pricing", 2), ("Signup", 1)]
    assert post(world, "funnel", {"funnel_id": 999999, "date_range": RANGE}).status_code == 404
    bad = post(world, "funnel", {"funnel_id": "x", "date_range": RANGE})
    assert bad.status_code == 400 and "funnel_id" in bad.json()["error"]


def test_property_keys_seen_in_the_range(world) -> None:
    answer = post(world, "property-keys", {"date_range": RANGE})
    assert answer.status_code == 200
    assert "plan" in answer.json()["keys"]
    assert post(world, "property-keys", {"date_range": ["2026-01-01", "2026-01-02"]}).json() == {"keys": []}


def test_property_keys_respect_the_sites_allow_list(world) -> None:
    from footfall.meta.db import session_scope
    from footfall.meta.models import Site

    def allow(keys):
        with session_scope(world.services.sessions) as db:
            db.query(Site).filter_by(domain="shop.example").one().allowed_props = keys

    everything = post(world, "property-keys", {"date_range": RANGE}).json()["keys"]
    assert everything == ["plan"]
    try:
        allow(["author"])  # the seen key is not on the list: hidden
        assert post(world, "property-keys", {"date_range": RANGE}).json() == {"keys": []}
        allow(["plan", "author"])
        assert post(world, "property-keys", {"date_range": RANGE}).json() == {"keys": ["plan"]}
        allow([])  # an empty list hides nothing
        assert post(world, "property-keys", {"date_range": RANGE}).json()["keys"] == everything
    finally:
        allow(None)


def test_current_visitors_is_a_count(world) -> None:
    answer = world.client.get(
        "/api/stats/shop.example/current-visitors", headers={"Authorization": f"Bearer {world.key}"}
    )
    assert answer.status_code == 200
    assert answer.json() == {"visitors": 0}  # the fixture's visits are months old


def config_of(page_text):
    import json
    import re

    found = re.search(r"id=dashboard-config type=application/json>(.*?)</script>", page_text)
    assert found, page_text[:500]
    return json.loads(found.group(1))


@pytest.fixture(scope="module")
def owner(world):
    visitor = Visitor(world.client.app)
    visitor.log_in("owner@example.com")
    return visitor


def test_the_page_carries_the_sites_config_and_the_bundle(world, owner) -> None:
    page = owner.get("/shop.example")
    assert page.status_code == 200
    assert page.headers["x-frame-options"] == "DENY"
    config = config_of(page.text)
    assert config["domain"] == "shop.example"
    assert config["role"] == "owner"
    assert config["csrf_token"] and config["can_annotate"]  # an owner annotates
    assert config["settings_url"] == "/shop.example/settings/general"
    assert [g["name"] for g in config["goals"]] == ["Signup", "Purchase", "Visit /pricing", "Visit /blog/**"]
    assert [f["name"] for f in config["funnels"]] == ["Pricing to signup", "Blog to purchase"]
    assert "/static/dashboard/main.js" in page.text
    anonymous = Visitor(world.client.app).get("/shop.example")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    stranger = Visitor(world.client.app)
    stranger.log_in("stranger@example.com")
    assert stranger.get("/shop.example").status_code == 404


def test_a_logged_in_member_queries_with_the_session_and_its_csrf_token(world, owner) -> None:
    token = config_of(owner.get("/shop.example").text)["csrf_token"]
    body = {"metrics": ["visitors"], "date_range": RANGE}
    answer = owner.client.post("/api/stats/shop.example/query", json=body, headers={"X-CSRF-Token": token})
    assert answer.status_code == 200, answer.text
    assert answer.json()["results"] == [{"metrics": [3], "dimensions": []}]
    refused = owner.client.post("/api/stats/shop.example/query", json=body)
    assert refused.status_code == 403
    assert owner.client.get("/api/stats/shop.example/current-visitors").json() == {"visitors": 0}
    stranger = Visitor(world.client.app)
    stranger.log_in("stranger@example.com")
    assert stranger.client.get("/api/stats/shop.example/current-visitors").status_code == 404


def shared_link(world, slug, password=None, segment_filters=None):
    from footfall.accounts.passwords import hash_password
    from footfall.meta.db import session_scope
    from footfall.meta.models import SharedLink, Site
    from footfall.meta.segments import Segment, SegmentType

    with session_scope(world.services.sessions) as db:
        site = db.query(Site).filter_by(domain="shop.example").one()
        segment_id = None
        if segment_filters:
            segment = Segment(
                site_id=site.id, name=slug, type=SegmentType.site, segment_data={"filters": segment_filters}
            )
            db.add(segment)
            db.flush()
            segment_id = segment.id
        db.add(
            SharedLink(
                site_id=site.id,
                name=slug,
                slug=slug,
                password_hash=hash_password(password) if password else None,
                segment_id=segment_id,
            )
        )


def test_a_shared_link_shows_the_dashboard_read_only(world) -> None:
    shared_link(world, "open-link")
    visitor = Visitor(world.client.app)
    page = visitor.get("/share/shop.example?auth=open-link")
    assert page.status_code == 200
    config = config_of(page.text)
    assert config["role"] == "shared" and config["shared_auth"] == "open-link"
    assert not config["can_annotate"] and config["settings_url"] is None
    token = {"X-CSRF-Token": config["csrf_token"]}
    body = {"metrics": ["visitors"], "date_range": RANGE}
    by_header = visitor.client.post(
        "/api/stats/shop.example/query", json=body, headers={"X-Shared-Link-Auth": "open-link", **token}
    )
    by_param = visitor.client.post("/api/stats/shop.example/query?auth=open-link", json=body, headers=token)
    no_token = visitor.client.post("/api/stats/shop.example/query?auth=open-link", json=body)
    assert no_token.status_code == 403
    assert by_header.json()["results"] == by_param.json()["results"] == [{"metrics": [3], "dimensions": []}]
    assert (
        visitor.client.post("/api/stats/shop.example/query?auth=wrong", json=body, headers=token).status_code
        == 404
    )
    assert visitor.get("/share/shop.example?auth=wrong").status_code == 404
    assert visitor.get("/share/shop.example").status_code == 404
    saved = visitor.client.post(
        "/api/stats/shop.example/segments?auth=open-link",
        json={"name": "x", "segment_data": {"filters": [["is", "visit:source", ["Google"]]]}},
        headers=token,
    )
    assert saved.status_code == 404  # members only


def test_a_password_link_asks_for_its_password_first(world) -> None:
    shared_link(world, "secret-link", password="a long link password")
    visitor = Visitor(world.client.app)
    form = visitor.get("/share/shop.example?auth=secret-link")
    assert form.status_code == 200 and 'name="password"' in form.text and "dashboard-config" not in form.text
    body = {"metrics": ["visitors"], "date_range": RANGE}
    token = {"X-CSRF-Token": visitor.csrf("/share/shop.example?auth=secret-link")}
    locked = visitor.client.post("/api/stats/shop.example/query?auth=secret-link", json=body, headers=token)
    assert locked.status_code == 404
    wrong = visitor.post("/share/shop.example?auth=secret-link", {"password": "not it"})
    assert wrong.status_code == 401 and "Wrong password." in wrong.text
    right = visitor.post("/share/shop.example?auth=secret-link", {"password": "a long link password"})
    assert right.status_code == 303
    assert config_of(visitor.get("/share/shop.example?auth=secret-link").text)["role"] == "shared"
    unlocked = visitor.client.post("/api/stats/shop.example/query?auth=secret-link", json=body, headers=token)
    assert unlocked.status_code == 200


def test_a_link_with_a_segment_shows_only_the_segment(world) -> None:
    shared_link(world, "segment-link", segment_filters=[["is", "visit:country", ["DE"]]])
    visitor = Visitor(world.client.app)
    token = {
        "X-CSRF-Token": config_of(visitor.get("/share/shop.example?auth=segment-link").text)["csrf_token"]
    }
    body = {"metrics": ["visitors"], "date_range": RANGE, "dimensions": ["visit:country"]}
    answer = visitor.client.post("/api/stats/shop.example/query?auth=segment-link", json=body, headers=token)
    assert answer.status_code == 200
    assert answer.json()["results"] == [{"metrics": [1], "dimensions": ["DE"]}]
    assert answer.json()["query"]["filters"] == []


def test_an_embedded_link_may_be_framed_with_its_theme_and_background(world) -> None:
    shared_link(world, "embed-link")
    visitor = Visitor(world.client.app)
    page = visitor.get("/share/shop.example?auth=embed-link&embed=true&theme=dark&background=%23ffeedd")
    assert page.status_code == 200
    assert "x-frame-options" not in page.headers
    config = config_of(page.text)
    assert (config["embed"], config["theme"], config["background"]) == (True, "dark", "#ffeedd")
    odd = config_of(visitor.get("/share/shop.example?auth=embed-link&embed=true&background=red;x:y").text)
    assert odd["background"] is None
    assert "x-frame-options" in visitor.get("/share/shop.example?auth=embed-link").headers


def test_the_built_bundle_is_served_gzipped(world) -> None:
    from footfall.web.dashboard import STATIC_DIR

    if not (STATIC_DIR / "main.js").is_file():
        pytest.fail("the dashboard is not built: `make dashboard` (make test builds it)")
    answer = world.client.get("/static/dashboard/main.js", headers={"Accept-Encoding": "gzip"})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/javascript")
    assert answer.headers["content-encoding"] == "gzip"
    again = world.client.get("/static/dashboard/main.js", headers={"If-None-Match": answer.headers["etag"]})
    assert again.status_code == 304
    assert "create_app" not in world.client.get("/static/dashboard/../app.py").text
    assert world.client.get("/static/dashboard/nothing.js").status_code == 404
