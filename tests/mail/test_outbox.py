"""The outbox: mail is a row until the relay takes it; sent once, retried with backoff,
given up on visibly; on SQLite and PostgreSQL, against a real SMTP server."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from footfall.mail import send_password_reset
from footfall.mail.outbox import OutboxWorker, dismiss_failed, failed_summary
from footfall.meta.db import session_scope
from footfall.meta.mail import OutboxMessage
from footfall.meta.models import utcnow
from tests.e2e.harness import free_port
from tests.mail.smtp_server import SmtpServer


class Clock:
    """Starts a second from now (make it after enqueueing: rows get the real time) and moves when told."""

    def __init__(self) -> None:
        self.moment = utcnow().replace(microsecond=0) + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> None:
        self.moment += timedelta(**delta)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def rows(sessions) -> list[OutboxMessage]:
    with session_scope(sessions) as db:
        return list(db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_a_password_reset_is_sent_once_with_its_link(
    metadata_engine, make_settings, plain_smtp: SmtpServer
) -> None:
    plain_smtp.clear()
    settings = make_settings(BASE_URL="https://stats.example.com", **plain_smtp.env())
    sessions = sessionmaker(metadata_engine, expire_on_commit=False)
    with session_scope(sessions) as db:
        send_password_reset(db, settings, to="ada@example.org", link="/password/reset?token=abc123")
    assert plain_smtp.received == []  # enqueued only: nothing waits for SMTP
    before = sample("footfall_mail_sent_total", kind="password_reset")
    worker = OutboxWorker(sessions, settings.mail)
    assert worker.send_due() == 1
    assert worker.send_due() == 0
    [got] = plain_smtp.received
    assert got.recipients == ["ada@example.org"]
    assert got.message["Subject"] == "Reset your footfall password"
    assert "https://stats.example.com/password/reset?token=abc123" in got.part("plain")
    assert 'href="https://stats.example.com/password/reset?token=abc123"' in got.part("html")
    [row] = rows(sessions)
    assert row.status == "sent" and row.attempts == 1
    assert row.reply.startswith("250 2.0.0 Ok: queued as")
    assert got.message["Message-ID"] == row.message_id
    assert sample("footfall_mail_sent_total", kind="password_reset") == before + 1


def test_a_failure_that_may_pass_is_retried_with_backoff_then_sent(
    metadata_engine, make_settings, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    settings = make_settings(
        SMTP_HOST_ADDR="127.0.0.1", SMTP_HOST_PORT=str(port), SMTP_RETRIES="2", SMTP_RETRY_DELAY_SECONDS="60"
    )
    sessions = sessionmaker(metadata_engine, expire_on_commit=False)
    with session_scope(sessions) as db:
        send_password_reset(db, settings, to="ada@example.org", link="/password/reset?token=t")
    clock = Clock()
    worker = OutboxWorker(sessions, settings.mail, now=clock)
    refused = sample("footfall_mail_failures_total", reason="connection_refused")
    with caplog.at_level(logging.WARNING, logger="footfall.mail"):
        worker.send_due()
    [row] = rows(sessions)
    assert (row.status, row.attempts) == ("queued", 1)
    assert row.next_attempt_at == clock.moment + timedelta(seconds=60)
    assert f"connection to 127.0.0.1:{port} refused" in row.last_error
    assert "(attempt 1 of 3), trying again in 60 s" in caplog.text
    assert sample("footfall_mail_failures_total", reason="connection_refused") == refused + 1

    clock.advance(seconds=59)
    assert worker.send_due() == 0  # not due yet
    clock.advance(seconds=1)
    worker.send_due()
    [row] = rows(sessions)
    assert (row.status, row.attempts) == ("queued", 2)
    assert row.next_attempt_at == clock.moment + timedelta(seconds=120)  # twice as long

    server = SmtpServer("plain", port=port).start()
    try:
        clock.advance(seconds=120)
        worker.send_due()
        assert [r.recipients for r in server.received] == [["ada@example.org"]]
    finally:
        server.stop()
    [row] = rows(sessions)
    assert (row.status, row.attempts, row.last_error) == ("sent", 3, None)


def test_after_the_last_retry_the_message_is_failed_and_shown_to_admins(
    metadata_engine, make_settings, caplog: pytest.LogCaptureFixture
) -> None:
    port = free_port()
    settings = make_settings(SMTP_HOST_ADDR="127.0.0.1", SMTP_HOST_PORT=str(port), SMTP_RETRIES="1")
    sessions = sessionmaker(metadata_engine, expire_on_commit=False)
    with session_scope(sessions) as db:
        send_password_reset(db, settings, to="ada@example.org", link="/r")
    clock = Clock()
    worker = OutboxWorker(sessions, settings.mail, now=clock)
    given_up = sample("footfall_mail_given_up_total", kind="password_reset")
    worker.send_due()
    clock.advance(hours=1)
    with caplog.at_level(logging.ERROR, logger="footfall.mail"):
        worker.send_due()
    [row] = rows(sessions)
    assert (row.status, row.attempts) == ("failed", 2)
    assert "not sent (2 attempts), given up" in caplog.text
    assert sample("footfall_mail_given_up_total", kind="password_reset") == given_up + 1
    assert sample("footfall_mail_outbox", status="failed") == 1
    with session_scope(sessions) as db:
        summary = failed_summary(db)
        assert summary is not None and summary.count == 1 and summary.last_kind == "password_reset"
        assert "refused" in summary.last_error
        assert dismiss_failed(db) == 1
    with session_scope(sessions) as db:
        assert failed_summary(db) is None


def test_a_refusal_for_good_is_not_retried_and_keeps_the_servers_reply(
    metadata_engine, make_settings, plain_smtp: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(**plain_smtp.env(MAILER_EMAIL="blocked@example.com", SMTP_RETRIES="5"))
    plain_smtp.handler.refuse_senders.add("blocked@example.com")
    sessions = sessionmaker(metadata_engine, expire_on_commit=False)
    with session_scope(sessions) as db:
        send_password_reset(db, settings, to="ada@example.org", link="/r")
    try:
        with caplog.at_level(logging.ERROR, logger="footfall.mail"):
            OutboxWorker(sessions, settings.mail).send_due()
    finally:
        plain_smtp.handler.refuse_senders.clear()
    [row] = rows(sessions)
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.reply == "553 5.7.1 Sender address not verified"
    assert "553 5.7.1 Sender address not verified" in caplog.text


@pytest.mark.postgres
def test_two_workers_on_one_database_send_each_message_once(
    postgres_url, make_settings, plain_smtp: SmtpServer
) -> None:
    from footfall.meta.db import make_engine, migrate

    plain_smtp.clear()
    settings = make_settings(**plain_smtp.env())
    engines = [make_engine(postgres_url), make_engine(postgres_url)]
    migrate(engines[0])
    try:
        first = sessionmaker(engines[0], expire_on_commit=False)
        with session_scope(first) as db:
            for n in range(20):
                send_password_reset(db, settings, to=f"user{n}@example.org", link=f"/r?{n}")
        workers = [OutboxWorker(sessionmaker(e, expire_on_commit=False), settings.mail) for e in engines]
        threads = [threading.Thread(target=w.send_due) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        got = sorted(r.recipients[0] for r in plain_smtp.received)
        assert got == sorted(f"user{n}@example.org" for n in range(20))
        assert {r.status for r in rows(first)} == {"sent"}
    finally:
        for engine in engines:
            engine.dispose()


def test_at_start_the_worker_says_at_once_whether_mail_can_go_out(
    mail_sessions, make_settings, starttls_smtp: SmtpServer, ca_file, caplog: pytest.LogCaptureFixture
) -> None:
    sessions = mail_sessions
    good = make_settings(**starttls_smtp.env(SMTP_CA_CERT=str(ca_file)))
    bad = make_settings(**starttls_smtp.env(SMTP_CA_CERT=str(ca_file), SMTP_USER_PWD="wrong"))
    with caplog.at_level(logging.INFO, logger="footfall.mail"):
        assert OutboxWorker(sessions, good.mail).check_relay()
        assert not OutboxWorker(sessions, bad.mail).check_relay()
        assert not OutboxWorker(sessions, make_settings().mail).check_relay()
    assert f"mail: localhost:{starttls_smtp.port} connected and logged in (STARTTLS)" in caplog.text
    assert "mail: cannot send through" in caplog.text and "refused the login of apikey" in caplog.text
    assert "MAILER_ADAPTER=log: messages are written to the log, not sent" in caplog.text
