"""Password reset: a single-use link, valid for `VALID_MINUTES`, holding a random token whose
SHA-256 hash is stored. Using it sets the new password and ends every session of the user.
The link leaves footfall at one call site, `accounts.notify.deliver_password_reset`."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from footfall.accounts.errors import NotFound
from footfall.accounts.logins import end_all_sessions
from footfall.accounts.users import set_password
from footfall.meta.models import PasswordReset, User, utcnow

VALID_MINUTES = 60


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def request_reset(db: Session, email: str) -> tuple[User, str] | None:
    """A new reset token for the user of `email` (earlier unused ones stop working), or None
    when there is no such user (the page says the same either way)."""
    user = db.scalar(select(User).where(User.email == (email or "").strip().lower()))
    if user is None:
        return None
    now = utcnow()
    db.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    token = secrets.token_urlsafe(32)
    db.add(
        PasswordReset(
            user_id=user.id,
            token_hash=_hash(token),
            created_at=now,
            expires_at=now + timedelta(minutes=VALID_MINUTES),
        )
    )
    db.flush()
    return user, token


def find_reset(db: Session, token: str) -> PasswordReset:
    reset = db.scalar(select(PasswordReset).where(PasswordReset.token_hash == _hash(token or "")))
    if reset is None or reset.used_at is not None:
        raise NotFound("This reset link is not valid or has been used; ask for a new one.", field="token")
    if reset.expires_at <= utcnow():
        raise NotFound("This reset link has expired; ask for a new one.", field="token")
    return reset


def reset_password(db: Session, token: str, new_password: str) -> User:
    reset = find_reset(db, token)
    user = db.get(User, reset.user_id)
    assert user is not None
    set_password(db, user, new_password)
    reset.used_at = utcnow()
    end_all_sessions(db, user)
    db.flush()
    return user
