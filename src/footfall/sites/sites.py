"""Creating, finding and listing sites, and who may see them."""

from __future__ import annotations

import re
import zoneinfo
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from footfall.accounts.errors import Conflict, DomainError, NotFound
from footfall.meta.models import Membership, Role, Site, User
from footfall.meta.segments import Segment, SegmentType

_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_ZONES = frozenset(zoneinfo.available_timezones())


def normalise_domain(raw: str) -> str:
    """`https://www.Example.com/` -> `example.com`; rejects anything that is not a hostname.

    A path is allowed after the host (Plausible allows `example.com/blog`)."""
    text = (raw or "").strip().lower()
    if "://" in text:
        parts = urlsplit(text)
        text = (parts.hostname or "") + parts.path
    text = text.rstrip("/")
    if text.startswith("www."):
        text = text[4:]
    host, _, path = text.partition("/")
    labels = host.split(".")
    if not host or len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise DomainError(f"{raw!r} is not a valid domain such as example.com", field="domain")
    if path and not re.match(r"^[a-z0-9._~!$&'()*+,;=:@%/-]+$", path):
        raise DomainError(f"{raw!r} has an invalid path after the domain", field="domain")
    return text


def validate_timezone(name: str) -> str:
    name = (name or "").strip() or "Etc/UTC"
    if name == "UTC":
        return "Etc/UTC"
    if name not in _ZONES:
        raise DomainError(f"{name!r} is not an IANA time zone such as Europe/Berlin", field="timezone")
    return name


def create_site(db: Session, domain: str, timezone: str = "Etc/UTC", owner: User | None = None) -> Site:
    domain = normalise_domain(domain)
    timezone = validate_timezone(timezone)
    if db.scalar(select(Site.id).where(Site.domain == domain)) is not None:
        raise Conflict(f"site {domain} already exists", field="domain")
    site = Site(domain=domain, timezone=timezone)
    db.add(site)
    db.flush()
    if owner is not None:
        db.add(Membership(site_id=site.id, user_id=owner.id, role=Role.owner))
        db.flush()
    return site


def change_domain(db: Session, site: Site, domain: str) -> Site:
    """Rename a site (its events stay: they are kept by site id). The Sites API and the
    general settings page both rename through here."""
    new = normalise_domain(domain)
    if db.scalar(select(Site.id).where(Site.domain == new, Site.id != site.id)) is not None:
        raise Conflict(f"domain: {new} has already been taken", field="domain")
    site.domain = new
    db.flush()
    return site


def change_timezone(db: Session, site: Site, timezone: str) -> Site:
    site.timezone = validate_timezone(timezone)
    db.flush()
    return site


RETENTION_DAYS_MAX = 100_000  # as DATA_RETENTION_DAYS (footfall.config)


def validate_retention_days(value: object, instance_days: int | None) -> int | None:
    """A site's retention: None or "" for the instance's DATA_RETENTION_DAYS, else a whole
    number of days from 1, and no more than the instance keeps when it has a limit."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    days: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        days = value
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        days = int(value.strip())
    if days is None:
        raise DomainError(
            f"retention_days: {value!r} is not a number of days; give a whole number of days, "
            "or leave it empty to keep the instance's setting",
            field="retention_days",
        )
    if days < 1 or days > RETENTION_DAYS_MAX:
        raise DomainError(
            f"retention_days: must be from 1 to {RETENTION_DAYS_MAX} days (got {days})",
            field="retention_days",
        )
    if instance_days is not None and days > instance_days:
        raise DomainError(
            f"retention_days: {days} days is longer than this instance keeps events "
            f"(DATA_RETENTION_DAYS={instance_days}); a site may only keep them for a shorter time",
            field="retention_days",
        )
    return days


def change_retention(db: Session, site: Site, value: object, instance_days: int | None) -> Site:
    site.retention_days = validate_retention_days(value, instance_days)
    db.flush()
    return site


def get_site(db: Session, domain: str) -> Site:
    site = db.scalar(select(Site).where(Site.domain == normalise_domain(domain)))
    if site is None:
        raise NotFound(f"no site {domain}", field="site_id")
    return site


def list_sites(db: Session, user: User | None = None) -> list[Site]:
    """Every site, or those `user` is a member of (all of them for a superuser)."""
    query = select(Site).order_by(Site.domain)
    if user is not None and not user.is_superuser:
        query = query.join(Membership).where(Membership.user_id == user.id)
    return list(db.scalars(query))


def role_of(db: Session, user: User, site: Site) -> Role | None:
    if user.is_superuser:
        return Role.owner
    return db.scalar(
        select(Membership.role).where(Membership.site_id == site.id, Membership.user_id == user.id)
    )


def remove_member(db: Session, site: Site, user: User) -> None:
    """Take `user` off `site`, as Plausible does: their personal segments of it are deleted
    (nobody else could see or use them) and their site segments, being the site's, stay but
    are owned by nobody until someone edits them.

    Both happen in the caller's transaction, so a failure leaves neither done. The site's
    last owner cannot be removed: the site would have nobody to manage it."""
    membership = db.scalar(
        select(Membership).where(Membership.site_id == site.id, Membership.user_id == user.id)
    )
    if membership is None:
        raise NotFound(f"{user.email} is not a member of {site.domain}", field="user")
    if membership.role is Role.owner:
        owners = db.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.site_id == site.id, Membership.role == Role.owner)
        )
        if owners == 1:
            raise Conflict(f"{user.email} is the only owner of {site.domain}", field="user")
    db.execute(
        delete(Segment).where(
            Segment.site_id == site.id,
            Segment.owner_id == user.id,
            Segment.type == SegmentType.personal,
        )
    )
    db.execute(
        update(Segment)
        .where(Segment.site_id == site.id, Segment.owner_id == user.id, Segment.type == SegmentType.site)
        .values(owner_id=None)
    )
    db.delete(membership)
    db.flush()
