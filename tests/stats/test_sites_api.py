"""Sites API (`/api/v1/sites...`): sites, goals, funnels and shared links, scoped to the key's user."""

from __future__ import annotations

import pytest

from tests.stats.shop import SHOP, shop_hits


@pytest.fixture(scope="module")
def world(world_factory):
    return world_factory([SHOP], shop_hits())


def call(world, method, path, key=None, **kwargs):
    headers = {"Authorization": f"Bearer {key or world.key}"}
    return world.client.request(method, path, headers=headers, **kwargs)


def test_list_sites_shows_only_the_users_sites(world) -> None:
    body = call(world, "GET", "/api/v1/sites").json()
    assert body == {
        "sites": [{"domain": "shop.example", "timezone": "Etc/UTC"}],
        "meta": {"after": None, "before": None, "limit": 100},
    }
    other = call(world, "GET", "/api/v1/sites", key=world.other_key).json()
    assert [s["domain"] for s in other["sites"]] == ["stranger.example"]


def test_create_get_update_delete_a_site(world) -> None:
    created = call(world, "POST", "/api/v1/sites", json={"domain": "new.example", "timezone": "Europe/Paris"})
    assert created.status_code == 200
    assert created.json() == {"domain": "new.example", "timezone": "Europe/Paris"}
    shown = call(world, "GET", "/api/v1/sites/new.example").json()
    assert shown["domain"] == "new.example"
    updated = call(world, "PUT", "/api/v1/sites/new.example", json={"domain": "renamed.example"})
    assert updated.json() == {"domain": "renamed.example", "timezone": "Europe/Paris"}
    assert call(world, "GET", "/api/v1/sites/new.example").status_code == 404
    assert call(world, "DELETE", "/api/v1/sites/renamed.example").json() == {"deleted": True}
    assert call(world, "GET", "/api/v1/sites/renamed.example").json() == {"error": "Site could not be found"}


def test_site_errors(world) -> None:
    duplicate = call(world, "POST", "/api/v1/sites", json={"domain": "shop.example"})
    assert duplicate.status_code == 400
    assert "already exists" in duplicate.json()["error"]
    bad = call(world, "POST", "/api/v1/sites", json={"domain": "not a domain"})
    assert bad.status_code == 400
    blank = call(world, "POST", "/api/v1/sites", json={})
    assert blank.json() == {"error": "domain: can't be blank"}
    zone = call(world, "POST", "/api/v1/sites", json={"domain": "zone.example", "timezone": "Mars/Olympus"})
    assert zone.status_code == 400
    nothing = call(world, "PUT", "/api/v1/sites/shop.example", json={})
    assert nothing.status_code == 400
    foreign = call(world, "GET", "/api/v1/sites/stranger.example")
    assert foreign.status_code == 404
    assert call(world, "DELETE", "/api/v1/sites/stranger.example").status_code == 404
    assert world.client.get("/api/v1/sites").status_code == 401


def test_goals_find_or_create_list_and_delete(world) -> None:
    created = call(
        world,
        "PUT",
        "/api/v1/sites/goals",
        json={"site_id": "shop.example", "goal_type": "event", "event_name": "Trial"},
    ).json()
    assert created["display_name"] == "Trial"
    assert created["goal_type"] == "event"
    again = call(
        world,
        "PUT",
        "/api/v1/sites/goals",
        json={"site_id": "shop.example", "goal_type": "event", "event_name": "Trial"},
    ).json()
    assert again["id"] == created["id"]
    page = call(
        world,
        "PUT",
        "/api/v1/sites/goals",
        json={"site_id": "shop.example", "goal_type": "page", "page_path": "/thanks"},
    ).json()
    assert page["display_name"] == "Visit /thanks"
    listed = call(world, "GET", "/api/v1/sites/goals", params={"site_id": "shop.example"}).json()
    names = [g["display_name"] for g in listed["goals"]]
    assert names == ["Signup", "Purchase", "Visit /pricing", "Visit /blog/**", "Trial", "Visit /thanks"]
    deleted = call(world, "DELETE", f"/api/v1/sites/goals/{page['id']}", params={"site_id": "shop.example"})
    assert deleted.json() == {"deleted": True}
    missing = call(world, "DELETE", f"/api/v1/sites/goals/{page['id']}", params={"site_id": "shop.example"})
    assert missing.status_code == 404
    invalid = call(
        world, "PUT", "/api/v1/sites/goals", json={"site_id": "shop.example", "goal_type": "sound"}
    )
    assert invalid.status_code == 400


