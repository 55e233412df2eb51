"""The outbox: every message is a row in the metadata store until the relay has taken it.

`enqueue` adds a row inside the caller's transaction (a password-reset token and its mail
commit together, or neither), so a request never waits for SMTP. `OutboxWorker`, a thread
in each app process, claims due rows one at a time with a compare-and-set UPDATE (so two
replicas never send the same row), sends, and records the outcome:

- accepted: `sent`, with the relay's reply;
- refused for good (a 5xx, a bad certificate, a wrong password): `failed` at once;
- anything that may pass (connection, timeout, 4xx): tried again after
  SMTP_RETRY_DELAY_SECONDS, doubling, up to SMTP_RETRIES times, then `failed`.

Every failure is logged with the server's reply and counted on /metrics; failed messages
are shown to admins (`failed_summary`) until dismissed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import make_msgid

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from footfall.config import MailSettings
from footfall.mail import metrics
from footfall.mail.mailer import Mailer, MailError, Message, mailer_for
from footfall.meta.db import session_scope
from footfall.meta.mail import OutboxMessage
from footfall.meta.models import utcnow

log = logging.getLogger("footfall.mail")

SENDING_LEASE = timedelta(minutes=5)  # longer than any send (timeouts are 30 s per step)
KEEP_SENT = timedelta(days=30)


def enqueue(db: Session, settings: MailSettings, message: Message, *, kind: str) -> OutboxMessage:
    """Add `message` to the outbox in `db`'s transaction; it is sent once that commits."""
    if not message.to:
        raise ValueError("a message needs at least one recipient")
    domain = settings.sender_address.rpartition("@")[2] or "localhost"
    row = OutboxMessage(
        kind=kind,
        recipients=", ".join(message.to),
        subject=message.subject,
        text_body=message.text,
        html_body=message.html,
        headers=dict(message.headers) or None,
        message_id=message.message_id or make_msgid(domain=domain),
        status="queued",
        attempts=0,
        next_attempt_at=utcnow(),
    )
    db.add(row)
    db.flush()
    return row


def as_message(row: OutboxMessage) -> Message:
    return Message(
        to=tuple(a.strip() for a in row.recipients.split(",") if a.strip()),
        subject=row.subject,
        text=row.text_body,
        html=row.html_body,
        headers=dict(row.headers or {}),
        message_id=row.message_id,
    )


@dataclass(frozen=True)
class FailedSummary:
    count: int
    last_kind: str
    last_error: str
    last_at: datetime


def failed_summary(db: Session) -> FailedSummary | None:
    """What the admins' banner says: messages given up on and not yet dismissed."""
    count = db.scalar(
        select(func.count()).where(OutboxMessage.status == "failed", OutboxMessage.dismissed_at.is_(None))
    )
    if not count:
        return None
    last = db.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.status == "failed", OutboxMessage.dismissed_at.is_(None))
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    ).one()
    return FailedSummary(count, last.kind, last.last_error or "", last.created_at)


def failed_notices(db: Session) -> list:
    """The outbox's operator notice (`footfall.accounts.operator_notices`): mail given up on."""
    from footfall.accounts.operator_notices import OperatorNotice

    failures = failed_summary(db)
    if failures is None:
        return []
    plural = "s" if failures.count != 1 else ""
    return [
        OperatorNotice(
            kind="mail_failed",
            message=(
                f"{failures.count} mail{plural} could not be sent (the last, "
                f"{failures.last_kind.replace('_', ' ')}, at {failures.last_at:%Y-%m-%d %H:%M} UTC): "
                f"{failures.last_error}"
            ),
            action="Check the relay with footfall mail test --to you@example.com",
            dismiss_url="/settings/mail-failures/dismiss",
        )
    ]


def dismiss_failed(db: Session) -> int:
    result = db.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == "failed", OutboxMessage.dismissed_at.is_(None))
        .values(dismissed_at=utcnow())
    )
    return result.rowcount or 0


