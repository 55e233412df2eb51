"""`GET /metrics` is not public: trusted networks, or the METRICS_TOKEN bearer."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from footfall.app import create_app
from footfall.services import open_metadata

TOKEN = "scrape-token-0123456789abcdef"


@pytest.fixture
def metadata_only(make_settings):
    def app_for(**env: str):
        settings = make_settings(**env)
        services = open_metadata(settings)
        return create_app(settings, services), services

    return app_for


@pytest.mark.parametrize(
    ("peer", "headers", "status"),
    [
        ("127.0.0.1", {}, 200),
        ("10.2.3.4", {}, 200),
        ("203.0.113.9", {}, 403),
        # A public client behind a trusted proxy is still public.
        ("10.0.0.1", {"X-Forwarded-For": "203.0.113.9"}, 403),
    ],
)
def test_without_a_token_only_trusted_networks_read_metrics(metadata_only, peer, headers, status) -> None:
    app, services = metadata_only()
    with TestClient(app, client=(peer, 40000)) as client:
        response = client.get("/metrics", headers=headers)
    services.close()
    assert response.status_code == status
    if status == 200:
        assert "footfall_ingest_events_total" in response.text
    else:
        assert "METRICS_TOKEN" in response.json()["error"]


@pytest.mark.parametrize(
    ("peer", "authorization", "status"),
    [
        ("203.0.113.9", f"Bearer {TOKEN}", 200),
        ("203.0.113.9", f"  Bearer {TOKEN} ", 200),
        ("203.0.113.9", "Bearer wrong-token-0123456789", 403),
        ("127.0.0.1", "", 403),
    ],
)
def test_with_a_token_every_scraper_must_send_it(metadata_only, peer, authorization, status) -> None:
    app, services = metadata_only(METRICS_TOKEN=TOKEN)
    with TestClient(app, client=(peer, 40000)) as client:
        response = client.get("/metrics", headers={"Authorization": authorization})
    services.close()
    assert response.status_code == status