def test_a_new_goal_is_queryable(world) -> None:
    call(
        world,
        "PUT",
        "/api/v1/sites/goals",
        json={"site_id": "shop.example", "goal_type": "page", "page_path": "/"},
    )
    response = world.v1(
        "aggregate", site_id="shop.example", period="day", date="2026-03-10", filters="event:goal==Visit /"
    )
    assert response.json() == {"results": {"visitors": {"value": 2}}}


def test_shared_link_is_found_or_created(world) -> None:
    first = call(
        world, "PUT", "/api/v1/sites/shared-links", json={"site_id": "shop.example", "name": "Board"}
    ).json()
    assert first["name"] == "Board"
    assert first["url"].startswith("http") and "/share/shop.example?auth=" in first["url"]
    second = call(
        world, "PUT", "/api/v1/sites/shared-links", json={"site_id": "shop.example", "name": "Board"}
    ).json()
    assert second == first
    nameless = call(world, "PUT", "/api/v1/sites/shared-links", json={"site_id": "shop.example"})
    assert nameless.status_code == 400


def test_rate_limit_answers_429_with_retry_after(world) -> None:
    from footfall.accounts.apikeys import hash_key
    from footfall.meta.db import session_scope
    from footfall.meta.models import ApiKey

    with session_scope(world.services.sessions) as db:
        key = db.query(ApiKey).filter(ApiKey.key_hash == hash_key(world.other_key)).one()
        key.hourly_request_limit = 2
    world.services.extras.pop("api_rate_limiter", None)  # a fresh hour for this test
    assert call(world, "GET", "/api/v1/sites", key=world.other_key).status_code == 200
    assert call(world, "GET", "/api/v1/sites", key=world.other_key).status_code == 200
    refused = call(world, "GET", "/api/v1/sites", key=world.other_key)
    assert refused.status_code == 429
    assert refused.json() == {
        "error": "Too many API requests. Your API key is limited to 2 requests per hour."
    }
    assert 1 <= int(refused.headers["retry-after"]) <= 3600
    stats = world.v1("aggregate", key=world.other_key, site_id="stranger.example")
    assert stats.status_code == 429


# --- key scopes -------------------------------------------------------------------------------------


def new_user_with_key(world, email: str, scope: str, domains=()) -> str:
    from footfall.accounts.apikeys import create_api_key
    from footfall.accounts.users import create_user
    from footfall.meta.db import session_scope
    from footfall.sites.sites import create_site

    with session_scope(world.services.sessions) as db:
        user = create_user(db, email, "correct horse battery staple")
        raw, _ = create_api_key(db, user, "test", scope)
        for domain in domains:
            create_site(db, domain, owner=user)
    return raw


NOT_A_SITES_KEY = {
    "error": "Invalid API key. Please make sure you're using a valid API key with access to the "
    "resource you've requested."
}


def test_a_stats_key_reads_stats_sites_and_goals_but_cannot_change_anything(world) -> None:
    stats_key = new_user_with_key(world, "reader@example.com", "stats:read:*", ["read.example"])
    listed = call(world, "GET", "/api/v1/sites", key=stats_key)
    assert listed.status_code == 200
    assert [s["domain"] for s in listed.json()["sites"]] == ["read.example"]
    assert call(world, "GET", "/api/v1/sites/read.example", key=stats_key).status_code == 200
    goals = call(world, "GET", "/api/v1/sites/goals", key=stats_key, params={"site_id": "read.example"})
    assert goals.json() == {"goals": [], "meta": {"after": None, "before": None, "limit": 100}}
    funnels = call(world, "GET", "/api/v1/sites/funnels", key=stats_key, params={"site_id": "read.example"})
    assert funnels.json() == {"funnels": [], "meta": {"after": None, "before": None, "limit": 100}}
    stats = world.v1("aggregate", key=stats_key, site_id="read.example", period="30d")
    assert stats.json() == {"results": {"visitors": {"value": 0}}}

    writes = [
        ("POST", "/api/v1/sites", {"domain": "sneaky.example"}),
        ("PUT", "/api/v1/sites/read.example", {"timezone": "Europe/Paris"}),
        ("DELETE", "/api/v1/sites/read.example", None),
        ("PUT", "/api/v1/sites/goals", {"site_id": "read.example", "goal_type": "event", "event_name": "X"}),
        ("DELETE", "/api/v1/sites/goals/1", {"site_id": "read.example"}),
        ("PUT", "/api/v1/sites/shared-links", {"site_id": "read.example", "name": "Board"}),
        ("PUT", "/api/v1/sites/funnels", {"site_id": "read.example", "name": "F", "steps": [1, 2]}),
        ("DELETE", "/api/v1/sites/funnels/1", {"site_id": "read.example"}),
    ]
    for method, path, body in writes:
        refused = call(world, method, path, key=stats_key, json=body)
        assert (method, path, refused.status_code, refused.json()) == (method, path, 401, NOT_A_SITES_KEY)
    after = call(world, "GET", "/api/v1/sites/read.example", key=stats_key).json()
    assert after == {
        "domain": "read.example",
        "timezone": "Etc/UTC",
        "retention_days": None,
        "custom_properties": [],
    }
    assert call(world, "GET", "/api/v1/sites/sneaky.example").status_code == 404


