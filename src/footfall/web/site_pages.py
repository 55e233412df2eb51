"""Site pages: `/sites`, `/sites/new`, the snippet page, the site settings tabs, and `/:domain`.

The settings tabs share one layout (`templates/settings/layout.html`, nav from
`pages.SETTINGS_TABS`). Tabs that other engineers fill are listed in `COMING`: when yours
lands, take its entry out of `COMING` and add your `settings_route(...)` to your own routes
function (see `footfall.web.pages`). `/:domain` is the dashboard (`footfall.web.dashboard`),
the app's last route, since `/{domain}` matches any path.
"""

from __future__ import annotations

import zoneinfo

from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from footfall.accounts.errors import DomainError
from footfall.meta.models import Role
from footfall.sites.sites import create_site, list_sites
from footfall.sites.snippet import EXTENSIONS, snippet
from footfall.web import site_stats
from footfall.web.pages import LOGIN, Page, page_route, settings_route, site, site_path

TIMEZONES = sorted(zoneinfo.available_timezones() - {"UTC", "localtime", "Factory"})

# Tabs whose pages other engineers build; until then the tab says what is coming.
COMING: dict[str, str] = {}


def sites_index(page: Page) -> Response:
    assert page.user is not None
    rows = []
    for entry in list_sites(page.db, page.user):
        rows.append((entry, site_stats.last_24_hours(page.services, entry)))
    return page.render("sites.html", rows=rows)


def new_site(page: Page) -> Response:
    errors: dict[str, str] = {}
    domain = page.field("domain")
    timezone = page.field("timezone") or "Etc/UTC"
    if page.posted:
        try:
            created = create_site(page.db, domain, timezone, owner=page.user)
        except DomainError as error:
            errors[error.field or "domain"] = str(error)
        else:
            return page.redirect(site_path(created.domain, "snippet"), f"{created.domain} is added.")
    return page.render(
        "site_new.html",
        domain=domain,
        timezone=timezone,
        timezones=TIMEZONES,
        errors=errors,
        status=400 if errors else 200,
    )


def snippet_page(page: Page) -> Response:
    assert page.site is not None
    tag = snippet(page.site.domain, page.settings.base_url)
    received = site_stats.has_pageviews(page.services, page.site)
    return page.render("snippet.html", tag=tag, extensions=EXTENSIONS, received=received)


def snippet_status(page: Page) -> Response:
    """`{"received": true}` once the site has a pageview: what the waiting state polls."""
    assert page.site is not None
    return JSONResponse(
        {"received": site_stats.has_pageviews(page.services, page.site)},
        headers={"Cache-Control": "no-store"},
    )


def coming(tab: str):
    def handler(page: Page) -> Response:
        return page.render("settings/coming.html", tab=tab, what=COMING[tab])

    handler.__name__ = f"coming_{tab.replace('-', '_')}"
    return handler


def site_routes() -> list[BaseRoute]:
    return [
        page_route("/sites", sites_index, LOGIN),
        page_route("/sites/new", new_site, LOGIN, methods=["GET", "POST"]),
        page_route("/{domain:path}/snippet/status", snippet_status, site(Role.admin)),
        page_route("/{domain:path}/snippet", snippet_page, site(Role.admin)),
        *(settings_route(tab, coming(tab), methods=["GET"]) for tab in COMING),
    ]
