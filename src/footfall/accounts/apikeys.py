"""API keys: shown once, stored as a SHA-256 hash with a short prefix for display.

Keys carry 256 bits of randomness, so a plain SHA-256 is enough to store them:
nobody can brute-force the preimage, and lookups stay one indexed equality.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from footfall.accounts.errors import DomainError
from footfall.meta.models import ApiKey, User, utcnow

KEY_PREFIX = "ff_"


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.strip().encode()).hexdigest()


def create_api_key(db: Session, user: User, name: str = "default") -> tuple[str, ApiKey]:
    """Returns the raw key (to print once) and the stored row."""
    name = (name or "").strip() or "default"
    if len(name) > 200:
        raise DomainError("key name must be at most 200 characters", field="name")
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(user_id=user.id, name=name, key_prefix=raw[:8], key_hash=hash_key(raw))
    db.add(key)
    db.flush()
    return raw, key


def find_api_key(db: Session, raw_key: str) -> ApiKey | None:
    """The key row for a presented Bearer token (surrounding spaces trimmed), or None."""
    raw_key = (raw_key or "").strip()
    if not raw_key:
        return None
    key = db.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(raw_key)))
    if key is not None:
        key.last_used_at = utcnow()
    return key
