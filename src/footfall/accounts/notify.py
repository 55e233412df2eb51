"""The one place each account mail leaves footfall: invitations, password resets and the
two-factor notices, enqueued in the request's own transaction through `footfall.mail` (the
outbox worker sends them; no request waits for SMTP).

With `MAILER_ADAPTER=log` (no relay configured) each link is also written to the log at INFO,
as before mail existed, so an operator can hand it on; with a relay the links, which are
secrets, stay out of the log.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from footfall import mail
from footfall.config import Settings

log = logging.getLogger("footfall.accounts")


def deliver_invitation(
    db: Session, settings: Settings, email: str, domain: str, role: str, url: str, inviter: str
) -> None:
    if settings.mail.adapter == "log":
        log.info("invitation for %s to %s as %s (from %s): %s", email, domain, role, inviter, url)
    mail.send_invitation(
        db, settings, to=email, domain=domain, role=role, inviter=inviter, link=url, expires_in="48 hours"
    )


def deliver_password_reset(db: Session, settings: Settings, email: str, url: str) -> None:
    if settings.mail.adapter == "log":
        log.info("password reset link for %s: %s", email, url)
    mail.send_password_reset(db, settings, to=email, link=url)


def deliver_two_factor_notice(db: Session, settings: Settings, email: str, *, enabled: bool) -> None:
    mail.send_two_factor_notice(db, settings, to=email, enabled=enabled)
