"""Fixtures for the write path: services on a fresh SQLite metadata store and chDB database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from footfall.ingest.ingestion import ingestion_for
from footfall.meta.db import make_engine, make_sessionmaker, migrate, session_scope
from footfall.services import Services
from footfall.sites.sites import create_site

CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


@pytest.fixture
def services_with(make_settings, sqlite_url, event_store) -> Iterator[Callable[..., Services]]:
    """Makes services on a fresh SQLite metadata store with example.com as a site, from the
    given settings (`make_settings` names); `events` replaces the event store (a wrapper
    around it, say). Each is closed after the test."""
    made: list[Services] = []

    def factory(events: Any = None, **env: str) -> Services:
        settings = make_settings(DATABASE_URL=sqlite_url, **env)
        engine = make_engine(sqlite_url)
        migrate(engine)
        services = Services(
            settings=settings,
            engine=engine,
            sessions=make_sessionmaker(engine),
            events=event_store if events is None else events,
        )
        with session_scope(services.sessions) as db:
            create_site(db, "example.com")
        made.append(services)
        return services

    yield factory
    for services in made:
        if "ingestion" in services.extras:
            ingestion_for(services).close()
        services.engine.dispose()


@pytest.fixture
def services(services_with) -> Services:
    """Services with example.com and blog.example.org as sites."""
    services = services_with(METRICS_TOKEN=METRICS_TOKEN)
    with session_scope(services.sessions) as db:
        create_site(db, "blog.example.org")
    return services


METRICS_TOKEN = "metrics-token-for-tests-0123"


def rows(services: Services, sql: str) -> list[dict]:
    assert services.events is not None
    return services.events.query(sql).dicts()


class Server:
    """The real application in-process: post as a browser would, flush, read the store."""

    def __init__(self, services: Services, client_address: str = "198.51.100.1") -> None:
        import warnings

        from footfall.app import create_app

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from starlette.testclient import TestClient

        self.services = services
        self.app = create_app(services.settings, services)
        self.client_address = client_address
        self._client = TestClient(self.app, client=(client_address, 50000))

    def __enter__(self) -> Server:
        self._client.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._client.__exit__(*exc)

    def post(self, body, headers: dict | None = None, peer: str | None = None, **kwargs):
        import json

        data = body if isinstance(body, str | bytes) else json.dumps(body)
        headers = {"Content-Type": "text/plain", "User-Agent": CHROME_MAC, **(headers or {})}
        transport = self._client._transport
        transport.client = (peer or self.client_address, 50000)
        try:
            return self._client.post("/api/event", content=data, headers=headers, **kwargs)
        finally:
            transport.client = (self.client_address, 50000)

    def request(self, method: str, path: str, **kwargs):
        return self._client.request(method, path, **kwargs)

    def flush(self) -> None:
        assert self.app.state.ingestion.buffer.flush(timeout=30)

    def rows(self, sql: str) -> list[dict]:
        self.flush()
        return rows(self.services, sql)


@pytest.fixture
def server(services: Services) -> Iterator[Server]:
    with Server(services) as running:
        yield running


def run_async(coroutine: Any) -> Any:
    """`asyncio.run` in a thread of its own: an earlier test (Playwright's sync API, say) may
    leave an event loop running in the main thread, where `asyncio.run` refuses to start."""
    import asyncio
    import threading

    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as error:  # re-raised in the caller's thread
            outcome["error"] = error

    thread = threading.Thread(target=target, name="test-asyncio")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


@pytest.fixture
def wal_dir(tmp_path) -> Any:
    """A write-ahead log's directory (not created: the buffer makes it)."""
    return tmp_path / "wal"


@pytest.fixture
def store(event_store) -> Any:
    """The embedded event store, its tables keeping a deduplication window as the server's do."""
    from footfall.ingest.buffer import ensure_deduplication

    ensure_deduplication(event_store)
    return event_store
