"""Creating and finding users."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from footfall.accounts.errors import Conflict, DomainError, NotFound
from footfall.accounts.passwords import check_new_password, hash_password, verify_password
from footfall.meta.models import User

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_email(email: str) -> str:
    email = (email or "").strip().lower()
    if len(email) > 320 or not _EMAIL.match(email):
        raise DomainError(f"{email!r} is not a valid email address", field="email")
    return email


def create_user(db: Session, email: str, password: str, name: str = "", *, admin: bool = False) -> User:
    """A new user; the instance's first user is its admin whichever way it is made (the
    registration page or `footfall user create`), so an instance always has one."""
    email = normalise_email(email)
    check_new_password(password)
    if db.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"a user with email {email} already exists", field="email")
    user = User(
        email=email,
        name=(name or "").strip()[:200],
        password_hash=hash_password(password),
        is_admin=admin or count_users(db) == 0,
    )
    db.add(user)
    db.flush()
    return user


def get_user_by_email(db: Session, email: str) -> User:
    user = db.scalar(select(User).where(User.email == (email or "").strip().lower()))
    if user is None:
        raise NotFound(f"no user with email {email}", field="email")
    return user


def authenticate(db: Session, email: str, password: str) -> User | None:
    user = db.scalar(select(User).where(User.email == (email or "").strip().lower()))
    if user is None or not verify_password(user.password_hash, password):
        return None
    return user


def user_exists(db: Session, email: str) -> bool:
    return db.scalar(select(User.id).where(User.email == (email or "").strip().lower())) is not None


def count_users(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(User)) or 0


def change_password(db: Session, user: User, current: str, new: str) -> None:
    """Set a new password after checking the current one (the caller ends other sessions)."""
    if not verify_password(user.password_hash, current or ""):
        raise DomainError("the current password is wrong", field="current_password")
    set_password(db, user, new)


def set_password(db: Session, user: User, new: str) -> None:
    user.password_hash = hash_password(check_new_password(new))
    db.flush()