def test_a_sites_key_changes_sites_and_reads_their_stats(world) -> None:
    sites_key = new_user_with_key(world, "provisioner@example.com", "sites:provision:*")
    created = call(world, "POST", "/api/v1/sites", key=sites_key, json={"domain": "provisioned.example"})
    assert created.status_code == 200
    stats = world.v1("aggregate", key=sites_key, site_id="provisioned.example", period="30d")
    assert stats.json() == {"results": {"visitors": {"value": 0}}}


# --- pagination -------------------------------------------------------------------------------------


def pages(world, key, path, items, field, direction, **params):
    """Every page from the first request on, following `meta[direction]` until it is null."""
    seen = []
    while True:
        response = call(world, "GET", path, key=key, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        seen.append(([item[field] for item in body[items]], body["meta"]))
        cursor = body["meta"][direction]
        if cursor is None:
            return seen
        params = {**params, direction: cursor}
        params.pop("before" if direction == "after" else "after", None)


def test_sites_page_forward_then_back_with_after_and_before(world) -> None:
    domains = [f"page{i}.example" for i in range(1, 8)]
    key = new_user_with_key(world, "pager@example.com", "sites:provision:*", reversed(domains))

    forward = pages(world, key, "/api/v1/sites", "sites", "domain", "after", limit=3)
    assert [names for names, _ in forward] == [domains[0:3], domains[3:6], domains[6:7]]
    assert [meta["limit"] for _, meta in forward] == [3, 3, 3]
    assert forward[0][1]["before"] is None
    assert forward[1][1]["before"] is not None and forward[2][1]["before"] is not None
    assert forward[2][1]["after"] is None

    last_before = forward[2][1]["before"]
    backward = pages(world, key, "/api/v1/sites", "sites", "domain", "before", limit=3, before=last_before)
    assert [names for names, _ in backward] == [domains[3:6], domains[0:3]]
    assert backward[0][1]["after"] is not None  # the page after it is the last one
    assert backward[1][1]["before"] is None

    everything = call(world, "GET", "/api/v1/sites", key=key).json()
    assert [s["domain"] for s in everything["sites"]] == domains
    assert everything["meta"] == {"after": None, "before": None, "limit": 100}


def test_goals_are_paged_by_creation(world) -> None:
    key = new_user_with_key(world, "goals-pager@example.com", "sites:provision:*", ["goals.example"])
    names = [f"Event {i}" for i in range(1, 6)]
    for name in names:
        body = {"site_id": "goals.example", "goal_type": "event", "event_name": name}
        assert call(world, "PUT", "/api/v1/sites/goals", key=key, json=body).status_code == 200
    forward = pages(
        world, key, "/api/v1/sites/goals", "goals", "display_name", "after", site_id="goals.example", limit=2
    )
    assert [page for page, _ in forward] == [names[0:2], names[2:4], names[4:5]]
    back = pages(
        world,
        key,
        "/api/v1/sites/goals",
        "goals",
        "display_name",
        "before",
        site_id="goals.example",
        limit=2,
        before=forward[2][1]["before"],
    )
    assert [page for page, _ in back] == [names[2:4], names[0:2]]


@pytest.mark.parametrize(
    "params",
    [
        {"after": "not-a-cursor"},
        {"before": "%%%"},
        {"after": "bm90IGpzb24"},  # base64 of text that is not JSON
        {"after": "WyJnb2FsIiwxXQ"},  # a goals cursor, ["goal",1], on the sites list
        {"after": "WyJzaXRlIiwxXQ"},  # ["site",1]: a site cursor holds a domain, not a number
        {"after": "WyJzaXRlIiwiYSJd", "before": "WyJzaXRlIiwieiJd"},  # both directions at once
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "many"},
    ],
)
def test_bad_cursors_and_limits_are_400_json(world, params) -> None:
    response = call(world, "GET", "/api/v1/sites", params=params)
    assert response.status_code == 400
    assert set(response.json()) == {"error"}
    goals = call(world, "GET", "/api/v1/sites/goals", params={"site_id": "shop.example", **params})
    if "WyJnb2FsIiwxXQ" not in params.values():  # that one is a valid goals cursor
        assert goals.status_code == 400
        assert set(goals.json()) == {"error"}