class OutboxWorker:
    """Sends due outbox rows from a daemon thread; `wake()` makes it look at once."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: MailSettings,
        *,
        mailer: Mailer | None = None,
        poll_seconds: float = 1.0,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.mailer = mailer or mailer_for(settings)
        self.poll_seconds = poll_seconds
        self.now = now
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_purge = datetime.min

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="footfall-outbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        self.check_relay()
        while not self._stop.is_set():
            try:
                self.send_due()
            except Exception:  # the metadata store is down, say: log, keep the thread alive
                log.exception("outbox: could not read the outbox; trying again")
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

    def check_relay(self) -> bool:
        """At start, tell the operator at once whether mail can go out (one log line)."""
        from footfall.mail.mailer import SmtpMailer

        if not isinstance(self.mailer, SmtpMailer):
            log.warning(
                "mail: MAILER_ADAPTER=log: messages are written to the log, not sent (set SMTP_HOST_ADDR)"
            )
            return False
        try:
            checked = self.mailer.check()
        except MailError as error:
            metrics.FAILURES.labels(error.reason).inc()
            log.error(
                "mail: cannot send through %s: %s (check with: footfall mail test --to ADDRESS)",
                self.mailer.where,
                error,
            )
            return False
        log.info("mail: %s %s (%s)", self.mailer.where, checked.reply, checked.how)
        return True

    def send_due(self) -> int:
        """Send every row that is due now; returns how many were handled."""
        handled = 0
        while not self._stop.is_set():
            row = self._claim()
            if row is None:
                break
            self._send(row)
            handled += 1
        self._refresh_gauges()
        return handled

    def _claim(self) -> OutboxMessage | None:
        now = self.now()
        with session_scope(self.sessions) as db:
            candidates = db.scalars(
                select(OutboxMessage)
                .where(
                    or_(
                        (OutboxMessage.status == "queued") & (OutboxMessage.next_attempt_at <= now),
                        (OutboxMessage.status == "sending") & (OutboxMessage.lease_until < now),
                    )
                )
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(5)
            ).all()
            for row in candidates:
                was = row.status
                claimed = db.execute(
                    update(OutboxMessage)
                    .where(
                        OutboxMessage.id == row.id,
                        OutboxMessage.status == row.status,
                        OutboxMessage.attempts == row.attempts,
                    )
                    .values(status="sending", lease_until=now + SENDING_LEASE, attempts=row.attempts + 1)
                )
                if claimed.rowcount == 1:
                    db.commit()
                    if was == "sending":
                        log.warning(
                            "outbox: message %s (%s) was being sent by a process that stopped; sending again",
                            row.id,
                            row.kind,
                        )
                    db.refresh(row)
                    return row
        return None

    def _send(self, row: OutboxMessage) -> None:
        try:
            sent = self.mailer.send(as_message(row))
        except MailError as error:
            self._failed(row, error)
            return
        except Exception as error:  # a bug must not leave the row "sending" for ever
            log.exception("outbox: message %s (%s) could not be sent", row.id, row.kind)
            self._failed(row, MailError("protocol", f"{type(error).__name__}: {error}", permanent=True))
            return
        with session_scope(self.sessions) as db:
            db.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id)
                .values(
                    status="sent", sent_at=self.now(), reply=sent.reply, lease_until=None, last_error=None
                )
            )
        metrics.SENT.labels(row.kind).inc()
        log.info(
            "mail %s (%s) to %s sent through %s: %s",
            row.id,
            row.kind,
            row.recipients,
            self.mailer.where,
            sent.reply,
        )

    def _failed(self, row: OutboxMessage, error: MailError) -> None:
        metrics.FAILURES.labels(error.reason).inc()
        retries = self.settings.smtp.retries
        give_up = error.permanent or row.attempts > retries
        values: dict[str, object] = {
            "last_error": str(error),
            "reply": error.reply or None,
            "lease_until": None,
        }
        if give_up:
            values["status"] = "failed"
        else:
            delay = self.settings.smtp.retry_delay_seconds * 2 ** (row.attempts - 1)
            values.update(status="queued", next_attempt_at=self.now() + timedelta(seconds=delay))
        with session_scope(self.sessions) as db:
            db.execute(update(OutboxMessage).where(OutboxMessage.id == row.id).values(**values))
        if give_up:
            metrics.GIVEN_UP.labels(row.kind).inc()
            why = "refused for good" if error.permanent else f"{row.attempts} attempts"
            log.error(
                "mail %s (%s) to %s not sent (%s), given up: %s",
                row.id,
                row.kind,
                row.recipients,
                why,
                error,
            )
        else:
            log.warning(
                "mail %s (%s) to %s not sent (attempt %d of %d), trying again in %s s: %s",
                row.id,
                row.kind,
                row.recipients,
                row.attempts,
                retries + 1,
                delay,
                error,
            )

    def _refresh_gauges(self) -> None:
        now = self.now()
        with session_scope(self.sessions) as db:
            counts = dict(
                db.execute(
                    select(OutboxMessage.status, func.count())
                    .where(OutboxMessage.dismissed_at.is_(None))
                    .group_by(OutboxMessage.status)
                ).all()
            )
            if now - self._last_purge > timedelta(hours=1):
                db.execute(
                    delete(OutboxMessage).where(
                        OutboxMessage.status == "sent", OutboxMessage.sent_at < now - KEEP_SENT
                    )
                )
                self._last_purge = now
        for status in ("queued", "sending", "failed"):
            metrics.OUTBOX.labels(status).set(counts.get(status, 0))
