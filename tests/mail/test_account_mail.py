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
    OutboxWorker(web.services.sessions, web.services.settings.mail).send_due()
    return smtp.received


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
