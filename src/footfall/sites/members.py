"""A site's people: listing members, changing roles, transferring ownership.

Owners and admins manage people; an admin cannot change an owner, and nobody makes an owner
by a role change: `transfer_ownership` hands the site to another member (the old owner
becomes an admin). Removal is `sites.remove_member` (which also takes the member's
personal segments). Every change commits through the metadata session, which empties the
Stats API's auth cache (`accounts.api_access.AuthCache.watch`), so a removed member's keys lose the
site at once.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from footfall.accounts.errors import DomainError, NotFound
from footfall.meta.models import Membership, Role, Site, User

ASSIGNABLE = (Role.admin, Role.editor, Role.viewer)


def list_members(db: Session, site: Site) -> list[Membership]:
    return list(
        db.scalars(
            select(Membership)
            .options(joinedload(Membership.user))
            .where(Membership.site_id == site.id)
            .order_by(Membership.created_at, Membership.id)
        )
    )


def membership(db: Session, site: Site, user_id: int) -> Membership:
    found = db.scalar(
        select(Membership)
        .options(joinedload(Membership.user))
        .where(Membership.site_id == site.id, Membership.user_id == user_id)
    )
    if found is None:
        raise NotFound("that person is not a member of this site", field="member")
    return found


def change_role(db: Session, site: Site, actor_role: Role, user_id: int, role: Role) -> Membership:
    """Give a member another role (admin, editor or viewer)."""
    if role not in ASSIGNABLE:
        raise DomainError(
            "a role change gives admin, editor or viewer; transfer ownership instead", field="role"
        )
    target = membership(db, site, user_id)
    if target.role is Role.owner:
        raise DomainError("the owner's role changes only by transferring ownership", field="role")
    if actor_role not in (Role.owner, Role.admin):
        raise DomainError("only owners and admins change roles", field="role")
    target.role = role
    db.flush()
    return target


def transfer_ownership(db: Session, site: Site, owner: User, new_owner_id: int) -> Membership:
    """Make another member the owner; the previous owner stays as an admin."""
    target = membership(db, site, new_owner_id)
    if target.user_id == owner.id:
        raise DomainError("you already own this site", field="member")
    current = db.scalar(
        select(Membership).where(Membership.site_id == site.id, Membership.user_id == owner.id)
    )
    if current is None or current.role is not Role.owner:
        raise DomainError("only the owner transfers ownership", field="member")
    current.role = Role.admin
    target.role = Role.owner
    db.flush()
    return target


def member_user(db: Session, user_id: int) -> User | None:
    return db.get(User, user_id)
