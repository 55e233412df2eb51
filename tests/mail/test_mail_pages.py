"""The email-reports settings page, the unsubscribe link and the admins' banner, against the
real application (SQLite metadata), as browsers with their own cookies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from footfall.meta.db import session_scope
from footfall.meta.mail import OutboxMessage, ReportRecipient, TrafficAlert
from footfall.meta.models import Role
from tests.web.conftest import Visitor, WebWorld, build_web

PAGE = "/shop.example/settings/email-reports"


@pytest.fixture
def web(tmp_path: Path, event_store) -> Iterator[WebWorld]:
    world, close = build_web(tmp_path, f"sqlite:///{tmp_path / 'meta.db'}", event_store)
    world.user("owner@example.com", is_admin=True)
    world.user("viewer@example.com")
    world.user("stranger@example.com")
    site_id = world.site("shop.example", "owner@example.com")
    world.add_member(site_id, "viewer@example.com", Role.viewer)
    yield world
    close()


def logged_in(web: WebWorld, email: str) -> Visitor:
    visitor = web.visitor()
    visitor.log_in(email)
    return visitor


def recipients(web: WebWorld) -> list[tuple[str, str]]:
    with session_scope(web.services.sessions) as db:
        return sorted((r.kind, r.email) for r in db.scalars(select(ReportRecipient)))


def test_owners_choose_report_recipients_and_bad_addresses_are_named(web: WebWorld) -> None:
    owner = logged_in(web, "owner@example.com")
    page = owner.get(PAGE)
    assert page.status_code == 200
    assert (
        "Weekly report" in page.text and "Monthly report" in page.text and "Traffic spike alert" in page.text
    )
    added = owner.post(PAGE, {"action": "add-recipient", "kind": "weekly", "email": "Partner@Agency.example"})
    assert added.status_code == 303
    owner.post(PAGE, {"action": "add-recipient", "kind": "monthly", "email": "owner@example.com"})
    assert recipients(web) == [("monthly", "owner@example.com"), ("weekly", "partner@agency.example")]
    bad = owner.post(PAGE, {"action": "add-recipient", "kind": "weekly", "email": "not an address"})
    assert bad.status_code == 400
    assert "is not an email address such as name@example.com" in bad.text
    assert 'aria-invalid="true"' in bad.text
    again = owner.post(PAGE, {"action": "add-recipient", "kind": "weekly", "email": "partner@agency.example"})
    assert again.status_code == 400 and "already gets the weekly report" in again.text
    with session_scope(web.services.sessions) as db:
        weekly = db.scalars(select(ReportRecipient).where(ReportRecipient.kind == "weekly")).one()
    owner.post(PAGE, {"action": "remove-recipient", "kind": "weekly", "recipient": str(weekly.id)})
    assert recipients(web) == [("monthly", "owner@example.com")]


def test_traffic_alerts_are_saved_with_checked_thresholds_and_recipients(web: WebWorld) -> None:
    owner = logged_in(web, "owner@example.com")
    bad = owner.post(
        PAGE, {"action": "save-alert", "kind": "spike", "threshold": "many", "recipients": "a@example.com"}
    )
    assert bad.status_code == 400 and "whole number of visitors" in bad.text
    bad = owner.post(
        PAGE, {"action": "save-alert", "kind": "drop", "threshold": "10", "recipients": "a@example.com, nope"}
    )
    assert bad.status_code == 400 and "&#39;nope&#39; is not an email address" in bad.text
    ok = owner.post(
        PAGE,
        {
            "action": "save-alert",
            "kind": "spike",
            "threshold": "50",
            "recipients": "a@example.com\nb@example.com",
        },
    )
    assert ok.status_code == 303
    with session_scope(web.services.sessions) as db:
        [alert] = db.scalars(select(TrafficAlert)).all()
        assert (alert.kind, alert.threshold, alert.recipients) == (
            "spike",
            50,
            "a@example.com, b@example.com",
        )
    assert 'Traffic spike alert <span class="ok">(on)</span>' in owner.get(PAGE).text
    owner.post(PAGE, {"action": "delete-alert", "kind": "spike"})
    with session_scope(web.services.sessions) as db:
        assert db.scalars(select(TrafficAlert)).all() == []


def test_only_owners_and_admins_reach_the_page_and_every_post_needs_csrf(web: WebWorld) -> None:
    assert logged_in(web, "viewer@example.com").get(PAGE).status_code == 403
    assert logged_in(web, "stranger@example.com").get(PAGE).status_code == 404
    anonymous = web.visitor().get(PAGE)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    owner = logged_in(web, "owner@example.com")
    forged = owner.post(
        PAGE, {"action": "add-recipient", "kind": "weekly", "email": "x@example.com"}, token=""
    )
    assert forged.status_code == 403
    assert recipients(web) == []


def test_unsubscribe_works_without_login_and_only_for_its_recipient(web: WebWorld) -> None:
    owner = logged_in(web, "owner@example.com")
    for email in ("ada@example.org", "bob@example.org"):
        owner.post(PAGE, {"action": "add-recipient", "kind": "weekly", "email": email})
    with session_scope(web.services.sessions) as db:
        tokens = {r.email: r.unsubscribe_token for r in db.scalars(select(ReportRecipient))}
    stranger = web.visitor()  # no login, no cookies
    link = f"/email-reports/unsubscribe/{tokens['ada@example.org']}"
    page = stranger.get(link)
    assert (
        page.status_code == 200
        and "Stop sending the weekly report of <strong>shop.example</strong> to ada@example.org" in page.text
    )
    assert recipients(web) == [
        ("weekly", "ada@example.org"),
        ("weekly", "bob@example.org"),
    ]  # a GET changes nothing
    done = stranger.client.post(link, data={"List-Unsubscribe": "One-Click"})  # as a mail client posts it
    assert (
        done.status_code == 200
        and "ada@example.org no longer gets the weekly report of shop.example" in done.text
    )
    assert recipients(web) == [("weekly", "bob@example.org")]
    assert stranger.client.post(link).status_code == 404  # used
    assert stranger.get("/email-reports/unsubscribe/guessed-token").status_code == 404
    assert recipients(web) == [("weekly", "bob@example.org")]


def test_admins_see_mail_that_could_not_be_sent_until_they_dismiss_it(web: WebWorld) -> None:
    with session_scope(web.services.sessions) as db:
        db.add(
            OutboxMessage(
                kind="password_reset",
                recipients="ada@example.org",
                subject="Reset",
                text_body="x",
                message_id="<1@example.com>",
                status="failed",
                attempts=3,
                last_error="connection to smtp.example.com:465 refused",
            )
        )
    owner = logged_in(web, "owner@example.com")
    sites = owner.get("/sites")
    assert "1 mail could not be sent" in sites.text and "smtp.example.com:465 refused" in sites.text
    assert "mail could not be sent" in owner.get(PAGE).text
    assert "could not be sent" not in logged_in(web, "viewer@example.com").get("/sites").text
    dismissed = owner.post("/settings/mail-failures/dismiss", {"next": "/sites"}, csrf_from="/sites")
    assert dismissed.status_code == 303 and dismissed.headers["location"] == "/sites"
    assert "could not be sent" not in owner.get("/sites").text
    viewer = logged_in(web, "viewer@example.com")
    with session_scope(web.services.sessions) as db:
        db.execute(OutboxMessage.__table__.update().values(dismissed_at=None))
    refused = viewer.post("/settings/mail-failures/dismiss", {}, csrf_from="/sites")
    assert refused.status_code == 303  # nothing dismissed: the admin still sees it
    assert "1 mail could not be sent" in owner.get("/sites").text
