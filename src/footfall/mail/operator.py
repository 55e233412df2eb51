"""Operator alerts: mail to the instance's admins when something needs a person (a failed
or stale backup, a disk filling up), at most once per condition every few hours, however
many replicas notice it."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from footfall.config import Settings
from footfall.mail.compose import compose
from footfall.mail.outbox import enqueue
from footfall.meta.db import session_scope
from footfall.meta.mail import OperatorAlertSent
from footfall.meta.models import User, utcnow

log = logging.getLogger("footfall.mail")

OPERATOR_ALERT_EVERY = timedelta(hours=4)


def instance_admins(db: Session) -> list[str]:
    """The addresses of the instance's administrators (and superusers)."""
    flags = [User.is_superuser]
    if hasattr(User, "is_admin"):
        flags.append(User.is_admin)
    return list(
        db.scalars(select(User.email).where(or_(*[flag.is_(True) for flag in flags])).order_by(User.id))
    )


# The running app's metadata store and settings, set by `footfall.mail.service.MailService`
# while it runs, so that callers deep in ops (a backup thread, the disk watch) need not carry them.
_bound: tuple[sessionmaker[Session], Settings] | None = None


def bind(sessions: sessionmaker[Session] | None, settings: Settings | None) -> None:
    global _bound
    _bound = (sessions, settings) if sessions is not None and settings is not None else None


def operator_alert(
    condition: str,
    summary: str,
    details: str = "",
    *,
    sessions: sessionmaker[Session] | None = None,
    settings: Settings | None = None,
    now: datetime | None = None,
    every: timedelta = OPERATOR_ALERT_EVERY,
) -> bool:
    """Mail the admins about `condition` (e.g. "backup_failed", "disk_warning") unless it
    was mailed less than `every` ago. Returns whether a mail was enqueued. The alert is
    always logged, so an instance without admins or mail still shows it. Without `sessions`
    and `settings`, those of the running app are used (none: only the log line)."""
    if sessions is None or settings is None:
        if _bound is None:
            log.warning("operator alert %s: %s (no running app to mail it from)", condition, summary)
            return False
        sessions, settings = _bound
    moment = now or utcnow()
    log.warning("operator alert %s: %s %s", condition, summary, details)
    with session_scope(sessions) as db:
        recipients = instance_admins(db)
        if not recipients:
            log.warning("operator alert %s: no admin to mail it to", condition)
            return False
        taken = db.execute(
            update(OperatorAlertSent)
            .where(OperatorAlertSent.condition == condition, OperatorAlertSent.last_sent_at <= moment - every)
            .values(last_sent_at=moment, summary=summary)
        ).rowcount
        if not taken:
            if db.get(OperatorAlertSent, condition) is not None:
                return False  # mailed less than `every` ago
            try:
                with db.begin_nested():
                    db.execute(
                        insert(OperatorAlertSent).values(
                            condition=condition, last_sent_at=moment, summary=summary
                        )
                    )
            except IntegrityError:
                return False  # another replica mailed it just now
        hours = every.total_seconds() / 3600
        message = compose(
            "operator_alert",
            tuple(recipients),
            f"[footfall] {summary}",
            settings.base_url,
            summary=summary,
            details=details or summary,
            condition=condition,
            every=f"{hours:g} hours" if hours != 1 else "hour",
        )
        enqueue(db, settings.mail, message, kind="operator_alert")
    return True
