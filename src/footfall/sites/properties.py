"""A site's allow-list of custom property keys: which keys the dashboard's property menu offers.

None (the default) offers every key. Events keep all their props whatever the list says;
only what the dashboard shows changes.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from footfall.accounts.errors import DomainError
from footfall.meta.models import Site

MAX_KEYS = 300
MAX_KEY_LENGTH = 300


def allowed_properties(site: Site) -> list[str] | None:
    return None if site.allowed_props is None else list(site.allowed_props)


def allow_property(db: Session, site: Site, key: str) -> list[str]:
    key = (key or "").strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise DomainError(f"a property key is 1 to {MAX_KEY_LENGTH} characters", field="key")
    keys = list(site.allowed_props or [])
    if key in keys:
        raise DomainError(f"{key!r} is already allowed", field="key")
    if len(keys) >= MAX_KEYS:
        raise DomainError(f"at most {MAX_KEYS} property keys may be allowed", field="key")
    site.allowed_props = sorted([*keys, key])
    db.flush()
    return site.allowed_props


def disallow_property(db: Session, site: Site, key: str) -> list[str] | None:
    keys = [k for k in (site.allowed_props or []) if k != key]
    # The last key gone: back to every key, as before the list was made.
    site.allowed_props = keys or None
    db.flush()
    return site.allowed_props
