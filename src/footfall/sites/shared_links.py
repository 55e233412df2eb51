"""Shared links: a named, revocable link that shows a site's dashboard read-only to anyone
holding it, optionally behind a password (argon2) and optionally limited to one of the
site's saved segments. The Sites API (`PUT /api/v1/sites/shared-links`) and the visibility
page make links through `create_shared_link`."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from footfall.accounts.errors import Conflict, DomainError, NotFound
from footfall.accounts.passwords import hash_password, verify_password
from footfall.meta.models import SharedLink, Site
from footfall.meta.segments import Segment, SegmentType

MAX_NAME = 200


def link_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise DomainError("a shared link needs a name", field="name")
    return name.strip()[:MAX_NAME]


def create_shared_link(
    db: Session, site: Site, name: str, password: str | None = None, segment_id: int | None = None
) -> SharedLink:
    name = link_name(name)
    if db.scalar(select(SharedLink.id).where(SharedLink.site_id == site.id, SharedLink.name == name)):
        raise Conflict(f"{site.domain} already has a shared link named {name!r}", field="name")
    if segment_id is not None:
        segment = db.get(Segment, segment_id)
        if segment is None or segment.site_id != site.id or segment.type is not SegmentType.site:
            raise DomainError("the segment must be one of this site's saved site segments", field="segment")
    if password is not None and password != "" and len(password) < 8:
        raise DomainError("a shared link's password is at least 8 characters", field="password")
    link = SharedLink(
        site_id=site.id,
        name=name,
        slug=secrets.token_urlsafe(16),
        password_hash=hash_password(password) if password else None,
        segment_id=segment_id,
    )
    db.add(link)
    db.flush()
    return link


def find_or_create_shared_link(db: Session, site: Site, name: str) -> SharedLink:
    """The Sites API's find-or-create by name (no password, whole site)."""
    name = link_name(name)
    existing = db.scalar(select(SharedLink).where(SharedLink.site_id == site.id, SharedLink.name == name))
    return existing or create_shared_link(db, site, name)


def list_shared_links(db: Session, site: Site) -> list[SharedLink]:
    return list(db.scalars(select(SharedLink).where(SharedLink.site_id == site.id).order_by(SharedLink.id)))


def revoke_shared_link(db: Session, site: Site, link_id: int) -> None:
    link = db.scalar(select(SharedLink).where(SharedLink.id == link_id, SharedLink.site_id == site.id))
    if link is None:
        raise NotFound("no such shared link", field="link")
    db.delete(link)
    db.flush()


def find_link(db: Session, site: Site, slug: str) -> SharedLink | None:
    """The site's live link of `slug` (a revoked link is gone)."""
    if not slug:
        return None
    return db.scalar(select(SharedLink).where(SharedLink.site_id == site.id, SharedLink.slug == slug))


def password_matches(link: SharedLink, password: str) -> bool:
    return link.password_hash is None or verify_password(link.password_hash, password or "")


def share_url(base_url: str, domain: str, link: SharedLink) -> str:
    from urllib.parse import quote

    return f"{base_url.rstrip('/')}/share/{quote(domain, safe='')}?auth={link.slug}"
