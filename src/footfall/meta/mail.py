"""Models of the mail area: the outbox, job leases, report subscriptions and runs, traffic
alerts and operator alerts (`footfall.mail` uses them; migration `*_mail.py` makes them)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from footfall.meta.models import Base, utcnow

_ID = BigInteger().with_variant(Integer, "sqlite")


class OutboxMessage(Base):
    """One message to send. `status`: queued -> sending -> sent, or failed after the last try.

    A `sending` row whose `lease_until` has passed belongs to a worker that died mid-send; it
    is queued again (so a crash between the relay's answer and the commit of `sent` is the
    only way a message goes twice, with the same Message-ID)."""

    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    recipients: Mapped[str] = mapped_column(Text)  # comma-separated addresses
    subject: Mapped[str] = mapped_column(String(998))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text, default=None)
    headers: Mapped[dict[str, str] | None] = mapped_column(JSON, default=None)  # e.g. List-Unsubscribe
    message_id: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    reply: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    dismissed_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)


class JobLease(Base):
    """Who runs a scheduled job: the holder until `expires_at`; then anyone may take it."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)


class ReportRecipient(Base):
    """An address that gets a site's weekly or monthly report; the token unsubscribes it."""

    __tablename__ = "email_report_recipients"
    __table_args__ = (UniqueConstraint("site_id", "kind", "email"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # weekly | monthly
    email: Mapped[str] = mapped_column(String(320))
    unsubscribe_token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ReportRun(Base):
    """A report period dealt with: `sent` (enqueued) or `skipped` (missed by more than a day).
    The primary key is what makes a period's report go out once, whichever replica runs it."""

    __tablename__ = "email_report_runs"

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    period_start: Mapped[date] = mapped_column(Date, primary_key=True)
    outcome: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class TrafficAlert(Base):
    """A site's spike (current visitors >= threshold) or drop (12 h visitors < threshold) alert."""

    __tablename__ = "traffic_alerts"
    __table_args__ = (UniqueConstraint("site_id", "kind"),)

    id: Mapped[int] = mapped_column(_ID, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # spike | drop
    threshold: Mapped[int] = mapped_column(Integer)
    recipients: Mapped[str] = mapped_column(Text, default="")  # comma-separated addresses
    last_sent_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class OperatorAlertSent(Base):
    """When an operator alert's condition (e.g. `backup_failed`) last mailed the admins."""

    __tablename__ = "operator_alerts"

    condition: Mapped[str] = mapped_column(String(128), primary_key=True)
    last_sent_at: Mapped[datetime] = mapped_column(DateTime)
    summary: Mapped[str] = mapped_column(Text, default="")
