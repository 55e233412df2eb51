"""Every transactional mail and the operator alert arrive with the right recipients,
subject and links (absolute, on BASE_URL), in a text and an HTML part."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import sessionmaker

from footfall.mail import (
    operator_alert,
    send_email_change_confirmation,
    send_invitation,
    send_ownership_transfer,
    send_password_reset,
    send_two_factor_notice,
)
from footfall.mail.operator import bind
from footfall.mail.outbox import OutboxWorker
from footfall.meta.db import session_scope
from footfall.meta.models import User, utcnow
from tests.mail.smtp_server import SmtpServer

BASE = "https://stats.example.com"


def deliver(sessions, settings, smtp: SmtpServer):
    OutboxWorker(sessions, settings.mail).send_due()
    return smtp.received


def test_each_transactional_mail(mail_sessions, make_settings, plain_smtp: SmtpServer) -> None:
    sessions = mail_sessions
    settings = make_settings(BASE_URL=BASE, **plain_smtp.env())
    plain_smtp.clear()
    with session_scope(sessions) as db:
        send_password_reset(
            db, settings, to="ada@example.org", link="/password/reset?token=R1", expires_in="1 hour"
        )
        send_email_change_confirmation(
            db,
            settings,
            to="new@example.org",
            link=f"{BASE}/settings/email/confirm?token=E1",
            old_email="ada@example.org",
        )
        send_invitation(
            db,
            settings,
            to="bob@example.org",
            domain="shop.example",
            role="admin",
            inviter="Ada",
            link="/invitations/I1",
        )
        send_ownership_transfer(
            db, settings, to="bob@example.org", domain="shop.example", owner="Ada", link="/transfer/T1"
        )
        send_two_factor_notice(db, settings, to="ada@example.org", enabled=True)
        send_two_factor_notice(db, settings, to="ada@example.org", enabled=False)
    got = {m.message["Subject"]: m for m in deliver(sessions, settings, plain_smtp)}
    assert set(got) == {
        "Reset your footfall password",
        "Confirm your new email address",
        "Ada invited you to shop.example on footfall",
        "Take over shop.example on footfall?",
        "Two-factor authentication enabled on your footfall account",
        "Two-factor authentication disabled on your footfall account",
    }
    expected_links = {
        "Reset your footfall password": (["ada@example.org"], f"{BASE}/password/reset?token=R1"),
        "Confirm your new email address": (["new@example.org"], f"{BASE}/settings/email/confirm?token=E1"),
        "Ada invited you to shop.example on footfall": (["bob@example.org"], f"{BASE}/invitations/I1"),
        "Take over shop.example on footfall?": (["bob@example.org"], f"{BASE}/transfer/T1"),
        "Two-factor authentication enabled on your footfall account": (
            ["ada@example.org"],
            f"{BASE}/settings",
        ),
    }
    for subject, (recipients, link) in expected_links.items():
        mail = got[subject]
        assert mail.recipients == recipients, subject
        assert mail.message["From"] == "Stats <stats@example.com>"
        assert link in mail.part("plain"), subject
        assert f'href="{link}"' in mail.part("html"), subject
    assert "expires in 1 hour" in got["Reset your footfall password"].part("plain")
    assert "as an admin" in got["Ada invited you to shop.example on footfall"].part("plain")
    assert "turned off" in got["Two-factor authentication disabled on your footfall account"].part("plain")
    assert f"{BASE}/password/request-reset" in got[
        "Two-factor authentication disabled on your footfall account"
    ].part("plain")


def test_html_is_escaped(mail_sessions, make_settings, plain_smtp: SmtpServer) -> None:
    sessions = mail_sessions
    settings = make_settings(BASE_URL=BASE, **plain_smtp.env())
    plain_smtp.clear()
    with session_scope(sessions) as db:
        send_invitation(
            db,
            settings,
            to="bob@example.org",
            domain="shop.example",
            role="viewer",
            inviter="<b>Eve</b>",
            link="/i/x",
        )
    [mail] = deliver(sessions, settings, plain_smtp)
    assert "&lt;b&gt;Eve&lt;/b&gt;" in mail.part("html") and "<b>Eve</b>" not in mail.part("html")
    assert "<b>Eve</b> invited you" in mail.part("plain")


def test_operator_alert_mails_the_admins_once_per_condition_every_few_hours(
    metadata_engine, make_settings, plain_smtp: SmtpServer
) -> None:
    sessions = sessionmaker(metadata_engine, expire_on_commit=False)
    settings = make_settings(BASE_URL=BASE, **plain_smtp.env())
    plain_smtp.clear()
    with session_scope(sessions) as db:
        admin = User(email="root@example.org", password_hash="x", is_admin=True)
        db.add_all([admin, User(email="someone@example.org", password_hash="x")])
    start = utcnow()
    assert not operator_alert("backup_failed", "Backup failed")  # no app running: logged only
    bind(sessions, settings)  # as MailService does while the app runs; ops calls (condition, summary)
    try:
        assert operator_alert("backup_failed", "Backup failed", "disk full at /backups", now=start)
        assert not operator_alert("backup_failed", "Backup failed", now=start + timedelta(hours=1))
        assert operator_alert("disk_warning", "Disk 91% full", now=start + timedelta(hours=1))
    finally:
        bind(None, None)
    later = start + timedelta(hours=4)
    assert operator_alert(
        "backup_failed", "Backup failed again", sessions=sessions, settings=settings, now=later
    )
    mails = deliver(sessions, settings, plain_smtp)
    assert [(m.recipients, m.message["Subject"]) for m in mails] == [
        (["root@example.org"], "[footfall] Backup failed"),
        (["root@example.org"], "[footfall] Disk 91% full"),
        (["root@example.org"], "[footfall] Backup failed again"),
    ]
    assert "disk full at /backups" in mails[0].part("plain")


def test_ops_alerts_reach_the_admins_through_the_running_apps_mail(
    mail_sessions, make_settings, plain_smtp: SmtpServer
) -> None:
    from footfall.ops import alerts

    sessions = mail_sessions
    settings = make_settings(BASE_URL=BASE, **plain_smtp.env())
    plain_smtp.clear()
    with session_scope(sessions) as db:
        db.add(User(email="root@example.org", password_hash="x", is_admin=True))
    bind(sessions, settings)
    try:
        alerts.operator_alert("disk_warning", "data disk 91% full (DISK_WARN_PERCENT 90)")
    finally:
        bind(None, None)
    [mail] = deliver(sessions, settings, plain_smtp)
    assert mail.recipients == ["root@example.org"]
    assert mail.message["Subject"] == "[footfall] data disk 91% full (DISK_WARN_PERCENT 90)"
