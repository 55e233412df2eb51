"""Fixtures for the write path: services on a fresh SQLite metadata store and chDB database."""

from __future__ import annotations

from collections.abc import Iterator

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
def services(make_settings, sqlite_url, event_store) -> Iterator[Services]:
    """Services with example.com and blog.example.org as sites."""
    settings = make_settings(DATABASE_URL=sqlite_url)
    engine = make_engine(sqlite_url)
    migrate(engine)
    services = Services(
        settings=settings, engine=engine, sessions=make_sessionmaker(engine), events=event_store
    )
    with session_scope(services.sessions) as db:
        create_site(db, "example.com")
        create_site(db, "blog.example.org")
    yield services
    if "ingestion" in services.extras:
        ingestion_for(services).close()
    engine.dispose()


def rows(services: Services, sql: str) -> list[dict]:
    assert services.events is not None
    return services.events.query(sql).dicts()
