"""Shields through real posts to `/api/event`: each kind of rule drops what it should (202 with
`X-Plausible-Dropped: 1`, nothing stored, counted on /metrics under the reason `shield`),
lets the rest through, and a rule added or removed while the server runs takes effect
within seconds. The rules are read from the metadata store once a second, never per event."""

from __future__ import annotations

import iptocc
import pytest
from sqlalchemy import select

from footfall.meta.db import session_scope
from footfall.meta.models import Site
from footfall.meta.shields import ShieldKind
from footfall.services import Services
from footfall.sites.shields import add_rule, find_rule, remove_rule
from tests.e2e.harness import wait_until
from tests.ingest.conftest import METRICS_TOKEN, Server

GERMAN_ADDRESS = "5.9.0.1"
BRITISH_ADDRESS = "81.2.69.160"


def add(services: Services, kind: str, value: str, domain: str = "example.com") -> None:
    with session_scope(services.sessions) as db:
        site = db.scalar(select(Site).where(Site.domain == domain))
        add_rule(db, site, ShieldKind(kind), value)


def remove(services: Services, kind: str, value: str, domain: str = "example.com") -> None:
    with session_scope(services.sessions) as db:
        site = db.scalar(select(Site).where(Site.domain == domain))
        remove_rule(db, find_rule(db, site, ShieldKind(kind), value))


def pageview(url: str, domain: str = "example.com") -> dict:
    return {"n": "pageview", "u": url, "d": domain}


def dropped(response) -> bool:
    assert response.status_code == 202, response.text
    return response.headers.get("x-plausible-dropped") == "1"


def shield_drops(server: Server) -> float:
    text = server.request("GET", "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
    for line in text.splitlines():
        if line.startswith("footfall_ingest_events_total{") and 'reason="shield"' in line:
            return float(line.split()[-1])
    return 0.0


def stored_paths(server: Server) -> list[str]:
    return [row["pathname"] for row in server.rows("SELECT pathname FROM {db}.events ORDER BY pathname")]


def test_the_addresses_are_real_countries() -> None:
    assert (iptocc.country_code(GERMAN_ADDRESS), iptocc.country_code(BRITISH_ADDRESS)) == ("DE", "GB")


def test_every_kind_of_rule_drops_its_events_and_only_those(services: Services) -> None:
    add(services, "ip", "203.0.113.0/24")
    add(services, "ip", "2001:db8:1::/48")
    add(services, "country", "DE")
    add(services, "page", "/admin/**")
    add(services, "page", "/drafts/*")
    add(services, "hostname", "example.com")
    add(services, "hostname", "*.shop.example.com")
    with Server(services) as server:
        before = shield_drops(server)
        blocked = [
            (pageview("https://example.com/ip-v4"), "203.0.113.77"),
            (pageview("https://example.com/ip-v6"), "2001:db8:1:2::3"),
            (pageview("https://example.com/country"), GERMAN_ADDRESS),
            (pageview("https://example.com/admin/users"), None),
            (pageview("https://example.com/drafts/one"), None),
            (pageview("https://blog.example.com/other-host"), None),
            (pageview("https://shop.example.com/bare-shop-host"), None),
            ({"n": "Signup", "u": "https://example.com/admin/x", "d": "example.com"}, None),
        ]
        for body, peer in blocked:
            assert dropped(server.post(body, peer=peer)), body
        kept = [
            (pageview("https://example.com/kept-v4"), "203.0.114.1"),
            (pageview("https://example.com/kept-v6"), "2001:db8:2::1"),
            (pageview("https://example.com/kept-country"), BRITISH_ADDRESS),
            (pageview("https://example.com/admin"), None),
            (pageview("https://example.com/drafts/one/two"), None),
            (pageview("https://www.example.com/kept-www"), None),
            (pageview("https://eu.shop.example.com/kept-subdomain"), None),
        ]
        for body, peer in kept:
            assert not dropped(server.post(body, peer=peer)), body
        assert shield_drops(server) - before == len(blocked)
        assert stored_paths(server) == sorted(
            [
                "/kept-v4",
                "/kept-v6",
                "/kept-country",
                "/admin",
                "/drafts/one/two",
                "/kept-www",
                "/kept-subdomain",
            ]
        )
        countries = server.rows("SELECT country_code FROM {db}.events WHERE pathname = '/kept-country'")
        assert countries == [{"country_code": "GB"}]


def test_rules_of_one_site_leave_another_alone(services: Services) -> None:
    add(services, "ip", "203.0.113.0/24")
    with Server(services) as server:
        body = {"n": "pageview", "u": "https://example.com/both", "d": "example.com,blog.example.org"}
        response = server.post(body, peer="203.0.113.5")
        assert not dropped(response)  # one of its two sites took it
        rows = server.rows("SELECT site_id FROM {db}.events")
    with services.sessions() as db:
        blog = db.scalar(select(Site.id).where(Site.domain == "blog.example.org"))
    assert rows == [{"site_id": blog}]


@pytest.mark.parametrize("address", ["203.0.113.9", "2001:db8::9"])
def test_a_rule_added_and_removed_while_running_takes_effect_within_seconds(
    services: Services, address: str
) -> None:
    rule = "203.0.113.0/24" if "." in address else "2001:db8::/32"
    with Server(services) as server:
        assert not dropped(server.post(pageview("https://example.com/before"), peer=address))
        add(services, "ip", rule)
        wait_until(
            lambda: dropped(server.post(pageview("https://example.com/during"), peer=address)),
            "the new rule to drop events",
            timeout=10,
        )
        remove(services, "ip", rule)
        wait_until(
            lambda: not dropped(server.post(pageview("https://example.com/after"), peer=address)),
            "the removed rule to stop dropping events",
            timeout=10,
        )
        paths = set(stored_paths(server))
    assert "/before" in paths and "/after" in paths


def test_the_pipeline_names_the_step(services: Services) -> None:
    with Server(services) as server:
        names = [name for name, _step in server.app.state.ingestion.pipeline.steps]
    assert names.index("find_site") + 1 == names.index("drop_shield")


def test_with_visits_in_redis_the_pipeline_threads_drop_the_same(services_with, redis_url: str) -> None:
    """With REDIS_URL the pipeline runs on worker threads (footfall.web.event); the shields are
    the same in-memory rules there, and the drops are counted back on the loop."""
    services = services_with(REDIS_URL=redis_url, METRICS_TOKEN=METRICS_TOKEN)
    add(services, "ip", "203.0.113.0/24")
    with Server(services) as server:
        assert server.app.state.ingestion.executor is not None
        before = shield_drops(server)
        assert dropped(server.post(pageview("https://example.com/redis-blocked"), peer="203.0.113.1"))
        assert not dropped(server.post(pageview("https://example.com/redis-kept"), peer="198.51.100.3"))
        assert shield_drops(server) - before == 1
        assert stored_paths(server) == ["/redis-kept"]
