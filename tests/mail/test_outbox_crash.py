"""A message in the outbox survives `kill -9` of footfall serve and is sent once after the
restart: a real server process, a real SMTP server, the metadata store on disk."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from sqlalchemy import select

from footfall.config import load_settings
from footfall.mail import send_password_reset
from footfall.meta.db import make_engine, make_sessionmaker, session_scope
from footfall.meta.mail import OutboxMessage
from tests.e2e.harness import FootfallServer, free_port, wait_until
from tests.mail.smtp_server import SmtpServer


def test_kill_9_with_a_message_in_the_outbox_then_it_is_sent_once_after_restart(tmp_path: Path) -> None:
    smtp_port = free_port()  # nothing listens here until after the crash
    env = {
        "SMTP_HOST_ADDR": "127.0.0.1",
        "SMTP_HOST_PORT": str(smtp_port),
        "SMTP_RETRIES": "5",
        "SMTP_RETRY_DELAY_SECONDS": "1",
        "MAILER_EMAIL": "stats@example.com",
        "LOG_LEVEL": "info",
    }
    server = FootfallServer(tmp_path / "data", env=env)
    server.start()
    settings = load_settings(server.env)
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    smtp: SmtpServer | None = None
    try:
        with session_scope(sessions) as db:
            send_password_reset(db, settings, to="ada@example.org", link="/password/reset?token=survivor")
        wait_until(
            lambda: "not sent (attempt 1 of 6)" in server.log(), "the first, failed attempt", timeout=30
        )
        assert server._process is not None
        server._process.kill()  # SIGKILL: no shutdown, no flush, nothing
        server._process.wait(timeout=10)
        server._process = None
        with session_scope(sessions) as db:
            [row] = db.scalars(select(OutboxMessage)).all()
            assert row.status == "queued" and row.sent_at is None

        smtp = SmtpServer("plain", port=smtp_port).start()
        server.start()
        wait_until(lambda: smtp.received, "the message to arrive after the restart", timeout=30)

        def sent() -> bool:
            with session_scope(sessions) as db:
                return db.scalars(select(OutboxMessage.status)).one() == "sent"

        wait_until(sent, "the outbox row to be marked sent", timeout=10)
        time.sleep(3)  # three more polls of the worker: nothing more may go out
        [got] = smtp.received
        assert got.recipients == ["ada@example.org"]
        assert "/password/reset?token=survivor" in got.part("plain")
        metrics = httpx.get(f"{server.url}/metrics", timeout=5).text
        assert 'footfall_mail_sent_total{kind="password_reset"} 1.0' in metrics
    finally:
        server.stop()
        engine.dispose()
        if smtp is not None:
            smtp.stop()
