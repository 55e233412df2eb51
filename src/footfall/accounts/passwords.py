"""Password hashing with argon2id; parameters from argon2-cffi's RFC 9106 low-memory profile."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from footfall.accounts.errors import DomainError

_hasher = PasswordHasher()

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


@cache
def common_passwords() -> frozenset[str]:
    path = Path(__file__).with_name("common_passwords.txt")
    lines = path.read_text().splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def check_new_password(password: str, field: str = "password") -> str:
    """A password a user may choose: 12 to 1024 characters, not on the common-password list."""
    if not MIN_PASSWORD_LENGTH <= len(password or "") <= MAX_PASSWORD_LENGTH:
        raise DomainError(f"password must be at least {MIN_PASSWORD_LENGTH} characters", field=field)
    if password.strip().lower() in common_passwords():
        raise DomainError("this password is among the most common ones; choose another", field=field)
    return password
