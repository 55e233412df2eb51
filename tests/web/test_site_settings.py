"""The site settings tabs, as a user drives them: each change through the same rules as the
Sites API, answered with what is wrong when it is refused."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from footfall.accounts.apikeys import create_api_key
from footfall.accounts.users import get_user_by_email
from footfall.meta.db import session_scope
from footfall.meta.models import Funnel, Goal, Invitation, Membership, Role, SharedLink, Site, utcnow
from tests.web.conftest import PASSWORD
from tests.web.test_site_pages import pageviews

INVITE_LOG = re.compile(r"invitation for (\S+) to (\S+) as (\w+) \(from \S+\): (\S+)")
TRANSFER_LOG = re.compile(r"ownership transfer of (\S+) from (\S+) to (\S+): (\S+)")


@pytest.fixture
def owned(web_factory, metadata_url):
    """An owner logged in on example.com, on SQLite and on PostgreSQL (every role rule on both)."""
    web = web_factory(metadata_url)
    web.user("owner@example.com")
    site_id = web.site("example.com", "owner@example.com")
    owner = web.visitor()
    owner.log_in("owner@example.com")
    return web, owner, site_id


def tab(name: str) -> str:
    return f"/example.com/settings/{name}"


def test_invite_accept_by_registering_then_change_role_and_remove(owned, caplog):
    web, owner, _site_id = owned
    caplog.set_level(logging.INFO, logger="footfall.accounts")
    answer = owner.post(tab("people"), {"action": "invite", "email": "Bob@Example.com", "role": "editor"})
    assert answer.status_code == 303
    assert "bob@example.com is invited as editor" in owner.get(tab("people")).text
    ((email, domain, role, url),) = [
        INVITE_LOG.search(r.getMessage()).groups()
        for r in caplog.records
        if INVITE_LOG.search(r.getMessage())
    ]
    assert (email, domain, role) == ("bob@example.com", "example.com", "editor")
    path = url.removeprefix(web.services.settings.base_url)
    # invite_only: /register takes bob only through the invitation, and only with his address.
    bob = web.visitor()
    landing = bob.get(path)
    assert landing.status_code == 200 and "Create an account" in landing.text
    register = "/register?invitation=" + path.rsplit("/", 1)[1]
    wrong = bob.post(
        register, {"email": "eve@example.com", "password": PASSWORD, "password_confirmation": PASSWORD}
    )
    assert wrong.status_code == 400 and "the invitation was sent to" in wrong.text
    made = bob.post(
        register, {"email": "bob@example.com", "password": PASSWORD, "password_confirmation": PASSWORD}
    )
    assert made.headers["location"] == path
    accepted = bob.post(path)
    assert accepted.status_code == 303 and accepted.headers["location"] == "/example.com"
    assert bob.get(tab("goals")).status_code == 200  # an editor
    assert bob.get(tab("people")).status_code == 403
    # Single use: the link is gone.
    assert web.visitor().get(path).status_code == 404
    with session_scope(web.services.sessions) as db:
        bob_id = get_user_by_email(db, "bob@example.com").id
        key, _ = create_api_key(db, get_user_by_email(db, "bob@example.com"))
    api = web.visitor()
    headers = {"Authorization": f"Bearer {key}"}
    body = {"site_id": "example.com", "metrics": ["visitors"], "date_range": "day"}
    assert api.client.post("/api/v2/query", json=body, headers=headers).status_code == 200
    # Role change, then removal: the API key loses the site at once (the auth cache too).
    owner.post(tab("people"), {"action": "role", "user_id": str(bob_id), "role": "viewer"})
    assert bob.get(tab("goals")).status_code == 403 and bob.get("/example.com").status_code == 200
    assert owner.post(tab("people"), {"action": "remove", "user_id": str(bob_id)}).status_code == 303
    assert bob.get("/example.com").status_code == 404
    assert api.client.post("/api/v2/query", json=body, headers=headers).status_code == 401


def test_an_invitation_expires_and_a_wrong_account_cannot_use_it(owned, caplog):
    web, owner, _site_id = owned
    caplog.set_level(logging.INFO, logger="footfall.accounts")
    owner.post(tab("people"), {"action": "invite", "email": "carol@example.com", "role": "viewer"})
    url = INVITE_LOG.search(caplog.text).group(4)
    path = url.removeprefix(web.services.settings.base_url)
    web.user("dave@example.com")
    dave = web.visitor()
    dave.log_in("dave@example.com")
    refused = dave.post(path)
    assert refused.status_code == 400 and "This invitation is for carol@example.com" in refused.text
    with session_scope(web.services.sessions) as db:
        db.scalar(select(Invitation)).expires_at = utcnow() - timedelta(seconds=1)
    expired = web.visitor().get(path)
    assert expired.status_code == 404 and "expired" in expired.text
    bad = owner.post(tab("people"), {"action": "invite", "email": "x@example.com", "role": "owner"})
    assert bad.status_code == 400 and "role must be one of admin, editor, viewer" in bad.text
    self_invite = owner.post(
        tab("people"), {"action": "invite", "email": "owner@example.com", "role": "viewer"}
    )
    assert self_invite.status_code == 400 and "already a member" in self_invite.text


def test_goals_of_every_kind_with_the_sites_api_rules(owned):
    web, owner, _site_id = owned
    assert (
        owner.post(tab("goals"), {"action": "add", "goal_type": "page", "page_path": "blog/**"}).status_code
        == 303
    )
    owner.post(tab("goals"), {"action": "add", "goal_type": "event", "event_name": "Signup"})
    owner.post(
        tab("goals"), {"action": "add", "goal_type": "revenue", "event_name": "Purchase", "currency": "eur"}
    )
    bad = owner.post(
        tab("goals"), {"action": "add", "goal_type": "revenue", "event_name": "Sale", "currency": "XXQ"}
    )
    assert bad.status_code == 400 and "is not an ISO 4217 currency code" in bad.text
    empty = owner.post(tab("goals"), {"action": "add", "goal_type": "event", "event_name": ""})
    assert empty.status_code == 400 and "an event name is 1 to 120 characters" in empty.text
    with session_scope(web.services.sessions) as db:
        goals = {g.display_name: (g.page_path, g.event_name, g.currency) for g in db.scalars(select(Goal))}
    assert goals == {
        "Visit /blog/**": ("/blog/**", None, None),
        "Signup": (None, "Signup", None),
        "Purchase": (None, "Purchase", "EUR"),
    }
    page = owner.get(tab("goals")).text
    assert "revenue (EUR)" in page and "Visit /blog/**" in page


def test_a_goal_is_renamed_in_the_page_and_the_sites_api_by_one_rule(owned):
    web, owner, _site_id = owned
    owner.post(tab("goals"), {"action": "add", "goal_type": "event", "event_name": "Signup"})
    named = owner.post(
        tab("goals"),
        {"action": "add", "goal_type": "page", "page_path": "/pricing", "display_name": "Saw prices"},
    )
    assert named.status_code == 303
    with session_scope(web.services.sessions) as db:
        ids = {g.display_name: g.id for g in db.scalars(select(Goal))}
    assert set(ids) == {"Signup", "Saw prices"}
    renamed = owner.post(
        tab("goals"),
        {"action": "rename", "goal_id": str(ids["Signup"]), "display_name": "  Trial   started "},
    )
    assert renamed.status_code == 303
    page = owner.get(tab("goals")).text
    assert "Trial started" in page and "<code>Signup</code>" in page  # what it counts stays
    clash = owner.post(
        tab("goals"), {"action": "rename", "goal_id": str(ids["Signup"]), "display_name": "Saw prices"}
    )
    assert (
        clash.status_code == 400
        and "another goal of this site is already named &#39;Saw prices&#39;" in clash.text
    )
    empty = owner.post(tab("goals"), {"action": "rename", "goal_id": str(ids["Signup"]), "display_name": " "})
    assert empty.status_code == 400 and "display name is 1 to 120 characters" in empty.text
    # The Sites API: PUT with display_name names a new goal and renames an existing one, with
    # the same refusal.
    with session_scope(web.services.sessions) as db:
        key, _ = create_api_key(db, get_user_by_email(db, "owner@example.com"), scope="sites")
    headers = {"Authorization": f"Bearer {key}"}
    api = web.visitor().client
    body = {
        "site_id": "example.com",
        "goal_type": "event",
        "event_name": "Signup",
        "display_name": "Signed up",
    }
    answer = api.put("/api/v1/sites/goals", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"] == ids["Signup"] and answer.json()["display_name"] == "Signed up"
    body["display_name"] = "Saw prices"
    refused = api.put("/api/v1/sites/goals", json=body, headers=headers)
    assert refused.status_code == 400 and "already named 'Saw prices'" in refused.json()["error"]
    fresh = {"site_id": "example.com", "goal_type": "page", "page_path": "/docs", "display_name": "Read docs"}
    assert api.put("/api/v1/sites/goals", json=fresh, headers=headers).json()["display_name"] == "Read docs"
    listed = api.get("/api/v1/sites/goals", params={"site_id": "example.com"}, headers=headers).json()
    assert sorted(g["display_name"] for g in listed["goals"]) == ["Read docs", "Saw prices", "Signed up"]


def test_the_properties_page_suggests_the_keys_the_sites_events_carried_in_30_days(owned):
    from datetime import UTC, datetime

    from footfall.ingest.api import Hit, record_hits
    from footfall.ingest.ingestion import ingestion_for
    from tests.web.test_site_pages import CHROME

    web, owner, _site_id = owned
    now = datetime.now(UTC)

    def hit(props: dict[str, str], ip: str, when: datetime) -> Hit:
        return Hit("Signup", "https://example.com/", "example.com", CHROME, ip, when, props=props)

    try:
        hits = [
            hit({"plan": "pro", "author": "ada"}, "203.0.113.1", now - timedelta(days=1)),
            hit({"plan": "free"}, "203.0.113.2", now - timedelta(days=2)),
            hit({"old_key": "x"}, "203.0.113.3", now - timedelta(days=40)),
        ]
        assert all(outcome.accepted for outcome in record_hits(web.services, hits))
    finally:
        ingestion_for(web.services).close()
        web.services.extras.pop("ingestion", None)
    page = owner.get(tab("properties")).text
    assert "Seen in the last 30 days" in page
    suggested = re.findall(r'aria-label="Allow ([^"]+)"', page)
    assert suggested == ["plan", "author"]  # most visitors first; the 40-day-old key is not offered
    owner.post(tab("properties"), {"action": "allow", "key": "plan"})
    assert re.findall(r'aria-label="Allow ([^"]+)"', owner.get(tab("properties")).text) == ["author"]


def test_funnels_properties_and_general(owned):
    web, owner, site_id = owned
    for name in ("One", "Two", "Three"):
        owner.post(tab("goals"), {"action": "add", "goal_type": "event", "event_name": name})
    with session_scope(web.services.sessions) as db:
        ids = [str(g.id) for g in db.scalars(select(Goal).order_by(Goal.id))]
    too_short = owner.post(tab("funnels"), {"action": "add", "name": "F", "step": [ids[0], "", ""]})
    assert too_short.status_code == 400 and "a funnel has 2 to 8 steps, not 1" in too_short.text
    twice = owner.post(tab("funnels"), {"action": "add", "name": "F", "step": [ids[0], ids[0]]})
    assert twice.status_code == 400 and "listed twice" in twice.text
    assert (
        owner.post(tab("funnels"), {"action": "add", "name": "F", "step": [ids[2], ids[0], ""]}).status_code
        == 303
    )
    assert "Three → One" in owner.get(tab("funnels")).text

    owner.post(tab("properties"), {"action": "allow", "key": "plan"})
    owner.post(tab("properties"), {"action": "allow", "key": "author"})
    again = owner.post(tab("properties"), {"action": "allow", "key": "plan"})
    assert again.status_code == 400 and "already allowed" in again.text
    with session_scope(web.services.sessions) as db:
        assert db.get(Site, site_id).allowed_props == ["author", "plan"]
    owner.post(tab("properties"), {"action": "disallow", "key": "plan"})
    owner.post(tab("properties"), {"action": "disallow", "key": "author"})
    with session_scope(web.services.sessions) as db:
        assert db.get(Site, site_id).allowed_props is None

    owner.post(tab("general"), {"action": "timezone", "timezone": "Asia/Tokyo"})
    bad_zone = owner.post(tab("general"), {"action": "timezone", "timezone": "Nowhere/Land"})
    assert bad_zone.status_code == 400 and "is not an IANA time zone" in bad_zone.text
    web.site("taken.example")
    taken = owner.post(tab("general"), {"action": "domain", "domain": "taken.example"})
    assert taken.status_code == 400 and "taken.example has already been taken" in taken.text
    moved = owner.post(tab("general"), {"action": "domain", "domain": "www.renamed.example"})
    assert moved.headers["location"] == "/renamed.example/settings/general"
    with session_scope(web.services.sessions) as db:
        site = db.get(Site, site_id)
        assert (site.domain, site.timezone) == ("renamed.example", "Asia/Tokyo")


def roles(web, site_id: int) -> dict[str, str]:
    with session_scope(web.services.sessions) as db:
        members = db.scalars(select(Membership).where(Membership.site_id == site_id)).all()
        return {m.user.email: m.role.value for m in members}


def offer(web, owner, email: str, caplog) -> str:
    """The owner asks `email` to take over example.com; the path of the link they are sent."""
    caplog.clear()
    answer = owner.post(tab("danger-zone"), {"action": "transfer", "email": email})
    assert answer.status_code == 303, answer.text
    ((domain, sender, to, url),) = [m.groups() for m in TRANSFER_LOG.finditer(caplog.text)]
    assert (domain, sender, to) == ("example.com", "owner@example.com", email)
    return url.removeprefix(web.services.settings.base_url)


def accept_transfer(web, owner, heir, email: str) -> None:
    import logging as _logging

    handler = _Capture()
    _logging.getLogger("footfall.accounts").addHandler(handler)
    level = _logging.getLogger("footfall.accounts").level
    _logging.getLogger("footfall.accounts").setLevel(_logging.INFO)
    try:
        assert owner.post(tab("danger-zone"), {"action": "transfer", "email": email}).status_code == 303
    finally:
        _logging.getLogger("footfall.accounts").removeHandler(handler)
        _logging.getLogger("footfall.accounts").setLevel(level)
    url = TRANSFER_LOG.search(handler.text).group(4)
    path = url.removeprefix(web.services.settings.base_url)
    assert heir.post(path, {"action": "accept"}).status_code == 303


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.text = ""

    def emit(self, record: logging.LogRecord) -> None:
        self.text += record.getMessage() + "\n"


def test_ownership_moves_only_when_the_recipient_accepts_the_mailed_link(owned, caplog):
    web, owner, site_id = owned
    caplog.set_level(logging.INFO, logger="footfall.accounts")
    web.user("heir@example.com")
    web.user("eve@example.com")
    web.add_member(site_id, "heir@example.com", Role.viewer)
    path = offer(web, owner, "heir@example.com", caplog)
    assert "Waiting for <strong>heir@example.com</strong> to accept" in owner.get(tab("danger-zone")).text
    assert roles(web, site_id) == {"owner@example.com": "owner", "heir@example.com": "viewer"}
    # Only the person it names may use the link; an admin cannot offer the site.
    eve = web.visitor()
    eve.log_in("eve@example.com")
    wrong = eve.post(path, {"action": "accept"})
    assert wrong.status_code == 400 and "This invitation is for heir@example.com" in wrong.text
    heir = web.visitor()
    heir.log_in("heir@example.com")
    page = heir.get(path)
    assert page.status_code == 200 and "Take over example.com?" in page.text and "Decline" in page.text
    # Declined: nothing changes, and the link is used up.
    assert heir.post(path, {"action": "decline"}).headers["location"] == "/sites"
    assert heir.get(path).status_code == 404
    assert roles(web, site_id) == {"owner@example.com": "owner", "heir@example.com": "viewer"}
    # Offered again, then cancelled by the owner: the link stops working.
    path = offer(web, owner, "heir@example.com", caplog)
    assert owner.post(tab("danger-zone"), {"action": "cancel_transfer"}).status_code == 303
    assert heir.get(path).status_code == 404
    # A newer offer replaces an older one (one pending transfer per site); accepted, the old
    # owner stays as an admin.
    stale = offer(web, owner, "eve@example.com", caplog)
    path = offer(web, owner, "heir@example.com", caplog)
    assert eve.get(stale).status_code == 404
    accepted = heir.post(path, {"action": "accept"})
    assert accepted.status_code == 303 and accepted.headers["location"] == "/example.com"
    assert roles(web, site_id) == {"owner@example.com": "admin", "heir@example.com": "owner"}
    assert heir.get(path).status_code == 404  # single use
    assert owner.get(tab("danger-zone")).status_code == 403
    assert heir.get(tab("danger-zone")).status_code == 200


def test_ownership_can_go_to_someone_without_an_account_who_registers_through_the_link(owned, caplog):
    web, owner, site_id = owned
    caplog.set_level(logging.INFO, logger="footfall.accounts")
    mine = owner.post(tab("danger-zone"), {"action": "transfer", "email": "owner@example.com"})
    assert mine.status_code == 400 and "you already own this site" in mine.text
    bad = owner.post(tab("danger-zone"), {"action": "transfer", "email": "not an address"})
    assert bad.status_code == 400 and "is not a valid email address" in bad.text
    path = offer(web, owner, "newcomer@example.com", caplog)
    newcomer = web.visitor()
    landing = newcomer.get(path)
    assert landing.status_code == 200 and "Create an account" in landing.text
    # invite_only (the default) lets the recipient register through the link.
    made = newcomer.post(
        "/register?invitation=" + path.rsplit("/", 1)[1],
        {"email": "newcomer@example.com", "password": PASSWORD, "password_confirmation": PASSWORD},
    )
    assert made.headers["location"] == path
    assert newcomer.post(path, {"action": "accept"}).status_code == 303
    assert roles(web, site_id) == {"owner@example.com": "admin", "newcomer@example.com": "owner"}


def test_transfer_ownership_then_delete_the_site_and_its_events(owned):
    web, owner, site_id = owned
    web.user("heir@example.com")
    web.add_member(site_id, "heir@example.com", Role.admin)
    pageviews(web, "example.com", "203.0.113.9")
    heir = web.visitor()
    heir.log_in("heir@example.com")
    accept_transfer(web, owner, heir, "heir@example.com")
    assert owner.get(tab("danger-zone")).status_code == 403  # an admin now
    wrong = heir.post(tab("danger-zone"), {"action": "delete", "confirm": "example.org"})
    assert wrong.status_code == 400 and "type example.com to confirm" in wrong.text
    store = web.services.events
    assert (
        store.query("SELECT count() FROM {db}.events WHERE site_id = {s:UInt64}", {"s": site_id}).rows[0][0]
        == 1
    )
    gone = heir.post(tab("danger-zone"), {"action": "delete", "confirm": "example.com"})
    assert gone.headers["location"] == "/sites"
    for table in ("events", "sessions", "sessions_hourly", "events_hourly", "visitors_hourly"):
        rows = store.query(
            f"SELECT count() FROM {{db}}.{table} WHERE site_id = {{s:UInt64}}", {"s": site_id}
        ).rows
        assert rows[0][0] == 0, table
    with session_scope(web.services.sessions) as db:
        assert db.get(Site, site_id) is None
        assert db.scalars(select(Membership)).all() == []
        assert db.scalars(select(Funnel)).all() == []


def dashboard_visitors(visitor, url: str) -> int | None:
    """Unique visitors today as the dashboard at `url` reads them (its config, then its query
    route, with the page's link and CSRF token); None when the page is no dashboard."""
    import json
    import re
    from urllib.parse import parse_qs, urlsplit

    page = visitor.get(url)
    found = re.search(r"id=dashboard-config type=application/json>(.*?)</script>", page.text)
    if page.status_code != 200 or not found:
        return None
    config = json.loads(found.group(1))
    auth = parse_qs(urlsplit(url).query).get("auth", [""])[0]
    answer = visitor.client.post(
        f"/api/stats/{config['domain']}/query",
        json={"metrics": ["visitors"], "date_range": "day"},
        headers={"X-CSRF-Token": config["csrf_token"], "X-Shared-Link-Auth": auth},
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["results"][0]["metrics"][0]


def test_shared_links_with_and_without_password_revocable_and_the_public_switch(owned):
    web, owner, _site_id = owned
    pageviews(web, "example.com", "203.0.113.7", "203.0.113.8")
    owner.post(tab("visibility"), {"action": "link", "name": "Board"})
    owner.post(tab("visibility"), {"action": "link", "name": "Secret", "password": "open sesame"})
    with session_scope(web.services.sessions) as db:
        links = {link.name: link.slug for link in db.scalars(select(SharedLink))}
    assert f"/share/example.com?auth={links['Board']}" in owner.get(tab("visibility")).text
    guest = web.visitor()
    assert dashboard_visitors(guest, f"/share/example.com?auth={links['Board']}") == 2
    assert guest.get("/share/example.com?auth=nope").status_code == 404
    assert guest.get("/share/example.com").status_code == 404
    assert guest.get("/example.com").headers["location"].startswith("/login")
    secret = f"/share/example.com?auth={links['Secret']}"
    asked = guest.get(secret)
    assert asked.status_code == 200 and "protected by a password" in asked.text
    assert guest.post(secret, {"password": "wrong one!"}).status_code == 401
    assert guest.post(secret, {"password": "open sesame"}).status_code == 303
    assert dashboard_visitors(guest, secret) == 2
    # Another browser without the password sees the form, not the numbers.
    assert "protected by a password" in web.visitor().get(secret).text
    with session_scope(web.services.sessions) as db:
        board_id = db.scalar(select(SharedLink.id).where(SharedLink.name == "Board"))
    owner.post(tab("visibility"), {"action": "revoke", "link_id": str(board_id)})
    assert guest.get(f"/share/example.com?auth={links['Board']}").status_code == 404
    owner.post(tab("visibility"), {"action": "public", "public": "true"})
    assert dashboard_visitors(web.visitor(), "/example.com") == 2


def _request(app, query: str = "", headers: dict[str, str] | None = None, cookies: str = ""):
    from starlette.requests import Request

    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    if cookies:
        raw.append((b"cookie", cookies.encode()))
    return Request(
        {
            "type": "http",
            "method": "POST",
            "path": "/api/stats/example.com/query",
            "app": app,
            "query_string": query.encode(),
            "headers": raw,
        }
    )


def test_shared_access_resolves_a_request_by_auth_parameter_or_header(owned):
    from footfall.web.share import shared_access

    web, owner, site_id = owned
    owner.post(tab("visibility"), {"action": "link", "name": "Board"})
    owner.post(tab("visibility"), {"action": "link", "name": "Secret", "password": "open sesame"})
    with session_scope(web.services.sessions) as db:
        slugs = {link.name: link.slug for link in db.scalars(select(SharedLink))}
        by_query = shared_access(_request(web.app, f"auth={slugs['Board']}"), db, "example.com")
        by_header = shared_access(
            _request(web.app, headers={"X-Shared-Link-Auth": slugs["Board"]}), db, "example.com"
        )
        assert by_query is not None and by_query.read_only and by_query.site.id == site_id
        assert by_header is not None and by_header.link.name == "Board"
        assert shared_access(_request(web.app, "auth=wrong"), db, "example.com") is None
        assert shared_access(_request(web.app, f"auth={slugs['Board']}"), db, "other.example") is None
        # A password link counts only with the proof cookie its password form leaves.
        assert shared_access(_request(web.app, f"auth={slugs['Secret']}"), db, "example.com") is None
    guest = web.visitor()
    guest.post(f"/share/example.com?auth={slugs['Secret']}", {"password": "open sesame"})
    cookie = "; ".join(f"{name}={value}" for name, value in guest.client.cookies.items())
    with session_scope(web.services.sessions) as db:
        proven = shared_access(
            _request(web.app, f"auth={slugs['Secret']}", cookies=cookie), db, "example.com"
        )
        assert proven is not None and proven.link.name == "Secret"


def test_a_shared_link_limited_to_a_segment_shows_only_its_visits(owned):
    from footfall.ingest.api import Hit, record_hits
    from footfall.ingest.ingestion import ingestion_for
    from footfall.meta.segments import Segment, SegmentType
    from tests.web.test_site_pages import CHROME, earlier_today

    web, owner, site_id = owned
    now = earlier_today()
    hits = [
        Hit(
            "pageview",
            "https://example.com/",
            "example.com",
            CHROME,
            "203.0.113.1",
            now,
            referrer="https://www.google.com/",
        ),
        Hit("pageview", "https://example.com/", "example.com", CHROME, "203.0.113.2", now),
        Hit("pageview", "https://example.com/", "example.com", CHROME, "203.0.113.3", now),
    ]
    try:
        assert all(outcome.accepted for outcome in record_hits(web.services, hits))
    finally:
        ingestion_for(web.services).close()
        web.services.extras.pop("ingestion", None)
    with session_scope(web.services.sessions) as db:
        segment = Segment(
            site_id=site_id,
            name="From Google",
            type=SegmentType.site,
            segment_data={"filters": [["is", "visit:source", ["Google"]]]},
        )
        db.add(segment)
        db.flush()
        segment_id = segment.id
    assert "From Google" in owner.get(tab("visibility")).text
    owner.post(tab("visibility"), {"action": "link", "name": "Google only", "segment_id": str(segment_id)})
    owner.post(tab("visibility"), {"action": "link", "name": "Everything"})
    with session_scope(web.services.sessions) as db:
        slugs = {link.name: link.slug for link in db.scalars(select(SharedLink))}
    guest = web.visitor()
    assert dashboard_visitors(guest, f"/share/example.com?auth={slugs['Google only']}") == 1
    assert dashboard_visitors(guest, f"/share/example.com?auth={slugs['Everything']}") == 3
    other = web.site("other.example", "owner@example.com")
    with session_scope(web.services.sessions) as db:
        foreign = Segment(site_id=other, name="Theirs", type=SegmentType.site, segment_data={"filters": []})
        db.add(foreign)
        db.flush()
        foreign_id = foreign.id
    refused = owner.post(tab("visibility"), {"action": "link", "name": "Bad", "segment_id": str(foreign_id)})
    assert refused.status_code == 400 and "saved site segments" in refused.text
