"""The per-key hourly limit in Redis (the sliding-window limiter of `accounts.limiter`): replicas
share one count; a Redis outage never refuses a request.

Runs against the real Redis at 127.0.0.1:6379 (required under CI=true). Each test uses its
own key prefix and deletes what it wrote, so it never touches anybody else's keys.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator

import pytest

from footfall.accounts.limiter import MemoryWindow, RedisWindow
from footfall.web.auth import ApiError, make_rate_limiter
from tests.conftest import REDIS_TEST_URL, unavailable


@pytest.fixture
def prefix() -> Iterator[str]:
    import redis

    client = redis.Redis.from_url(REDIS_TEST_URL)
    try:
        client.ping()
    except Exception as error:
        unavailable("Redis at 127.0.0.1:6379", error)
    name = f"footfall:test:ratelimit:{uuid.uuid4().hex}:"
    yield name
    for key in client.scan_iter(match=name + "*"):
        client.delete(key)
    client.close()


def test_two_limiters_share_one_count_per_key_over_the_last_hour(prefix: str) -> None:
    clock = [1_700_000_000.0]
    replica_a = make_rate_limiter(REDIS_TEST_URL, prefix=prefix, clock=lambda: clock[0], timeout=5)
    replica_b = make_rate_limiter(REDIS_TEST_URL, prefix=prefix, clock=lambda: clock[0], timeout=5)
    try:
        replica_a.hit(7, 3)
        clock[0] += 600
        replica_b.hit(7, 3)
        replica_a.hit(7, 3)
        with pytest.raises(ApiError) as refused:
            replica_b.hit(7, 3)
        assert refused.value.status == 429
        assert (
            refused.value.message == "Too many API requests. Your API key is limited to 3 requests per hour."
        )
        # The first request leaves the hour 3000 s from now; refused requests are not counted.
        assert refused.value.headers["Retry-After"] == "3000"
        with pytest.raises(ApiError):
            replica_a.hit(7, 3)
        replica_a.hit(8, 3)  # another key has its own count
        clock[0] += 3000
        replica_b.hit(7, 3)  # the first request has left the window: one place is free
        with pytest.raises(ApiError):
            replica_a.hit(7, 3)
    finally:
        replica_a.close()
        replica_b.close()


def test_the_count_is_one_sorted_set_per_key_that_expires_after_the_window(prefix: str) -> None:
    import redis

    now = time.time()
    limiter = make_rate_limiter(REDIS_TEST_URL, prefix=prefix, clock=lambda: now, timeout=5)
    client = redis.Redis.from_url(REDIS_TEST_URL)
    try:
        limiter.hit(1, 1)
        with pytest.raises(ApiError):
            limiter.hit(1, 1)
        assert client.zcard(f"{prefix}1") == 1
        assert 0 < client.ttl(f"{prefix}1") <= 3600 + 60
    finally:
        limiter.close()
        client.close()


def test_redis_down_serves_requests_counted_in_process_and_warns_once(caplog) -> None:
    limiter = make_rate_limiter("redis://127.0.0.1:1/0", prefix="unused:")
    try:
        with caplog.at_level(logging.WARNING, logger="footfall.auth"):
            limiter.hit(1, 2)
            limiter.hit(1, 2)
            with pytest.raises(ApiError) as refused:
                limiter.hit(1, 2)
        assert refused.value.status == 429
        warnings = [r for r in caplog.records if r.name == "footfall.auth"]
        assert len(warnings) == 1
        assert "Redis unreachable" in warnings[0].getMessage()
    finally:
        limiter.close()


def test_redis_is_used_when_redis_url_is_set() -> None:
    limiter = make_rate_limiter(REDIS_TEST_URL)
    try:
        assert isinstance(limiter._window, RedisWindow)
    finally:
        limiter.close()
    assert isinstance(make_rate_limiter(None)._window, MemoryWindow)


@pytest.fixture
def observer() -> Iterator[object]:
    """A client of its own, to see from outside which connections Redis has open."""
    import redis

    client = redis.Redis.from_url(REDIS_TEST_URL)
    try:
        client.ping()
    except Exception as error:
        unavailable("Redis at 127.0.0.1:6379", error)
    yield client
    client.close()


def _client_names(client) -> set[str]:
    return {entry.get("name") for entry in client.client_list()}


def test_closing_the_services_closes_the_limiters_redis_connections(tmp_path, observer) -> None:
    """The limiter an app makes on its first API request (REDIS_URL set) holds Redis
    connections until `Services.close()`; a server that stops must not leave them open."""
    from starlette.testclient import TestClient

    from footfall.accounts.apikeys import create_api_key
    from footfall.accounts.users import create_user
    from footfall.app import create_app
    from footfall.config import load_settings
    from footfall.meta.db import migrate, session_scope
    from footfall.services import API_RATE_LIMITER, open_metadata

    name = f"footfall-test-{uuid.uuid4().hex[:12]}"
    separator = "&" if "?" in REDIS_TEST_URL else "?"
    settings = load_settings(
        {
            "DATA_DIR": str(tmp_path / "data"),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'meta.db'}",
            "REDIS_URL": f"{REDIS_TEST_URL}{separator}client_name={name}",
        }
    )
    services = open_metadata(settings)
    counted: list[str] = []
    try:
        migrate(services.engine)
        with session_scope(services.sessions) as db:
            user = create_user(db, "redis-close@example.com", "correct horse battery staple")
            raw_key, key = create_api_key(db, user)
            counted = [f"footfall:ratelimit:{key.id}"]
        observer.delete(*counted)  # key ids restart at 1 in every new database
        client = TestClient(create_app(settings, services))
        answer = client.get("/api/v1/sites", headers={"Authorization": f"Bearer {raw_key}"})
        assert answer.status_code == 200, answer.text
        assert isinstance(services.extras[API_RATE_LIMITER]._window, RedisWindow)
        assert name in _client_names(observer)  # the limiter is connected, and counted the request
        assert observer.zcard(counted[0]) == 1
    finally:
        services.close()
        for window in counted:
            observer.delete(window)
    assert name not in _client_names(observer)
    assert API_RATE_LIMITER not in services.extras
