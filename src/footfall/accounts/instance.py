"""What an instance admin (`User.is_admin`: the instance's first user, and whom they or
`footfall user make-admin` make admin) may do to the instance's users, as Plausible CE's
first user would expect: see every user, turn off a user's two-factor authentication (as
`footfall user reset-2fa`), log a user out everywhere, make or unmake instance admins, and
delete a user who owns no site. An instance admin sees no other owner's sites by this: sites
are reached through memberships."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from footfall.accounts.errors import DomainError, NotFound
from footfall.accounts.logins import end_all_sessions
from footfall.accounts.twofactor import disable
from footfall.meta.models import LoginSession, Membership, Role, User, utcnow
from footfall.sites.sites import remove_member


@dataclass(frozen=True)
class UserRow:
    id: int
    email: str
    created_at: datetime
    is_admin: bool
    two_factor: bool
    sites_owned: int
    sessions: int


def list_users(db: Session) -> list[UserRow]:
    owned = (
        select(Membership.user_id, func.count().label("n"))
        .where(Membership.role == Role.owner)
        .group_by(Membership.user_id)
        .subquery()
    )
    live = (
        select(LoginSession.user_id, func.count().label("n"))
        .where(LoginSession.expires_at > utcnow())
        .group_by(LoginSession.user_id)
        .subquery()
    )
    rows = db.execute(
        select(User, func.coalesce(owned.c.n, 0), func.coalesce(live.c.n, 0))
        .outerjoin(owned, owned.c.user_id == User.id)
        .outerjoin(live, live.c.user_id == User.id)
        .order_by(User.created_at, User.id)
    ).all()
    return [
        UserRow(u.id, u.email, u.created_at, bool(u.is_admin), u.totp_secret is not None, int(o), int(s))
        for u, o, s in rows
    ]


def _user(db: Session, user_id: int) -> User:
    user = db.get(User, user_id)
    if user is None:
        raise NotFound("no such user", field="user_id")
    return user


def reset_two_factor(db: Session, user_id: int) -> tuple[User, int]:
    """Two-factor authentication off for the user, and their sessions ended."""
    user = _user(db, user_id)
    disable(db, user)
    return user, end_all_sessions(db, user)


def log_out_everywhere(db: Session, actor: User, user_id: int) -> tuple[User, int]:
    user = _user(db, user_id)
    if user.id == actor.id:
        raise DomainError("to end your own other sessions, use the Sessions list above", field="user_id")
    return user, end_all_sessions(db, user)


def set_admin(db: Session, actor: User, user_id: int, admin: bool) -> User:
    user = _user(db, user_id)
    if not admin and user.id == actor.id:
        raise DomainError("you cannot take away your own admin flag; another admin can", field="user_id")
    user.is_admin = admin
    db.flush()
    return user


def delete_user(db: Session, actor: User, user_id: int) -> str:
    user = _user(db, user_id)
    if user.id == actor.id:
        raise DomainError("you cannot delete yourself here", field="user_id")
    owned = db.scalar(
        select(func.count()).where(Membership.user_id == user.id, Membership.role == Role.owner)
    )
    if owned:
        raise DomainError(
            f"{user.email} owns {owned} site(s): they transfer or delete them first", field="user_id"
        )
    email = user.email
    for membership in list(db.scalars(select(Membership).where(Membership.user_id == user.id))):
        remove_member(db, membership.site, user)  # their personal segments go with them
    end_all_sessions(db, user)
    db.delete(user)
    db.flush()
    return email
