"""Sites API (`/api/v1/sites...`): sites, goals and shared links, scoped to the key's user."""

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