def test_with_redis_the_limit_is_shared_and_answered_429_json(world) -> None:
    """Two app replicas (two limiters on one Redis) count one key's requests together."""
    import uuid

    import redis

    from footfall.web.auth import make_rate_limiter
    from tests.conftest import REDIS_TEST_URL, unavailable

    client = redis.Redis.from_url(REDIS_TEST_URL)
    try:
        client.ping()
    except Exception as error:
        unavailable("Redis at 127.0.0.1:6379", error)
    prefix = f"footfall:test:ratelimit:{uuid.uuid4().hex}:"
    key = new_user_with_key(world, "redis-limited@example.com", "stats:read:*", ["limited.example"])
    from footfall.accounts.apikeys import hash_key
    from footfall.meta.db import session_scope
    from footfall.meta.models import ApiKey

    with session_scope(world.services.sessions) as db:
        db.query(ApiKey).filter(ApiKey.key_hash == hash_key(key)).one().hourly_request_limit = 3
    replicas = [make_rate_limiter(REDIS_TEST_URL, prefix=prefix) for _ in range(2)]
    saved = world.services.extras.get("api_rate_limiter")
    try:
        for replica in replicas:
            world.services.extras["api_rate_limiter"] = replica
            assert call(world, "GET", "/api/v1/sites", key=key).status_code == 200
        stats = world.v1("aggregate", key=key, site_id="limited.example", period="30d")
        assert stats.status_code == 200
        world.services.extras["api_rate_limiter"] = replicas[0]
        refused = call(world, "GET", "/api/v1/sites", key=key)
        assert refused.status_code == 429
        assert refused.json() == {
            "error": "Too many API requests. Your API key is limited to 3 requests per hour."
        }
        assert 1 <= int(refused.headers["retry-after"]) <= 3600
        assert world.v1("aggregate", key=key, site_id="limited.example").status_code == 429
    finally:
        world.services.extras["api_rate_limiter"] = saved
        for replica in replicas:
            replica.close()
        for name in client.scan_iter(match=prefix + "*"):
            client.delete(name)
        client.close()


# --- funnels ----------------------------------------------------------------------------------------


def make_goals(world, key, domain, *names: str) -> list[int]:
    """Event goals named `names` on `domain` (pages when a name starts with `/`); their ids."""
    ids = []
    for name in names:
        body = {"site_id": domain, "goal_type": "page", "page_path": name}
        if not name.startswith("/"):
            body = {"site_id": domain, "goal_type": "event", "event_name": name}
        answer = call(world, "PUT", "/api/v1/sites/goals", key=key, json=body)
        assert answer.status_code == 200, answer.text
        ids.append(answer.json()["id"])
    return ids


def put_funnel(world, key, domain, name, steps):
    return call(
        world, "PUT", "/api/v1/sites/funnels", key=key, json={"site_id": domain, "name": name, "steps": steps}
    )


