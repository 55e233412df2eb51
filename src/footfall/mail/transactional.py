"""The mails a person's own action causes: password reset, email change (the confirmation to
the new address, the notice to the old), invitation,
ownership transfer, two-factor notices. Each is enqueued in the caller's transaction and
sent by the outbox worker; links are absolute, on BASE_URL."""

from __future__ import annotations

from sqlalchemy.orm import Session

from footfall.config import Settings
from footfall.mail.compose import absolute, compose
from footfall.mail.outbox import enqueue
from footfall.meta.mail import OutboxMessage


def send_password_reset(
    db: Session, settings: Settings, *, to: str, link: str, expires_in: str = ""
) -> OutboxMessage:
    message = compose(
        "password_reset",
        (to,),
        "Reset your footfall password",
        settings.base_url,
        link=absolute(settings.base_url, link),
        expires_in=expires_in,
    )
    return enqueue(db, settings.mail, message, kind="password_reset")


def send_email_change_confirmation(
    db: Session, settings: Settings, *, to: str, link: str, old_email: str = "", expires_in: str = ""
) -> OutboxMessage:
    message = compose(
        "email_change",
        (to,),
        "Confirm your new email address",
        settings.base_url,
        link=absolute(settings.base_url, link),
        old_email=old_email,
        expires_in=expires_in,
    )
    return enqueue(db, settings.mail, message, kind="email_change")


def send_email_changed_notice(db: Session, settings: Settings, *, to: str, new_email: str) -> OutboxMessage:
    """To the old address, once a change of email is confirmed."""
    message = compose(
        "email_changed",
        (to,),
        "Your footfall email address was changed",
        settings.base_url,
        new_email=new_email,
        reset_link=absolute(settings.base_url, "/password/request-reset"),
    )
    return enqueue(db, settings.mail, message, kind="email_changed")


def send_invitation(
    db: Session,
    settings: Settings,
    *,
    to: str,
    domain: str,
    role: str,
    inviter: str,
    link: str,
    expires_in: str = "",
) -> OutboxMessage:
    role = str(getattr(role, "value", role))
    message = compose(
        "invitation",
        (to,),
        f"{inviter} invited you to {domain} on footfall",
        settings.base_url,
        link=absolute(settings.base_url, link),
        domain=domain,
        role=role,
        role_article="an" if role[:1] in "aeiou" else "a",
        inviter=inviter,
        expires_in=expires_in,
    )
    return enqueue(db, settings.mail, message, kind="invitation")


def send_ownership_transfer(
    db: Session, settings: Settings, *, to: str, domain: str, owner: str, link: str, expires_in: str = ""
) -> OutboxMessage:
    message = compose(
        "ownership_transfer",
        (to,),
        f"Take over {domain} on footfall?",
        settings.base_url,
        link=absolute(settings.base_url, link),
        domain=domain,
        owner=owner,
        expires_in=expires_in,
    )
    return enqueue(db, settings.mail, message, kind="ownership_transfer")


def send_two_factor_notice(db: Session, settings: Settings, *, to: str, enabled: bool) -> OutboxMessage:
    state = "enabled" if enabled else "disabled"
    message = compose(
        "two_factor",
        (to,),
        f"Two-factor authentication {state} on your footfall account",
        settings.base_url,
        enabled=enabled,
        settings_link=absolute(settings.base_url, "/settings"),
        reset_link=absolute(settings.base_url, "/password/request-reset"),
    )
    return enqueue(db, settings.mail, message, kind=f"two_factor_{state}")
