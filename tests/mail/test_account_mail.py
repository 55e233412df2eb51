"""Done when (issue 18): with SMTP_* pointed at a local server, a password reset and an
invitation made through the pages arrive with working links; the 2FA notices too."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest

from footfall.mail.outbox import OutboxWorker
from tests.mail.smtp_server import SmtpServer
from tests.web.conftest import PASSWORD, WebWorld, build_web


@pytest.fixture
def web(tmp_path: Path, event_store, plain_smtp: SmtpServer) -> Iterator[WebWorld]:
    plain_smtp.clear()
    world, close = build_web(
        tmp_path,
        f"sqlite:///{tmp_path / 'meta.db'}",
        event_store,
        BASE_URL="http://testserver",
        **plain_smtp.env(),
    )
    world.user("owner@example.com", is_admin=True)
    world.site("shop.example", "owner@example.com")
    yield world
    close()


def deliver(web: WebWorld, smtp: SmtpServer):
    """Send what the outbox holds now; the messages the server received by this."""
    before = len(smtp.received)
    OutboxWorker(web.services.sessions, web.services.settings.mail).send_due()
    return smtp.received[before:]


def link_in(text: str, path: str) -> str:
    match = re.search(r"http://testserver(" + re.escape(path) + r"[^\s\"<]*)", text)
    assert match, f"no {path} link in:\n{text}"
    return match.group(1)


def test_a_password_reset_mail_arrives_and_its_link_resets_the_password(
    web: WebWorld, plain_smtp: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    visitor = web.visitor()
    answer = visitor.post("/password/request-reset", {"email": "owner@example.com"})
    assert answer.status_code == 200
    assert "password reset link" not in caplog.text  # a relay is set: the secret stays out of the log
    [mail] = deliver(web, plain_smtp)
    assert (
        mail.recipients == ["owner@example.com"] and mail.message["Subject"] == "Reset your footfall password"
    )
    link = link_in(mail.part("plain"), "/password/reset?token=")
    form = visitor.get(link)
    assert form.status_code == 200
    token = link.split("token=")[1]
    done = visitor.post(
        "/password/reset",
        {
            "token": token,
            "password": "a brand new passphrase",
            "password_confirmation": "a brand new passphrase",
        },
        csrf_from=link,
    )
    assert done.status_code in (200, 303), done.text
    fresh = web.visitor()
    assert (
        fresh.post("/login", {"email": "owner@example.com", "password": "a brand new passphrase"}).status_code
        == 303
    )
    old = web.visitor().post("/login", {"email": "owner@example.com", "password": PASSWORD})
    assert old.status_code != 303


def test_an_invitation_mail_arrives_with_its_single_use_link(web: WebWorld, plain_smtp: SmtpServer) -> None:
    owner = web.visitor()
    owner.log_in("owner@example.com")
    invited = owner.post(
        "/shop.example/settings/people", {"action": "invite", "email": "bob@example.org", "role": "admin"}
    )
    assert invited.status_code == 303
    [mail] = deliver(web, plain_smtp)
    assert mail.recipients == ["bob@example.org"]
    assert mail.message["Subject"] == "owner@example.com invited you to shop.example on footfall"
    text = mail.part("plain")
    assert "as an admin" in text and "expires in 48 hours" in text
    link = link_in(text, "/invitations/")
    assert web.visitor().get(link).status_code == 200


def test_two_factor_on_and_off_each_send_a_notice(web: WebWorld, plain_smtp: SmtpServer) -> None:
    owner = web.visitor()
    owner.log_in("owner@example.com")
    path = "/settings/2fa"
    page = owner.get(path)
    secret = re.search(r"\b([A-Z2-7]{32})\b", page.text)
    assert secret, page.text[:2000]
    confirmed = owner.post(path, {"action": "confirm", "code": pyotp.TOTP(secret.group(1)).now()})
    assert confirmed.status_code == 200, confirmed.text[:500]
    owner.post(path, {"action": "disable", "current_password": PASSWORD})
    subjects = [m.message["Subject"] for m in deliver(web, plain_smtp)]
    assert subjects == [
        "Two-factor authentication enabled on your footfall account",
        "Two-factor authentication disabled on your footfall account",
    ]


def change_email(visitor, email: str, password: str = PASSWORD):
    return visitor.post("/settings", {"action": "email", "current_password": password, "email": email})


def test_an_email_change_waits_for_the_link_mailed_to_the_new_address_then_tells_the_old(
    web: WebWorld, plain_smtp: SmtpServer
) -> None:
    from datetime import timedelta

    from sqlalchemy import select

    from footfall.meta.db import session_scope
    from footfall.meta.models import EmailChange, User, utcnow

    web.user("taken@example.com")
    here, there = web.visitor(), web.visitor()
    here.log_in("owner@example.com")
    there.log_in("owner@example.com")
    # What is wrong is said on the form, and nothing is sent.
    taken = change_email(here, "Taken@Example.com")
    assert taken.status_code == 400 and "taken@example.com is taken: another account uses it" in taken.text
    assert 'id="e-email"' in taken.text and 'value="Taken@Example.com"' in taken.text
    wrong = change_email(here, "new@example.org", "not my password")
    assert wrong.status_code == 400 and "the current password is wrong" in wrong.text
    assert deliver(web, plain_smtp) == []
    # Asked for: the email stays until the link is opened.
    asked = change_email(here, "New@Example.org")
    assert asked.status_code == 303
    settings = here.get("/settings").text
    assert "Waiting for confirmation" in settings and "new@example.org" in settings
    assert "Your email is <strong>owner@example.com</strong>" in settings
    [confirmation] = deliver(web, plain_smtp)
    assert confirmation.recipients == ["new@example.org"]
    assert confirmation.message["Subject"] == "Confirm your new email address"
    text = confirmation.part("plain")
    assert "owner@example.com" in text and "expires in 24 hours" in text
    link = link_in(text, "/settings/email/confirm?token=")
    assert link_in(confirmation.part("html"), "/settings/email/confirm?token=") == link
    # Opening the link (GET) changes nothing: a mail scanner following it confirms nothing.
    shown = here.get(link)
    assert shown.status_code == 200 and "Confirm new@example.org" in shown.text
    assert (
        web.visitor().post("/login", {"email": "owner@example.com", "password": PASSWORD}).status_code == 303
    )
    confirmed = here.post("/settings/email/confirm", {"token": link.split("token=")[1]}, csrf_from=link)
    assert confirmed.status_code == 303 and confirmed.headers["location"] == "/settings"
    # Changed; the other sessions ended, this one kept; the old address told.
    assert "Your email is <strong>new@example.org</strong>" in here.get("/settings").text
    assert there.get("/settings").headers["location"].startswith("/login")
    [notice] = deliver(web, plain_smtp)
    assert notice.recipients == ["owner@example.com"]
    assert notice.message["Subject"] == "Your footfall email address was changed"
    assert "now uses new@example.org" in notice.part("plain")
    assert web.visitor().post("/login", {"email": "new@example.org", "password": PASSWORD}).status_code == 303
    # Single use.
    used = web.visitor().get(link)
    assert used.status_code == 400 and "not valid or has been used" in used.text
    # An expired link says so; a link whose address was taken meanwhile says that.
    change_email(here, "later@example.org")
    [later] = deliver(web, plain_smtp)
    late_link = link_in(later.part("plain"), "/settings/email/confirm?token=")
    with session_scope(web.services.sessions) as db:
        pending = db.scalars(select(EmailChange).where(EmailChange.used_at.is_(None))).one()
        pending.expires_at = utcnow() - timedelta(seconds=1)
    expired = here.get(late_link)
    assert expired.status_code == 400 and "This confirmation link has expired" in expired.text
    change_email(here, "race@example.org")
    [race] = deliver(web, plain_smtp)
    race_link = link_in(race.part("plain"), "/settings/email/confirm?token=")
    web.user("race@example.org")
    clash = here.post("/settings/email/confirm", {"token": race_link.split("token=")[1]}, csrf_from=race_link)
    assert clash.status_code == 409 and "was taken by another account after you asked" in clash.text
    with session_scope(web.services.sessions) as db:
        assert db.scalar(select(User.email).where(User.email == "new@example.org")) == "new@example.org"


def test_confirming_from_a_browser_that_is_not_logged_in_ends_every_session(
    web: WebWorld, plain_smtp: SmtpServer
) -> None:
    here = web.visitor()
    here.log_in("owner@example.com")
    change_email(here, "elsewhere@example.org")
    [confirmation] = deliver(web, plain_smtp)
    link = link_in(confirmation.part("plain"), "/settings/email/confirm?token=")
    phone = web.visitor()
    done = phone.post("/settings/email/confirm", {"token": link.split("token=")[1]}, csrf_from=link)
    assert done.status_code == 303 and done.headers["location"] == "/login"
    assert here.get("/settings").headers["location"].startswith("/login")
    assert [m.recipients for m in deliver(web, plain_smtp)] == [["owner@example.com"]]


def test_an_ownership_transfer_mail_arrives_and_its_link_hands_the_site_over(
    web: WebWorld, plain_smtp: SmtpServer
) -> None:
    web.user("heir@example.org")
    owner = web.visitor()
    owner.log_in("owner@example.com")
    asked = owner.post(
        "/shop.example/settings/danger-zone", {"action": "transfer", "email": "heir@example.org"}
    )
    assert asked.status_code == 303
    [mail] = deliver(web, plain_smtp)
    assert mail.recipients == ["heir@example.org"]
    assert mail.message["Subject"] == "Take over shop.example on footfall?"
    text = mail.part("plain")
    assert "owner@example.com wants to transfer the ownership of shop.example" in text
    assert "expires in 48 hours" in text
    link = link_in(text, "/invitations/")
    heir = web.visitor()
    heir.log_in("heir@example.org")
    assert "Accept ownership" in heir.get(link).text
    assert heir.post(link, {"action": "accept"}).headers["location"] == "/shop.example"
    assert heir.get("/shop.example/settings/danger-zone").status_code == 200
    assert owner.get("/shop.example/settings/danger-zone").status_code == 403
    assert owner.get("/shop.example/settings/people").status_code == 200  # an admin now


def test_every_account_mail_issue_18_names_arrives_through_the_relay(
    web: WebWorld, plain_smtp: SmtpServer
) -> None:
    """Password reset, email change confirmation, invitation, ownership transfer, 2FA on and off:
    each made through the pages, each received by the SMTP server with an absolute link."""
    owner = web.visitor()
    owner.log_in("owner@example.com")
    web.visitor().post("/password/request-reset", {"email": "owner@example.com"})
    change_email(owner, "owner@example.net")
    owner.post(
        "/shop.example/settings/people", {"action": "invite", "email": "bob@example.org", "role": "viewer"}
    )
    owner.post("/shop.example/settings/danger-zone", {"action": "transfer", "email": "carol@example.org"})
    page = owner.get("/settings/2fa")
    secret = re.search(r"\b([A-Z2-7]{32})\b", page.text).group(1)
    owner.post("/settings/2fa", {"action": "confirm", "code": pyotp.TOTP(secret).now()})
    owner.post("/settings/2fa", {"action": "disable", "current_password": PASSWORD})
    received = {m.message["Subject"]: (m.recipients, m.part("plain")) for m in deliver(web, plain_smtp)}
    expected = {
        "Reset your footfall password": (["owner@example.com"], "/password/reset?token="),
        "Confirm your new email address": (["owner@example.net"], "/settings/email/confirm?token="),
        "owner@example.com invited you to shop.example on footfall": (["bob@example.org"], "/invitations/"),
        "Take over shop.example on footfall?": (["carol@example.org"], "/invitations/"),
        "Two-factor authentication enabled on your footfall account": (["owner@example.com"], "/settings"),
        "Two-factor authentication disabled on your footfall account": (["owner@example.com"], "/settings"),
    }
    assert set(received) == set(expected)
    for subject, (recipients, path) in expected.items():
        assert received[subject][0] == recipients, subject
        link_in(received[subject][1], path)