def test_funnels_find_or_create_list_and_delete(world) -> None:
    key = new_user_with_key(world, "funnel-maker@example.com", "sites:provision:*", ["funnel-api.example"])
    pricing, signup, buy = make_goals(world, key, "funnel-api.example", "/pricing", "Signup", "Purchase")

    created = put_funnel(world, key, "funnel-api.example", "  Checkout ", [pricing, signup, buy])
    assert created.status_code == 200, created.text
    funnel = created.json()
    assert funnel["name"] == "Checkout"
    assert [(s["id"], s["display_name"], s["goal_type"]) for s in funnel["steps"]] == [
        (pricing, "Visit /pricing", "page"),
        (signup, "Signup", "event"),
        (buy, "Purchase", "event"),
    ]
    # The same name and steps again is the same funnel (a retried request creates nothing).
    again = put_funnel(world, key, "funnel-api.example", "Checkout", [pricing, signup, buy])
    assert again.json() == funnel
    # The name with other steps is taken.
    other = put_funnel(world, key, "funnel-api.example", "Checkout", [signup, buy])
    assert other.status_code == 400
    assert other.json() == {
        "error": "name: funnel-api.example already has a funnel named 'Checkout' with other steps"
    }
    short = put_funnel(world, key, "funnel-api.example", "Signup to purchase", [signup, buy]).json()

    listed = call(world, "GET", "/api/v1/sites/funnels", key=key, params={"site_id": "funnel-api.example"})
    assert listed.json() == {
        "funnels": [funnel, short],
        "meta": {"after": None, "before": None, "limit": 100},
    }
    counted = world.v1("funnel", key=key, site_id="funnel-api.example", funnel_id=funnel["id"], period="30d")
    assert [s["label"] for s in counted.json()["steps"]] == ["Visit /pricing", "Signup", "Purchase"]

    path = f"/api/v1/sites/funnels/{funnel['id']}"
    deleted = call(world, "DELETE", path, key=key, params={"site_id": "funnel-api.example"})
    assert deleted.json() == {"deleted": True}
    gone = call(world, "DELETE", path, key=key, params={"site_id": "funnel-api.example"})
    assert (gone.status_code, gone.json()) == (404, {"error": "Funnel could not be found"})
    counted = world.v1("funnel", key=key, site_id="funnel-api.example", funnel_id=funnel["id"])
    assert counted.status_code == 404
    # Its goals stay.
    goals = call(world, "GET", "/api/v1/sites/goals", key=key, params={"site_id": "funnel-api.example"})
    assert [g["id"] for g in goals.json()["goals"]] == [pricing, signup, buy]


@pytest.fixture(scope="module")
def funnel_errors(world) -> tuple[str, int, int, int]:
    """A key, two goals of funnel-errors.example, and a goal of another site of the same user."""
    key = new_user_with_key(
        world,
        "funnel-errors@example.com",
        "sites:provision:*",
        ["funnel-errors.example", "elsewhere.example"],
    )
    a, b = make_goals(world, key, "funnel-errors.example", "A", "B")
    (foreign,) = make_goals(world, key, "elsewhere.example", "A")
    return key, a, b, foreign


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"name": "F"}, "Parameter `steps` is required: the funnel's goal ids, in order"),
        ({"name": "F", "steps": "1,2"}, "steps: a list of goal ids, in the funnel's order"),
        ({"name": "F", "steps": []}, "steps: a funnel has 2 to 8 steps, not 0"),
        ({"name": "F", "steps": ["first", "second"]}, "steps: 'first' is not a goal id (a positive integer)"),
        ({"name": "F", "steps": [True, False]}, "steps: True is not a goal id (a positive integer)"),
        ({"name": "F", "steps": [1.0, 2.0]}, "steps: 1.0 is not a goal id (a positive integer)"),
        ({"name": "F", "steps": [0, -1]}, "steps: 0 is not a goal id (a positive integer)"),
        (
            {"name": "F", "steps": [2**63, 1]},
            "steps: 9223372036854775808 is not a goal id (a positive integer)",
        ),
        (
            {"name": "F", "steps": "GOALS_TWICE"},
            "steps: goal {a} is listed twice; a goal is one step at most",
        ),
        ({"name": "F", "steps": "UNKNOWN_GOAL"}, "steps: funnel-errors.example has no goal 999999"),
        ({"name": "F", "steps": "FOREIGN_GOAL"}, "steps: funnel-errors.example has no goal {foreign}"),
        ({"steps": "GOALS"}, "name: a funnel needs a name"),
        ({"name": "   ", "steps": "GOALS"}, "name: a funnel needs a name"),
        ({"name": 7, "steps": "GOALS"}, "name: a funnel needs a name"),
        ({"name": "x" * 201, "steps": "GOALS"}, "name: a funnel's name is at most 200 characters"),
    ],
)
def test_bad_funnels_are_400_json_naming_the_fault(world, funnel_errors, body, error) -> None:
    key, a, b, foreign = funnel_errors
    # Steps named in capitals stand for goal ids made by the fixture.
    named = {
        "GOALS": [a, b],
        "GOALS_TWICE": [a, b, a],
        "UNKNOWN_GOAL": [a, 999999],
        "FOREIGN_GOAL": [a, foreign],
    }
    sent = {**body, "site_id": "funnel-errors.example"}
    if isinstance(body.get("steps"), str):
        sent["steps"] = named.get(body["steps"], body["steps"])
    answer = call(world, "PUT", "/api/v1/sites/funnels", key=key, json=sent)
    assert (answer.status_code, answer.json()) == (400, {"error": error.format(a=a, foreign=foreign)})
    listed = call(world, "GET", "/api/v1/sites/funnels", key=key, params={"site_id": "funnel-errors.example"})
    assert listed.json()["funnels"] == []


