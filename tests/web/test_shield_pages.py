"""`/:domain/settings/shields` against the real application, on SQLite and PostgreSQL: owners
and admins add and remove rules with CSRF-carrying forms, a bad value is said in its own form
(400) and nothing is stored, editors and viewers get 403, strangers 404."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from footfall.meta.db import session_scope
from footfall.meta.models import Role
from footfall.meta.shields import ShieldRule

PAGE = "/shop.example/settings/shields"


@pytest.fixture
def world(web_factory, metadata_url):
    world = web_factory(metadata_url)
    world.user("owner@example.com")
    world.user("admin@example.com")
    world.user("editor@example.com")
    world.user("stranger@example.com")
    site_id = world.site("shop.example", "owner@example.com")
    world.add_member(site_id, "admin@example.com", Role.admin)
    world.add_member(site_id, "editor@example.com", Role.editor)
    world.site_id = site_id
    return world


def stored(world) -> list[tuple[str, str, str, str]]:
    with session_scope(world.services.sessions) as db:
        rules = db.scalars(
            select(ShieldRule).where(ShieldRule.site_id == world.site_id).order_by(ShieldRule.id)
        )
        return [(r.kind.value, r.value, r.description, r.added_by) for r in rules]


def logged_in(world, email: str):
    visitor = world.visitor()
    visitor.log_in(email)
    return visitor


def test_an_admin_adds_every_kind_and_removes_one(world) -> None:
    admin = logged_in(world, "admin@example.com")
    page = admin.get(PAGE)
    assert page.status_code == 200
    for name in ("ip", "country", "page_path", "hostname", "description", "_csrf"):
        assert f'name="{name}"' in page.text
    assert 'aria-current="page">Shields' in page.text and "No allow-list" in page.text
    for data in [
        {"kind": "ip", "ip": "203.0.113.0/24", "description": "office"},
        {"kind": "country", "country": "DE"},
        {"kind": "page", "page_path": "/admin/**"},
        {"kind": "hostname", "hostname": "*.shop.example"},
    ]:
        answer = admin.post(PAGE, {"action": "add", **data})
        assert answer.status_code == 303 and answer.headers["location"] == PAGE, answer.text
    after = admin.get(PAGE).text
    assert "Added *.shop.example" in after  # the notice of the last add
    assert "203.0.113.0/24" in after and "Germany" in after and "/admin/**" in after
    # shop.example itself is not covered by *.shop.example: the page says so.
    assert "shop.example itself is not in the list" in after
    assert stored(world) == [
        ("ip", "203.0.113.0/24", "office", "admin@example.com"),
        ("country", "DE", "", "admin@example.com"),
        ("page", "/admin/**", "", "admin@example.com"),
        ("hostname", "*.shop.example", "", "admin@example.com"),
    ]
    rule_id = re.search(
        r'name="rule_id" value="(\d+)">\s*<button class="small" aria-label="Remove DE"', after
    )
    assert rule_id
    removed = admin.post(PAGE, {"action": "remove", "rule_id": rule_id.group(1)})
    assert removed.status_code == 303
    assert "Removed the country rule DE" in admin.get(PAGE).text
    assert [rule[1] for rule in stored(world)] == ["203.0.113.0/24", "/admin/**", "*.shop.example"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "ip", "ip": "203.0.113.5/24"}, "the range is 203.0.113.0/24"),
        ({"kind": "ip", "ip": "not-an-address"}, "is not an IP address or CIDR range"),
        ({"kind": "country", "country": "XX"}, "is not a country code"),
        ({"kind": "page", "page_path": "/a b"}, "no spaces"),
        ({"kind": "hostname", "hostname": "*"}, "would allow every hostname"),
        ({"kind": "ip", "ip": "203.0.113.1", "description": "x" * 201}, "at most 200 characters"),
    ],
)
def test_a_bad_value_is_said_in_its_form_and_nothing_is_stored(world, data: dict, message: str) -> None:
    owner = logged_in(world, "owner@example.com")
    answer = owner.post(PAGE, {"action": "add", **data})
    assert answer.status_code == 400
    assert message in answer.text
    assert 'aria-invalid="true"' in answer.text and 'role="alert"' in answer.text
    value = data.get("ip") or data.get("page_path") or data.get("hostname")
    if value and data["kind"] != "country":
        assert f'value="{value}"' in answer.text  # what was typed stays in the form
    assert stored(world) == []


def test_a_duplicate_and_a_full_list_are_refused(world) -> None:
    owner = logged_in(world, "owner@example.com")
    owner.post(PAGE, {"action": "add", "kind": "hostname", "hostname": "shop.example"})
    again = owner.post(PAGE, {"action": "add", "kind": "hostname", "hostname": "https://www.shop.example/"})
    assert again.status_code == 400 and "already has the hostname rule shop.example" in again.text
    for number in range(9):
        owner.post(PAGE, {"action": "add", "kind": "hostname", "hostname": f"h{number}.example"})
    assert "This list is full (10 rules)" in owner.get(PAGE).text
    full = owner.post(PAGE, {"action": "add", "kind": "hostname", "hostname": "one-more.example"})
    assert full.status_code == 400 and "has 10 hostname rules, the most a site may have" in full.text
    assert len(stored(world)) == 10


def test_removing_an_unknown_rule_or_a_strange_form_is_refused(world) -> None:
    owner = logged_in(world, "owner@example.com")
    assert owner.post(PAGE, {"action": "remove", "rule_id": "999"}).status_code == 400
    assert "no shield rule 999" in owner.post(PAGE, {"action": "remove", "rule_id": "999"}).text
    assert "choose a rule" in owner.post(PAGE, {"action": "remove", "rule_id": "²"}).text
    assert "does not belong to this page" in owner.post(PAGE, {"action": "delete-all"}).text
    assert "not a kind of shield rule" in owner.post(PAGE, {"action": "add", "kind": "planet"}).text


def test_another_sites_rule_cannot_be_removed_from_here(world) -> None:
    world.user("other@example.com")
    world.site("other.example", "other@example.com")
    other = logged_in(world, "other@example.com")
    other.post("/other.example/settings/shields", {"action": "add", "kind": "page", "page_path": "/x"})
    with session_scope(world.services.sessions) as db:
        foreign = db.scalar(select(ShieldRule.id).where(ShieldRule.value == "/x"))
    owner = logged_in(world, "owner@example.com")
    refused = owner.post(PAGE, {"action": "remove", "rule_id": str(foreign)})
    assert refused.status_code == 400 and f"no shield rule {foreign}" in refused.text
    with session_scope(world.services.sessions) as db:
        assert db.scalar(select(ShieldRule.id).where(ShieldRule.id == foreign)) == foreign


def test_who_may_see_and_change_shields(world) -> None:
    editor = logged_in(world, "editor@example.com")
    assert editor.get(PAGE).status_code == 403
    token = editor.csrf("/settings")
    assert (
        editor.post(PAGE, {"action": "add", "kind": "ip", "ip": "203.0.113.1"}, token=token).status_code
        == 403
    )
    stranger = logged_in(world, "stranger@example.com")
    assert stranger.get(PAGE).status_code == 404
    anonymous = world.visitor()
    answer = anonymous.get(PAGE)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    owner = logged_in(world, "owner@example.com")
    no_token = owner.post(PAGE, {"action": "add", "kind": "ip", "ip": "203.0.113.1"}, token="")
    assert no_token.status_code == 403
    assert stored(world) == []
