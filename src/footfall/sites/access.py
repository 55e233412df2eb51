"""Who may do what on a site: Plausible's four roles, and the least role each part needs.

`role_on_site` answers "what is this user on this site" (owner, admin, editor, viewer, or
None: no access). `may` compares a role with the least one something needs. Viewers see the
dashboard only; editors also manage goals, funnels, properties and shared links; admins
everything but ownership and deletion; owners everything.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from footfall.meta.models import ROLE_RANK, Role, Site, User
from footfall.sites.sites import role_of


def role_on_site(db: Session, user: User | None, site: Site) -> Role | None:
    """The user's role on `site`, or None (anonymous, or no access). A superuser (made with
    `footfall user create --superuser`) is an owner of every site."""
    if user is None:
        return None
    return role_of(db, user, site)


def may(role: Role | None, least: Role) -> bool:
    """Whether `role` is `least` or above it."""
    return role is not None and ROLE_RANK[role] >= ROLE_RANK[least]