def test_funnel_routes_answer_other_users_sites_and_bad_ids_with_json_errors(world) -> None:
    key = new_user_with_key(world, "funnel-ids@example.com", "sites:provision:*", ["funnel-ids.example"])
    a, b = make_goals(world, key, "funnel-ids.example", "A", "B")
    mine = put_funnel(world, key, "funnel-ids.example", "Mine", [a, b]).json()
    stranger = new_user_with_key(world, "funnel-stranger@example.com", "sites:provision:*")
    # Another user's site is not found, whether listed, written or deleted from.
    for method, path, kwargs in [
        ("GET", "/api/v1/sites/funnels", {"params": {"site_id": "funnel-ids.example"}}),
        (
            "PUT",
            "/api/v1/sites/funnels",
            {"json": {"site_id": "funnel-ids.example", "name": "X", "steps": [a, b]}},
        ),
        ("DELETE", f"/api/v1/sites/funnels/{mine['id']}", {"params": {"site_id": "funnel-ids.example"}}),
    ]:
        answer = call(world, method, path, key=stranger, **kwargs)
        assert (method, answer.status_code, answer.json()) == (
            method,
            404,
            {"error": "Site could not be found"},
        )
    # The funnel survived, and a funnel of one site cannot be deleted through another.
    assert put_funnel(world, key, "funnel-ids.example", "Mine", [a, b]).json() == mine
    foreign = call(world, "DELETE", f"/api/v1/sites/funnels/{mine['id']}", params={"site_id": "shop.example"})
    assert (foreign.status_code, foreign.json()) == (404, {"error": "Funnel could not be found"})
    for bad in ("abc", "²", "-1", "1.5", str(2**63)):
        answer = call(
            world, "DELETE", f"/api/v1/sites/funnels/{bad}", key=key, params={"site_id": "funnel-ids.example"}
        )
        assert (bad, answer.status_code, answer.json()) == (
            bad,
            400,
            {"error": "Parameter `funnel_id` must be a number"},
        )
        goal = call(
            world, "DELETE", f"/api/v1/sites/goals/{bad}", key=key, params={"site_id": "funnel-ids.example"}
        )
        assert (bad, goal.status_code, goal.json()) == (
            bad,
            400,
            {"error": "Parameter `goal_id` must be a number"},
        )
    assert call(world, "GET", "/api/v1/sites/funnels").json() == {"error": "Parameter `site_id` is required"}
    nowhere = call(world, "PUT", "/api/v1/sites/funnels", key=key, json={"name": "F", "steps": [a, b]})
    assert (nowhere.status_code, nowhere.json()) == (400, {"error": "Parameter `site_id` is required"})
    assert (
        world.client.get("/api/v1/sites/funnels", params={"site_id": "funnel-ids.example"}).status_code == 401
    )


