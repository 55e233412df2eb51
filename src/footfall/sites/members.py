"""A site's people: listing members, changing roles, transferring ownership.

Owners and admins manage people; an admin cannot change an owner, and nobody makes an owner
by a role change: the owner offers the site (`accounts.invitations.offer_ownership`) and
`take_ownership` hands it over when the recipient accepts (the old owner becomes an admin).
Removal is `sites.remove_member` (which also takes the member's personal segments). Every
change commits through the metadata session, which empties the Stats API's auth cache
(`accounts.api_access.AuthCache.watch`), so a removed member's keys lose the site at once.
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


def take_ownership(db: Session, site: Site, new_owner: User) -> Membership:
    """Make `new_owner` the site's owner (a member already or not); whoever owned it stays as
    an admin. Called when a transfer is accepted."""
    for current in db.scalars(
        select(Membership).where(Membership.site_id == site.id, Membership.role == Role.owner)
    ):
        if current.user_id != new_owner.id:
            current.role = Role.admin
    target = db.scalar(
        select(Membership).where(Membership.site_id == site.id, Membership.user_id == new_owner.id)
    )
    if target is None:
        target = Membership(site_id=site.id, user_id=new_owner.id, role=Role.owner)
        db.add(target)
    target.role = Role.owner
    db.flush()
    return target


def member_user(db: Session, user_id: int) -> User | None:
    return db.get(User, user_id)
