"""Invitations to a site: a single-use link that makes its holder a member with a role.

The link holds a random token; the store keeps its SHA-256 hash. It is valid for
`VALID_HOURS` (48, as Plausible), for the invited email only, and is gone once accepted
or revoked. Owners and admins invite; nobody is invited as owner (ownership is transferred).
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


def accept(db: Session, token: str, user: User) -> Membership:
    """Make `user` a member as the invitation says; the invitation is used up."""
    invitation = find_invitation(db, token)
    if invitation.email != user.email:
        raise DomainError(
            f"This invitation is for {invitation.email}; you are logged in as {user.email}.",
            field="invitation",
        )
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