def test_a_viewer_lists_funnels_but_only_owners_and_admins_change_them(world) -> None:
    from footfall.accounts.users import get_user_by_email
    from footfall.meta.db import session_scope
    from footfall.meta.models import Membership, Role
    from footfall.sites.sites import get_site

    owner = new_user_with_key(
        world, "funnel-owner@example.com", "sites:provision:*", ["funnel-roles.example"]
    )
    a, b = make_goals(world, owner, "funnel-roles.example", "A", "B")
    made = put_funnel(world, owner, "funnel-roles.example", "A to B", [a, b]).json()
    viewer = new_user_with_key(world, "funnel-viewer@example.com", "sites:provision:*")
    admin = new_user_with_key(world, "funnel-admin@example.com", "sites:provision:*")
    with session_scope(world.services.sessions) as db:
        site = get_site(db, "funnel-roles.example")
        for email, role in (
            ("funnel-viewer@example.com", Role.viewer),
            ("funnel-admin@example.com", Role.admin),
        ):
            db.add(Membership(site_id=site.id, user_id=get_user_by_email(db, email).id, role=role))

    listed = call(
        world, "GET", "/api/v1/sites/funnels", key=viewer, params={"site_id": "funnel-roles.example"}
    )
    assert [f["name"] for f in listed.json()["funnels"]] == ["A to B"]
    refused = put_funnel(world, viewer, "funnel-roles.example", "B to A", [b, a])
    assert (refused.status_code, refused.json()) == (
        403,
        {"error": "Your role on this site does not allow this action"},
    )
    path = f"/api/v1/sites/funnels/{made['id']}"
    assert (
        call(world, "DELETE", path, key=viewer, params={"site_id": "funnel-roles.example"}).status_code == 403
    )
    assert put_funnel(world, admin, "funnel-roles.example", "B to A", [b, a]).status_code == 200
    assert call(world, "DELETE", path, key=admin, params={"site_id": "funnel-roles.example"}).json() == {
        "deleted": True
    }


def test_funnels_are_paged_by_creation(world) -> None:
    key = new_user_with_key(world, "funnel-pager@example.com", "sites:provision:*", ["funnel-pages.example"])
    a, b = make_goals(world, key, "funnel-pages.example", "A", "B")
    names = [f"Funnel {i}" for i in range(1, 6)]
    for name in names:
        assert put_funnel(world, key, "funnel-pages.example", name, [a, b]).status_code == 200
    forward = pages(
        world,
        key,
        "/api/v1/sites/funnels",
        "funnels",
        "name",
        "after",
        site_id="funnel-pages.example",
        limit=2,
    )
    assert [page for page, _ in forward] == [names[0:2], names[2:4], names[4:5]]
    back = pages(
        world,
        key,
        "/api/v1/sites/funnels",
        "funnels",
        "name",
        "before",
        site_id="funnel-pages.example",
        limit=2,
        before=forward[2][1]["before"],
    )
    assert [page for page, _ in back] == [names[2:4], names[0:2]]
    goals_cursor = call(
        world, "GET", "/api/v1/sites/goals", key=key, params={"site_id": "funnel-pages.example", "limit": 1}
    ).json()["meta"]["after"]
    mixed = call(
        world,
        "GET",
        "/api/v1/sites/funnels",
        key=key,
        params={"site_id": "funnel-pages.example", "after": goals_cursor},
    )
    assert mixed.status_code == 400
    assert "not a valid pagination cursor" in mixed.json()["error"]


def test_deleting_a_goal_takes_its_funnel_steps_with_it(world) -> None:
    """As in Plausible: the goal's step leaves every funnel; a funnel left with one step goes."""
    key = new_user_with_key(world, "funnel-goals@example.com", "sites:provision:*", ["funnel-goals.example"])
    a, b, c = make_goals(world, key, "funnel-goals.example", "/a", "B", "/c")
    three = put_funnel(world, key, "funnel-goals.example", "Three", [a, b, c]).json()
    two = put_funnel(world, key, "funnel-goals.example", "Two", [b, c]).json()
    other = put_funnel(world, key, "funnel-goals.example", "Other", [a, c]).json()

    deleted = call(
        world, "DELETE", f"/api/v1/sites/goals/{b}", key=key, params={"site_id": "funnel-goals.example"}
    )
    assert deleted.json() == {"deleted": True}
    listed = call(world, "GET", "/api/v1/sites/funnels", key=key, params={"site_id": "funnel-goals.example"})
    assert [(f["id"], [s["display_name"] for s in f["steps"]]) for f in listed.json()["funnels"]] == [
        (three["id"], ["Visit /a", "Visit /c"]),
        (other["id"], ["Visit /a", "Visit /c"]),
    ]
    counted = world.v1("funnel", key=key, site_id="funnel-goals.example", funnel_id=three["id"])
    assert [s["label"] for s in counted.json()["steps"]] == ["Visit /a", "Visit /c"]
    gone = world.v1("funnel", key=key, site_id="funnel-goals.example", funnel_id=two["id"])
    assert gone.status_code == 404


