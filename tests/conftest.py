"""Shared fixtures: real stores only (chDB, SQLite, PostgreSQL, Redis).

Under CI=true a fixture whose server is unreachable fails the test instead of
skipping it, so CI always runs the PostgreSQL and Redis tests.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from footfall.config import Settings, load_settings
from footfall.events.chdb_store import ChdbStore
from footfall.events.store import migrate_events
from footfall.meta.db import make_engine, migrate

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_ADMIN_URL = os.environ.get("FOOTFALL_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_TEST_URL = os.environ.get("FOOTFALL_TEST_REDIS", "redis://127.0.0.1:6379/15")


def unavailable(what: str, error: Exception) -> None:
    """Skip on a developer machine without the service; fail under CI."""
    message = f"{what} unavailable: {error}"
    if IN_CI:
        pytest.fail(message + " (CI=true: this test must run)")
    pytest.skip(message)


@pytest.fixture
def make_settings(tmp_path: Path):
    """Settings as `load_settings` reads them, from a fresh DATA_DIR plus the given variables."""

    def factory(**env: str) -> Settings:
        values = {"DATA_DIR": str(tmp_path / "data"), **env}
        return load_settings(values)

    return factory


@pytest.fixture(scope="session")
def chdb_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChdbStore]:
    """The one chDB engine a test process may open."""
    store = ChdbStore(tmp_path_factory.mktemp("chdb") / "events")
    yield store
    store.close()


@pytest.fixture
def event_store(chdb_engine: ChdbStore) -> Iterator[ChdbStore]:
    """A freshly migrated event database for one test."""
    store = chdb_engine.scoped(f"test_{uuid.uuid4().hex[:12]}")
    migrate_events(store)
    yield store
    store.command("DROP DATABASE IF EXISTS {db}")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'meta.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    from sqlalchemy import create_engine, text

    name = f"footfall_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as error:
        admin.dispose()
        unavailable("PostgreSQL at 127.0.0.1:5432", error)
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def metadata_url(request: pytest.FixtureRequest) -> str:
    """Each metadata test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def metadata_engine(metadata_url: str):
    engine = make_engine(metadata_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def redis_url() -> Iterator[str]:
    import redis

    client = redis.Redis.from_url(REDIS_TEST_URL)
    try:
        client.ping()
    except Exception as error:
        unavailable("Redis at 127.0.0.1:6379", error)
    client.flushdb()
    yield REDIS_TEST_URL
    client.flushdb()
    client.close()


@pytest.fixture(scope="session")
def clickhouse_base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Where `ClickHouseServerStore` tests send their HTTP: CLICKHOUSE_TEST_URL's server (less
    its database) when set, else tests/clickhouse_standin.py: chDB behind a test HTTP layer in
    a process of its own, NOT a ClickHouse server (the SQL runs on ClickHouse's engine; the
    HTTP interface is a stand-in). Append `/database`."""
    url = os.environ.get("CLICKHOUSE_TEST_URL")
    if url:
        yield url.rsplit("/", 1)[0]
        return
    from tests.clickhouse_standin import StandIn

    standin = StandIn(tmp_path_factory.mktemp("clickhouse-standin") / "engine")
    yield standin.url
    standin.stop()
