"""Read-only access to a site's dashboard without a role: shared links and public sites.

`shared_access(request, db, domain)` is the one decision, for the `/share/:domain?auth=SLUG`
page and for the dashboard's `POST /api/stats/:domain/query` (which passes the link as
`?auth=` or in an `X-Shared-Link-Auth` header). It answers a `SharedAccess` (the site, the
link if any, the segment the link limits it to) or None: no access. A link with a password
counts only once the visitor has given it on the share page, which leaves a signed
`footfall_share_<id>` cookie (HttpOnly, SameSite=Lax) proving it for 24 hours.
A public site (the visibility page's switch) is readable by anyone, link or not.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from footfall.accounts.errors import DomainError
from footfall.config import Settings
from footfall.meta.models import SharedLink, Site
from footfall.sites.shared_links import find_link, password_matches
from footfall.sites.sites import normalise_domain
from footfall.web.pages import SHARED, Page, page_route, sign, unsign

AUTH_HEADER = "x-shared-link-auth"
PROOF_SECONDS = 24 * 3600


@dataclass(frozen=True)
class SharedAccess:
    site: Site
    link: SharedLink | None  # None: the site is public
    segment_id: int | None
    read_only: bool = True


def link_slug(request: Request) -> str:
    return (request.query_params.get("auth") or request.headers.get(AUTH_HEADER) or "").strip()


def _proof_cookie(link: SharedLink) -> str:
    return f"footfall_share_{link.id}"


def password_proven(settings: Settings, request: Request, link: SharedLink) -> bool:
    if link.password_hash is None:
        return True
    value = unsign(settings, "share", request.cookies.get(_proof_cookie(link)))
    if value is None:
        return False
    slug, _, expires = value.rpartition(":")
    return slug == link.slug and expires.isdigit() and int(expires) > time.time()


def prove_password(page: Page, link: SharedLink) -> None:
    value = f"{link.slug}:{int(time.time()) + PROOF_SECONDS}"
    page.set_cookie(_proof_cookie(link), sign(page.settings, "share", value), PROOF_SECONDS)


def _site(db: Session, domain: str) -> Site | None:
    try:
        return db.scalar(select(Site).where(Site.domain == normalise_domain(domain)))
    except DomainError:
        return None


def shared_access(request: Request, db: Session, domain: str) -> SharedAccess | None:
    """Whether this request may read `domain`'s dashboard without a role: through a live
    shared link (with its password given, if it has one), or because the site is public."""
    settings: Settings = request.app.state.settings
    site = _site(db, domain)
    if site is None:
        return None
    link = find_link(db, site, link_slug(request))
    if link is not None and password_proven(settings, request, link):
        return SharedAccess(site, link, link.segment_id)
    if site.public:
        return SharedAccess(site, None, None)
    return None


def share_page(page: Page) -> Response:
    """`/share/:domain?auth=SLUG`: the read-only dashboard, after the link's password if any."""
    domain = page.request.path_params.get("domain", "")
    site = _site(page.db, domain)
    link = find_link(page.db, site, link_slug(page.request)) if site is not None else None
    if site is None or link is None:
        page.site = None
        return page.error(404, "This shared link does not exist or has been revoked.")
    error = None
    if not password_proven(page.settings, page.request, link):
        if page.posted:
            if password_matches(link, page.form.get("password") if page.form else ""):
                prove_password(page, link)
                return page.redirect(page.request.url.path + "?" + page.request.url.query)
            error = "Wrong password."
        return page.render(
            "share_password.html", shared_site=site, link=link, error=error, status=401 if error else 200
        )
    from footfall.web.dashboard import shared_dashboard  # the dashboard renders it (web/dashboard.py)

    return shared_dashboard(page, site, link)


def share_routes() -> list[BaseRoute]:
    return [page_route("/share/{domain:path}", share_page, SHARED, methods=["GET", "POST"])]
