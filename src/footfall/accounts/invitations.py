"""Invitations to a site: a single-use link that makes its holder a member with a role.

The link holds a random token; the store keeps its SHA-256 hash. It is valid for
`VALID_HOURS` (48, as Plausible), for the invited email only, and is gone once accepted
or revoked. Owners and admins invite; nobody is invited as owner.

Ownership moves the same way, as Plausible does it: the owner offers the site to an email
(`offer_ownership`), which is an invitation with the owner role, one at a time per site; the
site changes hands only when the recipient accepts through the link (the old owner then stays
as an admin); the recipient may decline, the owner may cancel.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, joinedload

from footfall.accounts.errors import Conflict, DomainError, NotFound
from footfall.accounts.users import normalise_email
from footfall.meta.models import Invitation, Membership, Role, Site, User, utcnow
from footfall.sites.members import take_ownership

VALID_HOURS = 48
INVITABLE = (Role.admin, Role.editor, Role.viewer)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def parse_role(raw: str, allowed: tuple[Role, ...] = INVITABLE) -> Role:
    try:
        role = Role(raw)
    except ValueError:
        role = None
    if role not in allowed:
        raise DomainError(f"role must be one of {', '.join(r.value for r in allowed)}", field="role")
    return role


def invite(db: Session, site: Site, email: str, role: Role, inviter: User | None) -> tuple[str, Invitation]:
    """A new invitation (and its raw token, for the link); replaces one pending for the email."""
    email = normalise_email(email)
    if role not in INVITABLE:
        raise DomainError("nobody is invited as owner: transfer ownership instead", field="role")
    member = db.scalar(
        select(Membership.id).join(User).where(Membership.site_id == site.id, User.email == email)
    )
    if member is not None:
        raise Conflict(f"{email} is already a member of {site.domain}", field="email")
    db.execute(delete(Invitation).where(Invitation.site_id == site.id, Invitation.email == email))
    token = secrets.token_urlsafe(32)
    now = utcnow()
    invitation = Invitation(
        site_id=site.id,
        email=email,
        role=role,
        token_hash=_hash(token),
        invited_by_id=inviter.id if inviter else None,
        created_at=now,
        expires_at=now + timedelta(hours=VALID_HOURS),
    )
    db.add(invitation)
    db.flush()
    return token, invitation


def offer_ownership(db: Session, site: Site, owner: User, email: str) -> tuple[str, Invitation]:
    """A pending transfer of `site` to `email` (and its raw token, for the link), replacing any
    earlier one; nothing changes until it is accepted."""
    email = normalise_email(email)
    current = db.scalar(
        select(Membership).where(Membership.site_id == site.id, Membership.user_id == owner.id)
    )
    if current is None or current.role is not Role.owner:
        raise DomainError("only the owner transfers ownership", field="email")
    if email == owner.email:
        raise DomainError("you already own this site", field="email")
    db.execute(
        delete(Invitation).where(
            Invitation.site_id == site.id, (Invitation.role == Role.owner) | (Invitation.email == email)
        )
    )
    token = secrets.token_urlsafe(32)
    now = utcnow()
    invitation = Invitation(
        site_id=site.id,
        email=email,
        role=Role.owner,
        token_hash=_hash(token),
        invited_by_id=owner.id,
        created_at=now,
        expires_at=now + timedelta(hours=VALID_HOURS),
    )
    db.add(invitation)
    db.flush()
    return token, invitation


def pending_transfer(db: Session, site: Site) -> Invitation | None:
    return db.scalar(
        select(Invitation).where(
            Invitation.site_id == site.id, Invitation.role == Role.owner, Invitation.expires_at > utcnow()
        )
    )


def cancel_transfer(db: Session, site: Site) -> bool:
    result = db.execute(
        delete(Invitation).where(Invitation.site_id == site.id, Invitation.role == Role.owner)
    )
    return bool(result.rowcount)


def find_invitation(db: Session, token: str) -> Invitation:
    """The pending invitation of a link's token; NotFound if unknown, used or expired."""
    invitation = db.scalar(
        select(Invitation)
        .options(joinedload(Invitation.site))
        .where(Invitation.token_hash == _hash(token or ""))
    )
    if invitation is None:
        raise NotFound("This invitation does not exist, was revoked or has been used.", field="invitation")
    if invitation.expires_at <= utcnow():
        raise NotFound("This invitation has expired; ask for a new one.", field="invitation")
    return invitation


def _for_user(db: Session, token: str, user: User) -> Invitation:
    invitation = find_invitation(db, token)
    if invitation.email != user.email:
        raise DomainError(
            f"This invitation is for {invitation.email}; you are logged in as {user.email}.",
            field="invitation",
        )
    return invitation


def accept(db: Session, token: str, user: User) -> Membership:
    """Make `user` a member as the invitation says (the owner, for a transfer: the old owner
    becomes an admin); the invitation is used up."""
    invitation = _for_user(db, token, user)
    if invitation.role is Role.owner:
        site = invitation.site
        db.delete(invitation)
        return take_ownership(db, site, user)
    existing = db.scalar(
        select(Membership).where(Membership.site_id == invitation.site_id, Membership.user_id == user.id)
    )
    db.delete(invitation)
    if existing is not None:
        db.flush()
        return existing
    membership = Membership(site_id=invitation.site_id, user_id=user.id, role=invitation.role)
    db.add(membership)
    db.flush()
    return membership


def decline(db: Session, token: str, user: User) -> Invitation:
    """Refuse an invitation or a transfer addressed to `user`; it is used up, nothing changes."""
    invitation = _for_user(db, token, user)
    db.delete(invitation)
    db.flush()
    return invitation


def pending(db: Session, site: Site) -> list[Invitation]:
    return list(
        db.scalars(
            select(Invitation)
            .where(Invitation.site_id == site.id, Invitation.expires_at > utcnow())
            .order_by(Invitation.created_at)
        )
    )


def revoke(db: Session, site: Site, invitation_id: int) -> None:
    result = db.execute(
        delete(Invitation).where(Invitation.id == invitation_id, Invitation.site_id == site.id)
    )
    if not result.rowcount:
        raise NotFound("no such invitation", field="invitation")