def test_shields_through_the_sites_api_follow_the_pages_rules_and_limits(world) -> None:
    """footfall's own routes (Plausible's Sites API has no shields): the same normalising,
    limits and messages as the Shields tab and `footfall shield`."""
    from footfall.meta.db import session_scope
    from footfall.meta.models import Site
    from footfall.meta.shields import ShieldKind
    from footfall.sites.shields import countries, list_rules

    key = new_user_with_key(world, "shields-api@example.com", "sites:provision:*", ["shielded.example"])
    stats_key = new_user_with_key(world, "shields-stats@example.com", "stats:read:*")
    base = "/api/v1/sites/shields"
    made = call(
        world, "PUT", f"{base}/ip", key=key, json={"site_id": "shielded.example", "value": "2001:DB8::1/128"}
    )
    assert made.status_code == 200, made.text
    rule = made.json()
    assert (rule["kind"], rule["value"], rule["added_by"]) == ("ip", "2001:db8::1", "shields-api@example.com")
    again = call(
        world, "PUT", f"{base}/ip", key=key, json={"site_id": "shielded.example", "value": "2001:db8::1"}
    )
    assert again.status_code == 200 and again.json()["id"] == rule["id"]  # found, not made twice
    bad = call(
        world, "PUT", f"{base}/ip", key=key, json={"site_id": "shielded.example", "value": "300.1.1.1"}
    )
    assert bad.status_code == 400 and "is not an IP address" in bad.json()["error"]
    unknown_kind = call(world, "GET", f"{base}/planet", key=key, params={"site_id": "shielded.example"})
    assert unknown_kind.status_code == 404 and "is not a kind of shield rule" in unknown_kind.json()["error"]
    codes = [code for code in countries() if len(code) == 2][:31]
    for code in codes[:30]:
        answer = call(
            world, "PUT", f"{base}/country", key=key, json={"site_id": "shielded.example", "value": code}
        )
        assert answer.status_code == 200, answer.text
    over = call(
        world, "PUT", f"{base}/country", key=key, json={"site_id": "shielded.example", "value": codes[30]}
    )
    assert (
        over.status_code == 400 and "has 30 country rules, the most a site may have" in over.json()["error"]
    )
    listed = call(world, "GET", f"{base}/country", key=key, params={"site_id": "shielded.example"}).json()
    assert listed["limit"] == 30 and [r["value"] for r in listed["rules"]] == codes[:30]
    # Owners and admins: an editor is refused (403), a stranger does not see the site (404), and
    # an admin's Stats API key may read but not write (401).
    from footfall.accounts.users import get_user_by_email
    from footfall.meta.models import Membership, Role

    editor_key = new_user_with_key(world, "shields-editor@example.com", "sites:provision:*")
    with session_scope(world.services.sessions) as db:
        site_id = db.query(Site).filter(Site.domain == "shielded.example").one().id
        for email, role in (
            ("shields-editor@example.com", Role.editor),
            ("shields-stats@example.com", Role.admin),
        ):
            db.add(Membership(site_id=site_id, user_id=get_user_by_email(db, email).id, role=role))
    query = {"site_id": "shielded.example"}
    assert call(world, "GET", f"{base}/ip", key=editor_key, params=query).status_code == 403
    assert call(world, "GET", f"{base}/ip", key=world.key, params=query).status_code == 404
    assert call(world, "GET", f"{base}/ip", key=stats_key, params=query).status_code == 200
    write = {"site_id": "shielded.example", "value": "1.2.3.4"}
    assert call(world, "PUT", f"{base}/ip", key=stats_key, json=write).status_code == 401
    wrong_kind = call(
        world, "DELETE", f"{base}/country/{rule['id']}", key=key, params={"site_id": "shielded.example"}
    )
    assert wrong_kind.status_code == 404
    gone = call(world, "DELETE", f"{base}/ip/{rule['id']}", key=key, params={"site_id": "shielded.example"})
    assert gone.status_code == 200 and gone.json() == {"deleted": True}
    with session_scope(world.services.sessions) as db:
        site = db.query(Site).filter(Site.domain == "shielded.example").one()
        assert list_rules(db, site, ShieldKind.ip) == []
        assert len(list_rules(db, site, ShieldKind.country)) == 30
