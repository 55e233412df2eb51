"""Sites pages: adding a site, its snippet and waiting state, `/sites`, `/:domain` and its numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from footfall.ingest.api import Hit, record_hits
from footfall.ingest.ingestion import ingestion_for
from footfall.meta.db import session_scope
from footfall.meta.models import Membership, Role, Site

CHROME = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def earlier_today() -> datetime:
    """A moment a little in the past and still today (UTC), which the tests' `day` queries
    count: five minutes ago, or midnight in the first five minutes of a day."""
    now = datetime.now(UTC)
    return max(now - timedelta(minutes=5), now.replace(hour=0, minute=0, second=0, microsecond=0))


def pageviews(web, domain: str, *ips: str) -> None:
    now = earlier_today()
    hits = [Hit("pageview", f"https://{domain}/", domain, CHROME, ip, now) for ip in ips]
    try:
        assert all(outcome.accepted for outcome in record_hits(web.services, hits))
    finally:
        if "ingestion" in web.services.extras:
            ingestion_for(web.services).close()
            web.services.extras.pop("ingestion", None)


def test_adding_a_site_normalises_the_domain_makes_the_user_owner_and_shows_the_snippet(web):
    web.user("ada@example.com")
    visitor = web.visitor()
    visitor.log_in("ada@example.com")
    form = visitor.get("/sites/new").text
    assert 'name="domain"' in form and 'name="timezone"' in form and "Europe/Berlin" in form
    answer = visitor.post("/sites/new", {"domain": "https://www.Example.com/", "timezone": "Europe/Berlin"})
    assert answer.status_code == 303 and answer.headers["location"] == "/example.com/snippet"
    with session_scope(web.services.sessions) as db:
        site = db.scalar(select(Site).where(Site.domain == "example.com"))
        assert site.timezone == "Europe/Berlin"
        assert db.scalar(select(Membership.role).where(Membership.site_id == site.id)) is Role.owner
    snippet = visitor.get("/example.com/snippet").text
    assert 'data-domain="example.com"' in snippet and "http://localhost:8000/js/script.js" in snippet
    assert "Waiting for the first pageview" in snippet
    assert visitor.get("/example.com/snippet/status").json() == {"received": False}


def test_a_bad_domain_or_time_zone_is_said_on_the_form(web):
    web.user("ada@example.com")
    visitor = web.visitor()
    visitor.log_in("ada@example.com")
    bad = visitor.post("/sites/new", {"domain": "not a domain", "timezone": "Etc/UTC"})
    assert bad.status_code == 400 and "is not a valid domain" in bad.text
    zone = visitor.post("/sites/new", {"domain": "ok.example", "timezone": "Mars/Olympus"})
    assert zone.status_code == 400 and "is not an IANA time zone" in zone.text
    visitor.post("/sites/new", {"domain": "ok.example", "timezone": "Etc/UTC"})
    taken = visitor.post("/sites/new", {"domain": "ok.example", "timezone": "Etc/UTC"})
    assert taken.status_code == 400 and "already exists" in taken.text


def test_sites_and_the_site_page_show_the_numbers_the_stats_engine_counts(web):
    web.user("ada@example.com")
    web.site("example.com", "ada@example.com")
    web.site("quiet.example", "ada@example.com")
    pageviews(web, "example.com", "203.0.113.1", "203.0.113.2", "203.0.113.3")
    visitor = web.visitor()
    visitor.log_in("ada@example.com")
    sites = visitor.get("/sites").text
    assert "<strong>3</strong> visitors in the last 24 hours" in sites
    assert "<strong>0</strong> visitors in the last 24 hours" in sites
    page = visitor.get("/example.com").text
    assert '"domain":"example.com"' in page and "/static/dashboard/main.js" in page  # the dashboard
    token = visitor.csrf("/settings")
    body = {"metrics": ["visitors", "pageviews"], "date_range": "day"}
    numbers = visitor.client.post("/api/stats/example.com/query", json=body, headers={"X-CSRF-Token": token})
    assert numbers.json()["results"] == [{"metrics": [3, 3], "dimensions": []}]
    assert visitor.get("/example.com/snippet/status").json() == {"received": True}
    assert visitor.get("/quiet.example/snippet/status").json() == {"received": False}
