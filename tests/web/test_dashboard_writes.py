"""The dashboard's writes and the pages around it, on SQLite and PostgreSQL: annotations
(editors and above write, everyone who sees the dashboard reads), editing and deleting saved
segments (Plausible's rule: your personal ones; the site's for owners and admins), the boot
config's imports and allow-list, and `/sites/compare`."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest

from footfall.meta.db import session_scope
from footfall.meta.models import Role, SharedLink, Site, SiteImport
from footfall.meta.segments import Segment, SegmentType
from footfall.sites.goals import find_or_create_event_goal
from tests.web.conftest import Visitor

SITE = "notes.example"
FILTERS = [["is", "visit:source", ["Google"]]]


def config_of(page_text: str) -> dict:
    found = re.search(r"id=dashboard-config type=application/json>(.*?)</script>", page_text)
    assert found, page_text[:500]
    return json.loads(found.group(1))


@pytest.fixture
def world(web_factory, metadata_url):
    web = web_factory(metadata_url)
    for email in ("owner@example.com", "admin@example.com", "editor@example.com", "viewer@example.com"):
        web.user(email)
    web.user("stranger@example.com")
    site_id = web.site(SITE, "owner@example.com")
    web.add_member(site_id, "admin@example.com", Role.admin)
    web.add_member(site_id, "editor@example.com", Role.editor)
    web.add_member(site_id, "viewer@example.com", Role.viewer)
    other = web.site("second.example", "viewer@example.com")
    web.site("stranger.example", "stranger@example.com")
    with session_scope(web.services.sessions) as db:
        db.add(SharedLink(site_id=site_id, name="Link", slug="notes-link"))
    people = {}
    for name in ("owner", "admin", "editor", "viewer", "stranger"):
        visitor = Visitor(web.app)
        visitor.log_in(f"{name}@example.com")
        config = config_of(visitor.get(f"/{SITE}").text) if name != "stranger" else {}
        people[name] = (visitor, config.get("csrf_token"), config)
    return web, people, site_id, other


def call(person, method: str, path: str, body=None):
    visitor, token, _ = person
    headers = {"X-CSRF-Token": token} if token else {}
    return visitor.client.request(method, f"/api/stats/{SITE}{path}", json=body, headers=headers)


def test_editors_and_above_annotate_and_everyone_who_sees_the_dashboard_reads(world) -> None:
    web, people, _, _ = world
    assert people["editor"][2]["can_annotate"] and people["owner"][2]["can_annotate"]
    assert not people["viewer"][2]["can_annotate"]
    added = call(
        people["editor"], "POST", "/annotations", {"date": "2026-03-10", "text": "  Launched\n pricing "}
    )
    assert added.status_code == 200, added.text
    note = added.json()
    assert note["date"] == "2026-03-10" and note["text"] == "Launched pricing"
    call(people["owner"], "POST", "/annotations", {"date": "2026-03-01", "text": "Newsletter"})
    expected = [
        {"date": "2026-03-01", "text": "Newsletter"},
        {"date": "2026-03-10", "text": "Launched pricing"},
    ]
    for person in ("viewer", "editor", "admin", "owner"):
        listed = call(people[person], "GET", "/annotations").json()["annotations"]
        assert [{k: n[k] for k in ("date", "text")} for n in listed] == expected
    # A shared link's visitor reads them, read-only.
    guest = Visitor(web.app)
    shared = config_of(guest.get(f"/share/{SITE}?auth=notes-link").text)
    assert not shared["can_annotate"]
    seen = guest.client.get(f"/api/stats/{SITE}/annotations", headers={"X-Shared-Link-Auth": "notes-link"})
    assert [n["text"] for n in seen.json()["annotations"]] == ["Newsletter", "Launched pricing"]
    refused = guest.client.post(
        f"/api/stats/{SITE}/annotations",
        json={"date": "2026-03-02", "text": "x"},
        headers={"X-Shared-Link-Auth": "notes-link", "X-CSRF-Token": shared["csrf_token"]},
    )
    assert refused.status_code == 404
    # A viewer may not write; a stranger learns nothing.
    viewer = call(people["viewer"], "POST", "/annotations", {"date": "2026-03-02", "text": "x"})
    assert viewer.status_code == 403 and "editors" in viewer.json()["error"]
    assert call(people["viewer"], "DELETE", f"/annotations/{note['id']}").status_code == 403
    assert people["stranger"][0].client.get(f"/api/stats/{SITE}/annotations").status_code == 404
    # Without the page's CSRF token, nothing is written.
    bare = people["editor"][0].client.post(
        f"/api/stats/{SITE}/annotations", json={"date": "2026-03-02", "text": "x"}
    )
    assert bare.status_code == 403
    assert len(call(people["viewer"], "GET", "/annotations").json()["annotations"]) == 2
    # Deleting: the note goes; a note of another site, or none, is a 404.
    assert call(people["admin"], "DELETE", f"/annotations/{note['id']}").json()["text"] == "Launched pricing"
    assert call(people["admin"], "DELETE", f"/annotations/{note['id']}").status_code == 404
    assert call(people["admin"], "DELETE", "/annotations/nope").status_code == 404
    assert [n["text"] for n in call(people["viewer"], "GET", "/annotations").json()["annotations"]] == [
        "Newsletter"
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"date": "2026-02-30", "text": "x"}, "is not a day"),
        ({"date": "10/03/2026", "text": "x"}, "is not a day"),
        ({"date": 20260310, "text": "x"}, "`date` must be a day"),
        ({"date": "2026-03-10", "text": "   "}, "`text` must be a non-empty string"),
        ({"date": "2026-03-10", "text": "x" * 201}, "at most 200 characters"),
        ({"date": "2026-03-10", "text": "x", "colour": "red"}, "unknown key `colour`"),
        ({"date": "1999-12-31", "text": "x"}, "between 2000 and 2100"),
    ],
)
def test_a_bad_annotation_is_a_400_naming_what_is_wrong(world, body, message) -> None:
    _, people, _, _ = world
    answer = call(people["editor"], "POST", "/annotations", body)
    assert answer.status_code == 400 and message in answer.json()["error"], answer.text
    assert call(people["editor"], "GET", "/annotations").json()["annotations"] == []


def segment(web, site_id: int, owner_email: str | None, kind: SegmentType, name: str) -> int:
    from footfall.accounts.users import get_user_by_email

    with session_scope(web.services.sessions) as db:
        owner = get_user_by_email(db, owner_email).id if owner_email else None
        row = Segment(
            site_id=site_id, owner_id=owner, name=name, type=kind, segment_data={"filters": FILTERS}
        )
        db.add(row)
        db.flush()
        return row.id


def test_saved_segments_are_edited_by_who_plausible_lets_edit_them(world) -> None:
    web, people, site_id, _ = world
    mine = segment(web, site_id, "viewer@example.com", SegmentType.personal, "Mine")
    theirs = segment(web, site_id, "editor@example.com", SegmentType.personal, "Theirs")
    shared = segment(web, site_id, None, SegmentType.site, "Everyone's")
    viewer = people["viewer"]
    changed = call(
        viewer,
        "PATCH",
        f"/segments/{mine}",
        {"name": "Mine, renamed", "segment_data": {"filters": [["contains", "event:page", ["/blog"]]]}},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "Mine, renamed"
    with session_scope(web.services.sessions) as db:
        assert db.get(Segment, mine).segment_data == {"filters": [["contains", "event:page", ["/blog"]]]}
    # Someone else's personal segment is not even seen; the site's needs an owner or admin.
    assert call(viewer, "PATCH", f"/segments/{theirs}", {"name": "x"}).status_code == 404
    site_refused = call(people["editor"], "PATCH", f"/segments/{shared}", {"name": "x"})
    assert site_refused.status_code == 403 and "owners and admins" in site_refused.json()["error"]
    assert call(people["admin"], "PATCH", f"/segments/{shared}", {"name": "Site-wide"}).status_code == 200
    # Bad input: a 400 that names it, and nothing changed.
    bad = call(
        viewer, "PATCH", f"/segments/{mine}", {"segment_data": {"filters": [["is", "visit:nonsense", ["x"]]]}}
    )
    assert bad.status_code == 400 and "segment_data.filters" in bad.json()["error"]
    assert call(viewer, "PATCH", f"/segments/{mine}", {"name": ""}).status_code == 400
    assert call(viewer, "PATCH", f"/segments/{mine}", {"type": "site"}).status_code == 400
    with session_scope(web.services.sessions) as db:
        assert db.get(Segment, mine).name == "Mine, renamed"
        assert db.get(Segment, shared).name == "Site-wide"
    # Shared links may not edit; deleting follows the same rule.
    guest = Visitor(web.app)
    token = config_of(guest.get(f"/share/{SITE}?auth=notes-link").text)["csrf_token"]
    by_link = guest.client.patch(
        f"/api/stats/{SITE}/segments/{shared}",
        json={"name": "x"},
        headers={"X-Shared-Link-Auth": "notes-link", "X-CSRF-Token": token},
    )
    assert by_link.status_code == 404
    assert call(people["editor"], "DELETE", f"/segments/{shared}").status_code == 403
    assert call(viewer, "DELETE", f"/segments/{mine}").json()["name"] == "Mine, renamed"
    with session_scope(web.services.sessions) as db:
        assert db.get(Segment, mine) is None and db.get(Segment, shared) is not None
    # What the menu offers: edit rights in the config.
    config = config_of(people["admin"][0].get(f"/{SITE}").text)
    assert config["can_edit_site_segments"] and not people["editor"][2]["can_edit_site_segments"]
    assert config["user_id"] and all("owner_id" in s for s in config["segments"])


def test_the_config_carries_the_imports_range_and_the_property_allow_list(world) -> None:
    web, people, site_id, _ = world
    assert people["owner"][2]["imports"] == [] and people["owner"][2]["props"] == []
    with session_scope(web.services.sessions) as db:
        db.add(
            SiteImport(
                site_id=site_id,
                source="plausible_csv",
                start_date=date(2025, 1, 1),
                end_date=date(2025, 6, 30),
                state="completed",
            )
        )
        db.add(
            SiteImport(
                site_id=site_id,
                source="plausible_csv",
                start_date=date(2024, 1, 1),
                end_date=date(2024, 3, 1),
                state="failed",
            )
        )
        db.get(Site, site_id).allowed_props = ["plan", "author"]
    config = config_of(people["viewer"][0].get(f"/{SITE}").text)
    assert config["imports"] == [{"start_date": "2025-01-01", "end_date": "2025-06-30"}]
    assert config["props"] == ["plan", "author"]


def test_compare_sites_shows_every_site_the_user_can_see_and_no_other(world) -> None:
    web, people, site_id, other = world
    with session_scope(web.services.sessions) as db:
        find_or_create_event_goal(db, db.get(Site, site_id), "Signup", currency="EUR")
        find_or_create_event_goal(db, db.get(Site, other), "Signup")
        find_or_create_event_goal(db, db.get(Site, other), "Download")
    page = people["viewer"][0].get("/sites/compare")
    assert page.status_code == 200
    config = config_of(page.text)
    assert config["mode"] == "compare"
    assert [s["domain"] for s in config["compare_sites"]] == [SITE, "second.example"]
    # The filter dialog's goals: every site's, once each by name, without revenue side by side.
    assert config["goals"] == [{"name": "Download", "currency": None}, {"name": "Signup", "currency": None}]
    assert [
        s["domain"] for s in config_of(people["editor"][0].get("/sites/compare").text)["compare_sites"]
    ] == [SITE]
    anonymous = Visitor(web.app).get("/sites/compare")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    assert 'href="/sites/compare"' in people["viewer"][0].get("/sites").text
    assert 'href="/sites/compare"' not in people["editor"][0].get("/sites").text
