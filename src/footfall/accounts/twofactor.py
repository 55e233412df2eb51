"""Two-factor authentication: TOTP (RFC 6238, via pyotp) and 10 single-use recovery codes.

Enrolment: `new_secret()`, shown as a QR code of `provisioning_uri`, becomes the user's once
they type a code it produced (`enable`); `enable` answers the recovery codes, shown once and
stored as argon2 hashes. A TOTP code is accepted once (the step is remembered) and one step
either side of now, for clocks a little off. `footfall user reset-2fa EMAIL` calls `disable`.
"""

from __future__ import annotations

import secrets
import time

import pyotp
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from footfall.accounts.errors import DomainError
from footfall.accounts.passwords import hash_password, verify_password
from footfall.meta.models import RecoveryCode, User, utcnow

ISSUER = "footfall"
RECOVERY_CODES = 10
STEP = 30


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def _matching_step(secret: str, code: str, now: float) -> int | None:
    code = (code or "").replace(" ", "").strip()
    if not (len(code) == 6 and code.isascii() and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret)
    current = int(now // STEP)
    for step in (current - 1, current, current + 1):
        if secrets.compare_digest(totp.at(step * STEP), code):
            return step
    return None


def enable(db: Session, user: User, secret: str, code: str, now: float | None = None) -> list[str]:
    step = _matching_step(secret, code, time.time() if now is None else now)
    if step is None:
        raise DomainError("that code does not match; type the 6 digits your app shows now", field="code")
    user.totp_secret = secret
    user.totp_last_step = step
    return new_recovery_codes(db, user)


def new_recovery_codes(db: Session, user: User) -> list[str]:
    db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODES)]
    db.add_all(RecoveryCode(user_id=user.id, code_hash=hash_password(code)) for code in codes)
    db.flush()
    return codes


def disable(db: Session, user: User) -> None:
    user.totp_secret = None
    user.totp_last_step = None
    db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.flush()


def verify_code(db: Session, user: User, code: str, now: float | None = None) -> bool:
    """A TOTP code not used before, or an unused recovery code (used up by this)."""
    if user.totp_secret is None:
        return False
    step = _matching_step(user.totp_secret, code, time.time() if now is None else now)
    if step is not None:
        if user.totp_last_step is not None and step <= user.totp_last_step:
            return False
        user.totp_last_step = step
        db.flush()
        return True
    typed = (code or "").strip().lower()
    if len(typed) != 17:
        return False
    for recovery in db.scalars(
        select(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    ):
        if verify_password(recovery.code_hash, typed):
            recovery.used_at = utcnow()
            db.flush()
            return True
    return False


def recovery_codes_left(db: Session, user: User) -> int:
    return len(
        db.scalars(
            select(RecoveryCode.id).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
        ).all()
    )
