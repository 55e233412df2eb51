"""Who is reading a dashboard: resolves a request and a domain to a Viewer, or refuses.

Accepted, in this order:
- the login session (accounts' `footfall_session` cookie) of a member of the site, or of a
  superuser;
- what accounts' `footfall.web.share.shared_access` allows without a role: a shared link of
  the site (`?auth=SLUG` or an `X-Shared-Link-Auth: SLUG` header; with its password given on
  `/share/:domain`), read-only and through the link's segment when it has one; or anyone
  when the site is public;
- a Bearer API key of a member, as the Stats API takes it (counted against its limit).
A cookie-borne state-changing request carries its page's CSRF token (`X-CSRF-Token` or a
`_csrf` form field). Anything else is a 404 (`{"error": ...}`): nothing says whether the
site exists.

The JSON routes declare `DASHBOARD_API` (kind `site_or_shared`: anonymous, strangers and
wrong links 404; a member of any role, a live shared link, anyone on a public site: the
answer) or `MEMBER_API` (kind `site_member_api`: members only) or `EDITOR_API` (the same kind with
the editor role: a viewer is refused with 403); tests/web/test_route_walk.py
has a row for each.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from starlette.datastructures import FormData
from starlette.requests import Request

from footfall.accounts.errors import DomainError
from footfall.meta.db import session_scope
from footfall.meta.models import Role, Site
from footfall.sites.access import role_on_site
from footfall.sites.sites import normalise_domain
from footfall.stats.query import SiteSpec
from footfall.web.auth import ApiError
from footfall.web.pages import CSRF_REFUSED, SAFE_METHODS, Page, Rule
from footfall.web.share import shared_access
from footfall.web.stats_api import _authorised, site_spec

NOT_FOUND = "Site not found, or you may not see it."
SHARED_HEADER = "x-shared-link-auth"
SHARED_COOKIE = "footfall_shared"
DASHBOARD_API = Rule("site_or_shared", Role.viewer)
# Members only (saving a segment): anonymous visitors, strangers and shared links get 404.
MEMBER_API = Rule("site_member_api", Role.viewer)
# Editors and above (writing annotations): as MEMBER_API, and a viewer gets 403.
EDITOR_API = Rule("site_member_api", Role.editor)


@dataclass(frozen=True)
class Viewer:
    site: SiteSpec
    user_id: int | None  # None for a shared link or a public site's visitor
    role: str  # owner, admin, editor, viewer, superuser, shared, public, api-key
    read_only: bool
    csrf_token: str | None = None
    shared_slug: str | None = None
    segment_id: int | None = None  # a shared link's segment: every query goes through it
    created_at: datetime | None = None  # the site's, for `date_range: "all"` without events


def _site_of(db: Session, domain: str) -> Site | None:
    try:
        name = normalise_domain(domain)
    except DomainError:
        return None
    return db.scalar(select(Site).options(selectinload(Site.goals)).where(Site.domain == name))


def viewer_for(request: Request, domain: str, form: FormData | None = None) -> Viewer:
    """The Viewer of `domain` for this request, or an ApiError (404; 403 for a state-changing
    request without its CSRF token, sent as `X-CSRF-Token` or a `_csrf` form field)."""
    services = request.app.state.services
    if request.headers.get("authorization"):
        try:
            spec = _authorised(services, request, domain, False)
            with session_scope(services.sessions) as db:
                created_at = db.get(Site, spec.id).created_at  # type: ignore[union-attr]
        except ApiError as error:
            if error.status == 429:
                raise
            raise ApiError(404, NOT_FOUND) from None
        return Viewer(spec, request.state.user_id, "api-key", True, created_at=created_at)
    with session_scope(services.sessions) as db:
        site = _site_of(db, domain)
        if site is None:
            raise ApiError(404, NOT_FOUND)
        page = Page(request, db, form)
        viewer = _session_viewer(page, db, site) or _shared_viewer(request, db, site)
        if viewer is None:
            raise ApiError(404, NOT_FOUND)
        # A cookie-borne request (a session's, a password link's, a public site's) that changes
        # or costs something carries the token of the page it came from.
        if request.method not in SAFE_METHODS and not page.csrf_valid():
            raise ApiError(403, CSRF_REFUSED)
        return replace(viewer, created_at=site.created_at)


def _shared_viewer(request: Request, db: Session, site: Site) -> Viewer | None:
    """Accounts' decision (footfall.web.share.shared_access): a live link, its password
    given, or a public site."""
    access = shared_access(request, db, site.domain)
    if access is None:
        return None
    if access.link is None:
        return Viewer(site_spec(site), None, "public", True)
    return Viewer(
        site_spec(site), None, "shared", True, shared_slug=access.link.slug, segment_id=access.segment_id
    )


def _session_viewer(page: Page, db: Session, site: Site) -> Viewer | None:
    if page.user is None:
        return None
    role = role_on_site(db, page.user, site)
    if role is None:
        return None
    return Viewer(site_spec(site), page.user.id, str(role), False, csrf_token=page.csrf_token)
