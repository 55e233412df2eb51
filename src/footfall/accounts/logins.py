"""Login sessions: server-side records of who is logged in where, so each can be listed and ended.

The browser holds a random token (in a signed cookie, see `footfall.web.pages`); the
metadata store keeps only its SHA-256 hash, as for API keys. A session lasts
`SESSION_DAYS` from its last use. Changing one's email or password ends every other
session of the user (`end_other_sessions`).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, joinedload

from footfall.meta.models import LoginSession, User, utcnow

SESSION_DAYS = 14
# A session's last use is written at most this often: not a database write per page view.
TOUCH_EVERY = timedelta(minutes=5)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(
    db: Session, user: User, *, device: str = "", verified: bool = True
) -> tuple[str, LoginSession]:
    """A new session of `user`: the raw token (for the cookie, never stored) and the row.
    `verified=False` is a session that still owes the second factor."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    login = LoginSession(
        token_hash=_hash(token),
        user_id=user.id,
        csrf_secret=secrets.token_urlsafe(32),
        verified=verified,
        device=device[:120],
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(days=SESSION_DAYS),
    )
    db.add(login)
    db.flush()
    return token, login


def find_session(db: Session, token: str) -> LoginSession | None:
    """The live session of a cookie's token (its last use noted), or None if it is unknown,
    ended or expired."""
    if not token:
        return None
    login = db.scalar(
        select(LoginSession)
        .options(joinedload(LoginSession.user))
        .where(LoginSession.token_hash == _hash(token))
    )
    now = utcnow()
    if login is None or login.expires_at <= now:
        return None
    if now - login.last_seen_at >= TOUCH_EVERY:
        login.last_seen_at = now
        login.expires_at = now + timedelta(days=SESSION_DAYS)
    return login


def list_sessions(db: Session, user: User) -> list[LoginSession]:
    """The user's live sessions, most recently used first."""
    return list(
        db.scalars(
            select(LoginSession)
            .where(LoginSession.user_id == user.id, LoginSession.expires_at > utcnow())
            .order_by(LoginSession.last_seen_at.desc(), LoginSession.id.desc())
        )
    )


def end_session(db: Session, login: LoginSession) -> None:
    db.delete(login)
    db.flush()


def end_session_by_id(db: Session, user: User, session_id: int) -> bool:
    """End one of `user`'s sessions; False if they have none with that id."""
    result = db.execute(
        delete(LoginSession).where(LoginSession.id == session_id, LoginSession.user_id == user.id)
    )
    return bool(result.rowcount)


def end_other_sessions(db: Session, user: User, keep: LoginSession | None) -> int:
    """End every session of `user` but `keep` (after a change of email or password)."""
    query = delete(LoginSession).where(LoginSession.user_id == user.id)
    if keep is not None:
        query = query.where(LoginSession.id != keep.id)
    return db.execute(query).rowcount or 0


def end_all_sessions(db: Session, user: User) -> int:
    return end_other_sessions(db, user, None)
