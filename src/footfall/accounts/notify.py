"""The one place each account mail leaves footfall: invitations, ownership transfers, password
resets, email-change confirmations and notices, and the two-factor notices, enqueued in the
request's own transaction through `footfall.mail` (the outbox worker sends them; no request
waits for SMTP).

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


def deliver_email_change(db: Session, settings: Settings, old_email: str, new_email: str, url: str) -> None:
    """The confirmation link, to the new address (the change waits for it)."""
    if settings.mail.adapter == "log":
        log.info("email change confirmation link for %s (now %s): %s", new_email, old_email, url)
    mail.send_email_change_confirmation(
        db, settings, to=new_email, link=url, old_email=old_email, expires_in="24 hours"
    )


def deliver_email_changed(db: Session, settings: Settings, old_email: str, new_email: str) -> None:
    """The notice to the old address, once the change is confirmed."""
    mail.send_email_changed_notice(db, settings, to=old_email, new_email=new_email)


def deliver_ownership_transfer(
    db: Session, settings: Settings, email: str, domain: str, owner: str, url: str
) -> None:
    if settings.mail.adapter == "log":
        log.info("ownership transfer of %s from %s to %s: %s", domain, owner, email, url)
    mail.send_ownership_transfer(
        db, settings, to=email, domain=domain, owner=owner, link=url, expires_in="48 hours"
    )
