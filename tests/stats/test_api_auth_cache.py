"""The Stats API's cache of authorised keys and sites (`API_AUTH_CACHE_SECONDS`, web/auth.py).

A change made through the running app's own sessions takes effect on the next request; one
made elsewhere (another replica, a script on the database: here, a second engine on the same
SQLite file or PostgreSQL database) within the cache's seconds. The rate limit still counts
every request. Each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, delete, update
from starlette.testclient import TestClient

from footfall.accounts.apikeys import create_api_key, hash_key
from footfall.accounts.users import create_user
from footfall.app import create_app
from footfall.events.chdb_store import ChdbStore
from footfall.events.store import migrate_events
from footfall.meta.db import make_engine, make_sessionmaker, migrate, session_scope
from footfall.meta.models import ApiKey, Goal, Membership
from footfall.services import API_AUTH_CACHE, Services
from footfall.sites.sites import create_site
from footfall.web.auth import AuthCache

DOMAIN = "cached.example"
VISITORS = {"site_id": DOMAIN, "metrics": ["visitors"], "date_range": "7d"}


class Clock:
    """A clock the test moves by hand, for the cache's expiry."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Api:
    services: Services
    client: TestClient
    key: str
    elsewhere: Engine  # another connection pool on the same metadata store: another process

    def query(self, body: dict[str, Any] | None = None, key: str | None = None):
        headers = {"Authorization": f"Bearer {key or self.key}"}
        return self.client.post("/api/v2/query", json=body or VISITORS, headers=headers)

    def elsewhere_run(self, statement: Any) -> None:
        with self.elsewhere.begin() as connection:
            connection.execute(statement)

    def frozen_cache(self, seconds: float) -> Clock:
        """Replace the app's cache by one on a hand-moved clock."""
        clock = Clock()
        cache = AuthCache(seconds, clock=clock)
        cache.watch(self.services.sessions)
        self.services.extras[API_AUTH_CACHE] = cache
        return clock


@pytest.fixture
def make_api(make_settings, metadata_url: str, chdb_engine: ChdbStore) -> Iterator[Any]:
    made: list[tuple[Api, ChdbStore]] = []

    def factory(cache_seconds: int = 2) -> Api:
        settings = make_settings(DATABASE_URL=metadata_url, API_AUTH_CACHE_SECONDS=str(cache_seconds))
        engine = make_engine(settings.database_url)
        migrate(engine)
        store = chdb_engine.scoped(f"cache_{uuid.uuid4().hex[:12]}")
        migrate_events(store)
        services = Services(settings, engine, make_sessionmaker(engine), store)
        with session_scope(services.sessions) as db:
            owner = create_user(db, "owner@example.com", "correct horse battery staple")
            create_site(db, DOMAIN, owner=owner)
            key, _ = create_api_key(db, owner)
        api = Api(services, TestClient(create_app(settings, services)), key, make_engine(metadata_url))
        made.append((api, store))
        return api

    yield factory
    for api, store in made:
        api.client.close()
        api.elsewhere.dispose()
        api.services.engine.dispose()
        store.command("DROP DATABASE IF EXISTS {db}")


def test_a_key_deleted_elsewhere_is_refused_once_the_cache_seconds_pass(make_api) -> None:
    api = make_api(cache_seconds=1)
    assert api.query().status_code == 200
    api.elsewhere_run(delete(ApiKey).where(ApiKey.key_hash == hash_key(api.key)))
    time.sleep(1.05)
    refused = api.query()
    assert refused.status_code == 401
    assert refused.json() == {"error": "Invalid API key. Please make sure you're using a valid API key."}


def test_a_cached_key_answers_until_its_seconds_are_over(make_api) -> None:
    api = make_api()
    clock = api.frozen_cache(2)
    assert api.query().status_code == 200
    api.elsewhere_run(delete(ApiKey).where(ApiKey.key_hash == hash_key(api.key)))
    clock.now += 1.9
    assert api.query().status_code == 200  # read 1.9 s ago: still within the bound
    clock.now += 0.1
    assert api.query().status_code == 401


def test_a_member_removed_elsewhere_loses_the_site_once_the_cache_seconds_pass(make_api) -> None:
    api = make_api()
    clock = api.frozen_cache(2)
    assert api.query().status_code == 200
    api.elsewhere_run(delete(Membership))
    clock.now += 2
    refused = api.query()
    assert refused.status_code == 401
    assert "Invalid API key or site ID" in refused.json()["error"]


def test_changes_through_the_apps_own_sessions_take_effect_on_the_next_request(make_api) -> None:
    api = make_api()
    api.frozen_cache(60)  # the clock never moves: only the commits can empty the cache
    goals = {**VISITORS, "dimensions": ["event:goal"]}
    assert api.query(goals).json()["results"] == []
    with session_scope(api.services.sessions) as db:
        site_id = db.query(Membership).one().site_id
        db.add(Goal(site_id=site_id, display_name="Signup", event_name="Signup"))
    assert api.query({**VISITORS, "filters": [["is", "event:goal", ["Signup"]]]}).status_code == 200
    with session_scope(api.services.sessions) as db:
        db.delete(db.query(Membership).one())
    assert api.query().status_code == 401
    with session_scope(api.services.sessions) as db:
        db.execute(delete(ApiKey))  # a bulk statement, not an ORM delete
    assert api.query().status_code == 401
    assert api.query().json()["error"].startswith("Invalid API key.")


def test_with_the_cache_off_a_key_deleted_elsewhere_is_refused_at_once(make_api) -> None:
    api = make_api(cache_seconds=0)
    assert api.query().status_code == 200
    api.elsewhere_run(delete(ApiKey).where(ApiKey.key_hash == hash_key(api.key)))
    assert api.query().status_code == 401


def test_an_unknown_key_is_not_remembered(make_api) -> None:
    api = make_api()
    api.frozen_cache(60)
    raw = "ff_" + uuid.uuid4().hex
    assert api.query(key=raw).status_code == 401
    api.elsewhere_run(
        update(ApiKey).where(ApiKey.key_hash == hash_key(api.key)).values(key_hash=hash_key(raw))
    )
    assert api.query(key=raw).status_code == 200


def test_the_rate_limit_counts_requests_the_cache_answers(make_api) -> None:
    api = make_api()
    api.frozen_cache(60)
    with session_scope(api.services.sessions) as db:
        db.query(ApiKey).one().hourly_request_limit = 2
    assert [api.query().status_code for _ in range(3)] == [200, 200, 429]


def test_a_value_read_before_the_cache_was_emptied_is_not_kept() -> None:
    cache = AuthCache(60, clock=Clock())
    ticket = cache.ticket()  # a request starts reading a key ...
    cache.clear()  # ... while another session commits a change to it
    cache.put("key", "what the request read", ticket)
    assert cache.get("key") is None
    cache.put("key", "read afterwards", cache.ticket())
    assert cache.get("key") == "read afterwards"
