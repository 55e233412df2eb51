"""Operator notices: what the instance's administrators must act on (mail footfall gave up
on, a failed or stale backup, a disk filling up). The pages show them to instance admins
(users with `is_admin`, or superusers) as a banner on every page and on `/settings/instance`;
nobody else sees them.

The hook: `NOTICE_SOURCES` is the one list of functions the banner reads. Each takes the
request's metadata session and the app's `Services` and returns `OperatorNotice`s, cheaply
and without writing (it runs on every page an admin opens). To add a kind of notice, write
such a function in your package and add it here with one line. A source that raises is
logged and skipped: a broken check must not break the pages.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from footfall.meta.models import User
from footfall.services import Services

log = logging.getLogger("footfall.accounts")


@dataclass(frozen=True)
class OperatorNotice:
    kind: str  # a fixed word: mail_failed, backup_stale, disk_low, ...
    message: str  # what is wrong, in one or two sentences
    action: str = ""  # what to do about it (a command to run, a setting to check)
    dismiss_url: str | None = None  # a POST (with the CSRF token) that dismisses it, if it can be
    severity: str = "warning"  # warning | critical


NoticeSource = Callable[[Session, Services], list[OperatorNotice]]


def _mail_notices(db: Session, services: Services) -> list[OperatorNotice]:
    from footfall.mail.outbox import failed_notices

    return failed_notices(db)


def _ops_notices(db: Session, services: Services) -> list[OperatorNotice]:
    from footfall.ops.status import operator_notices as ops_notices

    return ops_notices(services)


NOTICE_SOURCES: list[NoticeSource] = [_mail_notices, _ops_notices]


def is_instance_admin(user: User | None) -> bool:
    return user is not None and bool(user.is_admin or user.is_superuser)


def operator_notices(db: Session, services: Services) -> list[OperatorNotice]:
    """Every source's notices, in `NOTICE_SOURCES` order."""
    notices: list[OperatorNotice] = []
    for source in NOTICE_SOURCES:
        try:
            notices.extend(source(db, services))
        except Exception:
            log.exception("operator notices: the source %s failed", getattr(source, "__name__", source))
    return notices
