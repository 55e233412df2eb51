"""API keys: shown once, stored as a SHA-256 hash with a short prefix for display.

Keys carry 256 bits of randomness, so a plain SHA-256 is enough to store them:
nobody can brute-force the preimage, and lookups stay one indexed equality.

A key has one of Plausible's two scopes: `stats:read:*` (a Stats API key) or
`sites:provision:*` (a Sites API key, which reads stats too). Every key may read the Stats
API and list sites and goals; only a Sites API key may create, change or delete.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from footfall.accounts.errors import DomainError
from footfall.meta.models import ApiKey, User, utcnow

KEY_PREFIX = "ff_"
STATS_SCOPE = "stats:read:*"
SITES_SCOPE = "sites:provision:*"
# The names `footfall apikey create --scope` takes, and the scope each stands for.
SCOPES = {"stats": STATS_SCOPE, "sites": SITES_SCOPE}


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.strip().encode()).hexdigest()


def create_api_key(
    db: Session, user: User, name: str = "default", scope: str = SITES_SCOPE
) -> tuple[str, ApiKey]:
    """Returns the raw key (to print once) and the stored row.

    The default scope is the Sites one because every key could use the Sites API before
    scopes existed; pass `STATS_SCOPE` for a key that may only read statistics."""
    name = (name or "").strip() or "default"
    if len(name) > 200:
        raise DomainError("key name must be at most 200 characters", field="name")
    scope = SCOPES.get(scope, scope)
    if scope not in SCOPES.values():
        raise DomainError(f"scope must be one of {', '.join(SCOPES)}, got {scope!r}", field="scope")
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(user_id=user.id, name=name, key_prefix=raw[:8], key_hash=hash_key(raw), scope=scope)
    db.add(key)
    db.flush()
    return raw, key


LAST_USED_PRECISION = timedelta(minutes=1)


def may_provision(key: ApiKey) -> bool:
    """Whether the key may change sites, goals and shared links (a Sites API key)."""
    return key.scope == SITES_SCOPE


def find_api_key(db: Session, raw_key: str) -> ApiKey | None:
    """The key row for a presented Bearer token (surrounding spaces trimmed), or None."""
    raw_key = (raw_key or "").strip()
    if not raw_key:
        return None
    key = db.scalar(
        select(ApiKey).options(joinedload(ApiKey.user)).where(ApiKey.key_hash == hash_key(raw_key))
    )
    if key is not None:
        # To the minute: writing it on every request would make each API call a database
        # commit (an fsync on SQLite) for a figure nobody reads more finely.
        now = utcnow()
        if key.last_used_at is None or now - key.last_used_at >= LAST_USED_PRECISION:
            key.last_used_at = now
    return key
