"""Changing a user's email: the new address takes effect only when the single-use link mailed
to it is opened within `VALID_HOURS`; then the old address is told, and every other session of
the user ends. The link holds a random token; the store keeps its SHA-256 hash. Asking again
replaces a pending change (the earlier link stops working)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from footfall.accounts.errors import Conflict, DomainError, NotFound
from footfall.accounts.passwords import verify_password
from footfall.accounts.users import normalise_email
from footfall.meta.models import EmailChange, User, utcnow

VALID_HOURS = 24


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _taken(db: Session, email: str) -> bool:
    return db.scalar(select(User.id).where(User.email == email)) is not None


def request_change(db: Session, user: User, current_password: str, new_email: str) -> tuple[str, EmailChange]:
    """A pending change of `user`'s email to `new_email` and the raw token for its link."""
    if not verify_password(user.password_hash, current_password or ""):
        raise DomainError("the current password is wrong", field="current_password")
    email = normalise_email(new_email)
    if email == user.email:
        raise DomainError(f"{email} is already your email address", field="email")
    if _taken(db, email):
        raise Conflict(f"{email} is taken: another account uses it", field="email")
    now = utcnow()
    db.execute(
        update(EmailChange)
        .where(EmailChange.user_id == user.id, EmailChange.used_at.is_(None))
        .values(used_at=now)
    )
    token = secrets.token_urlsafe(32)
    change = EmailChange(
        user_id=user.id,
        new_email=email,
        token_hash=_hash(token),
        created_at=now,
        expires_at=now + timedelta(hours=VALID_HOURS),
    )
    db.add(change)
    db.flush()
    return token, change


def pending_change(db: Session, user: User) -> EmailChange | None:
    """The change `user` asked for and has not confirmed yet (unexpired), if any."""
    return db.scalar(
        select(EmailChange)
        .where(
            EmailChange.user_id == user.id,
            EmailChange.used_at.is_(None),
            EmailChange.expires_at > utcnow(),
        )
        .order_by(EmailChange.id.desc())
        .limit(1)
    )


def find_change(db: Session, token: str) -> EmailChange:
    change = db.scalar(select(EmailChange).where(EmailChange.token_hash == _hash(token or "")))
    if change is None or change.used_at is not None:
        raise NotFound(
            "This confirmation link is not valid or has been used; change your email again in /settings.",
            field="token",
        )
    if change.expires_at <= utcnow():
        raise NotFound(
            f"This confirmation link has expired (links are valid for {VALID_HOURS} hours); "
            "change your email again in /settings.",
            field="token",
        )
    return change


def confirm_change(db: Session, token: str) -> tuple[User, str]:
    """Give the user of the link's token its new email; the link is used up. Returns the user
    and the old address (the caller tells it and ends the other sessions)."""
    change = find_change(db, token)
    user = db.get(User, change.user_id)
    assert user is not None
    if _taken(db, change.new_email):
        change.used_at = utcnow()
        db.flush()
        raise Conflict(
            f"{change.new_email} was taken by another account after you asked; choose another address.",
            field="token",
        )
    old = user.email
    user.email = change.new_email
    change.used_at = utcnow()
    db.flush()
    return user, old


def cancel_change(db: Session, user: User) -> bool:
    result = db.execute(
        update(EmailChange)
        .where(EmailChange.user_id == user.id, EmailChange.used_at.is_(None))
        .values(used_at=utcnow())
    )
    return bool(result.rowcount)
