"""Server-rendered pages: login session, CSRF, access rules, templates. Every page goes through here.

How to add a page (another engineer's, e.g. `/:domain/settings/email-reports`):

1. Write a handler that takes a `Page` and returns a response; it runs in a worker thread
   with `page.db` (a metadata session committed when the handler returns without raising),
   `page.user`, `page.site` and `page.role` already resolved:

       def email_reports(page: Page) -> Response:
           if page.request.method == "POST":
               ...                                  # page.field("recipient"), page.db
               return page.redirect(page.site_url("settings/email-reports"), "Saved.")
           return page.render("settings/email_reports.html", recipients=[...])

2. Declare its route and its access rule in the same place, with `page_route` (or, for a
   site settings tab, `settings_route`, which puts it in the settings layout's nav):

       settings_route("email-reports", email_reports, methods=["GET", "POST"])
       page_route("/settings/mail", mail_page, LOGIN, methods=["GET", "POST"])

   The rule is enforced here, before the handler runs (`PUBLIC`, `LOGIN`, `INSTANCE_ADMIN`,
   `site(Role.x)`, `SITE_VIEW`, `SHARED`); every POST must carry the form's CSRF token (`{{ csrf_field() }}`
   in the template, or an `X-CSRF-Token` header from JavaScript) or it is answered 403.
   Return the routes from one function of your module and add it to `footfall.app.routes()`.
   The route-walk test (tests/web/test_route_walk.py) reads the app's route table and checks
   every route's rule for every kind of visitor, so a new route is walked automatically; a
   route with a new path parameter needs an example value in its `EXAMPLES`.

3. Templates live in `web/templates/`; a page extends `base.html` (a settings tab extends
   `settings/layout.html`) and fills `{% block content %}` (`{% block settings %}`).
   Styles go into `web/page_assets/app.css` (one small stylesheet; check 360 px wide).

Non-page routes (JSON APIs with Bearer keys, the tracker, health) declare their rule with
`declare(API, routes)` or `declare(OPEN, routes)`: the route walk then checks that
anonymous visitors get no data from API routes.

Sessions: the `footfall_session` cookie holds a random token signed with SECRET_KEY_BASE
(HttpOnly, SameSite=Lax, Secure when BASE_URL is https); the row it names is in
`login_sessions` (`footfall.accounts.logins`). CSRF tokens are an HMAC of the session's
secret (or, before login, of the `footfall_csrf` cookie's random value).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from footfall.accounts.errors import DomainError
from footfall.accounts.logins import find_session
from footfall.config import Settings
from footfall.meta.db import session_scope
from footfall.meta.models import LoginSession, Role, Site, User
from footfall.services import Services
from footfall.sites.access import may, role_on_site
from footfall.sites.sites import normalise_domain

log = logging.getLogger("footfall.web")

TEMPLATES_DIR = Path(__file__).parent / "templates"
SESSION_COOKIE = "footfall_session"
CSRF_COOKIE = "footfall_csrf"
FLASH_COOKIE = "footfall_flash"
CSRF_FIELD = "_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_REFUSED = "This form had expired or did not come from footfall. Go back, reload it and try again."


# --- access rules ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """Who may request a route. `kind` is one of:

    - `public`: anyone (login, register, password reset);
    - `login`: a logged-in user (anonymous visitors are sent to /login);
    - `site`: a logged-in user whose role on the `{domain}` of the path is `least` or above
      (no role: 404, so a site's existence is not given away; a lesser role: 403);
    - `site_view`: as `site` with the viewer role, or anyone when the site is public;
    - `shared`: a shared link's visitor (`?auth=`), decided by the handler;
    - `pending_2fa`: a session that gave its password and owes the second factor;
    - `instance_admin`: a logged-in instance admin (`User.is_admin` or a superuser; others 403);
    - `api`: a Bearer-key JSON API (its handlers check the key; no cookies, no CSRF);
    - `open`: no user at all (tracker script, health); its handler decides.

    `csrf`: whether a state-changing request must carry a valid CSRF token (every page)."""

    kind: str
    least: Role | None = None
    csrf: bool = True

    def __str__(self) -> str:
        return f"site:{self.least}" if self.kind == "site" else self.kind


PUBLIC = Rule("public")
LOGIN = Rule("login")
SITE_VIEW = Rule("site_view", Role.viewer)
SHARED = Rule("shared")
PENDING_2FA = Rule("pending_2fa")
INSTANCE_ADMIN = Rule("instance_admin")
API = Rule("api", csrf=False)
OPEN = Rule("open", csrf=False)


def site(least: Role) -> Rule:
    """Pages of the site named by `{domain}` for users with role `least` or above."""
    return Rule("site", least)


def declare(access: Rule, routes: Iterable[BaseRoute]) -> list[BaseRoute]:
    """Mark routes defined elsewhere (APIs, tracker) with their access rule, for the route walk."""
    marked = list(routes)
    for route in marked:
        route.access = access  # type: ignore[attr-defined]
    return marked


def access_of(route: BaseRoute) -> Rule | None:
    return getattr(route, "access", None)


# --- signing --------------------------------------------------------------------------------------


def _key(settings: Settings, purpose: str) -> bytes:
    return hmac.new(settings.secret_key_base.encode(), purpose.encode(), hashlib.sha256).digest()


def _mac(settings: Settings, purpose: str, value: str) -> str:
    digest = hmac.new(_key(settings, purpose), value.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign(settings: Settings, purpose: str, value: str) -> str:
    return f"{value}.{_mac(settings, purpose, value)}"


def unsign(settings: Settings, purpose: str, signed: str | None) -> str | None:
    """The value of a `sign`ed text, or None if the signature does not match."""
    if not signed or "." not in signed:
        return None
    value, _, mac = signed.rpartition(".")
    return value if hmac.compare_digest(mac, _mac(settings, purpose, value)) else None


# --- templates ------------------------------------------------------------------------------------


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["urlpart"] = lambda value: quote(str(value), safe="")
    return env


templates = _environment()

# The site settings tabs, in nav order: (slug, label, least role that sees it).
SETTINGS_TABS: tuple[tuple[str, str, Role], ...] = (
    ("general", "General", Role.admin),
    ("people", "People", Role.admin),
    ("visibility", "Visibility", Role.editor),
    ("goals", "Goals", Role.editor),
    ("properties", "Properties", Role.editor),
    ("funnels", "Funnels", Role.editor),
    ("email-reports", "Email reports", Role.admin),
    ("shields", "Shields", Role.admin),
    ("imports-exports", "Imports & exports", Role.admin),
    ("danger-zone", "Danger zone", Role.owner),
)
TAB_ROLE = {slug: least for slug, _, least in SETTINGS_TABS}


def site_path(domain: str, rest: str = "") -> str:
    """`/example.com/settings/goals`: the domain escaped (a domain may have a path: `a.com/blog`)."""
    path = "/" + quote(domain, safe="")
    return f"{path}/{rest}" if rest else path


# --- the page context -----------------------------------------------------------------------------


class Page:
    """One request to a page: what the handler needs, resolved before it runs."""

    def __init__(self, request: Request, db: Session, form: FormData | None) -> None:
        self.request = request
        self.db = db
        self.form = form
        self.services: Services = request.app.state.services
        self.settings: Settings = request.app.state.settings
        self.login: LoginSession | None = None  # a verified session
        self.pending: LoginSession | None = None  # a session owing its second factor
        self.user: User | None = None
        self.site: Site | None = None
        self.role: Role | None = None
        self._cookies: list[tuple[str, str | None, int | None]] = []
        self._anon_csrf = unsign(self.settings, "csrf-cookie", request.cookies.get(CSRF_COOKIE))
        flash = unsign(self.settings, "flash", request.cookies.get(FLASH_COOKIE))
        self.flash = base64.urlsafe_b64decode(flash + "=" * (-len(flash) % 4)).decode() if flash else None
        if flash is not None or request.cookies.get(FLASH_COOKIE):
            self._cookies.append((FLASH_COOKIE, None, None))
        self._load_session()

    # --- who is asking

    def _load_session(self) -> None:
        token = unsign(self.settings, "session", self.request.cookies.get(SESSION_COOKIE))
        login = find_session(self.db, token) if token else None
        if login is None:
            return
        if login.verified:
            self.login, self.user = login, login.user
        else:
            self.pending = login

    @property
    def secure_cookies(self) -> bool:
        return self.settings.base_url.startswith("https://")

    def set_cookie(self, name: str, value: str | None, max_age: int | None = None) -> None:
        """Set (or, with None, delete) a cookie on whatever response the handler returns."""
        self._cookies = [c for c in self._cookies if c[0] != name]
        self._cookies.append((name, value, max_age))

    def apply_cookies(self, response: Response) -> Response:
        for name, value, max_age in self._cookies:
            if value is None:
                response.delete_cookie(
                    name, path="/", httponly=True, samesite="lax", secure=self.secure_cookies
                )
            else:
                response.set_cookie(
                    name,
                    value,
                    max_age=max_age,
                    path="/",
                    httponly=True,
                    samesite="lax",
                    secure=self.secure_cookies,
                )
        return response

    def remember(self, token: str, login: LoginSession) -> None:
        """Send the cookie for a session just started (`accounts.logins.start_session`)."""
        from footfall.accounts.logins import SESSION_DAYS

        self.set_cookie(SESSION_COOKIE, sign(self.settings, "session", token), SESSION_DAYS * 86400)
        if login.verified:
            self.login, self.user, self.pending = login, login.user, None
        else:
            self.pending = login

    def forget(self) -> None:
        """Drop the session cookie (the row is ended by the caller)."""
        self.set_cookie(SESSION_COOKIE, None)
        self.login = self.user = self.pending = None

    # --- CSRF

    @property
    def csrf_token(self) -> str:
        session = self.login or self.pending
        if session is not None:
            return _mac(self.settings, "csrf", "session:" + session.csrf_secret)
        if self._anon_csrf is None:
            self._anon_csrf = secrets.token_urlsafe(24)
            self.set_cookie(CSRF_COOKIE, sign(self.settings, "csrf-cookie", self._anon_csrf))
        return _mac(self.settings, "csrf", "anonymous:" + self._anon_csrf)

    def csrf_valid(self) -> bool:
        sent = self.request.headers.get(CSRF_HEADER) or (self.form.get(CSRF_FIELD) if self.form else None)
        if not isinstance(sent, str) or not sent:
            return False
        if (self.login or self.pending) is None and self._anon_csrf is None:
            return False
        return hmac.compare_digest(sent, self.csrf_token)

    def csrf_field(self) -> Markup:
        return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, self.csrf_token)

    # --- forms

    def field(self, name: str, default: str = "") -> str:
        value = self.form.get(name) if self.form is not None else None
        return value.strip() if isinstance(value, str) else default

    def fields(self, name: str) -> list[str]:
        if self.form is None:
            return []
        return [v.strip() for v in self.form.getlist(name) if isinstance(v, str)]

    @property
    def posted(self) -> bool:
        return self.request.method == "POST"

    # --- answers

    def site_url(self, rest: str = "") -> str:
        assert self.site is not None
        return site_path(self.site.domain, rest)

    def render(self, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        tabs = []
        if self.site is not None:
            tabs = [(slug, label) for slug, label, least in SETTINGS_TABS if may(self.role, least)]
        html = templates.get_template(template).render(
            page=self,
            user=self.user,
            site=self.site,
            role=self.role,
            flash=self.flash,
            csrf_field=self.csrf_field,
            site_path=site_path,
            settings_tabs=tabs,
            base_url=self.settings.base_url,
            **values,
        )
        return HTMLResponse(html, status_code=status, headers=_NO_STORE)

    def redirect(self, url: str, flash: str | None = None) -> RedirectResponse:
        if flash:
            encoded = base64.urlsafe_b64encode(flash.encode()).decode().rstrip("=")
            self.set_cookie(FLASH_COOKIE, sign(self.settings, "flash", encoded))
        return RedirectResponse(url, status_code=303)

    def error(self, status: int, message: str) -> HTMLResponse:
        return self.render("error.html", status=status, status_code=status, message=message)


# Pages show personal data: never kept by a shared cache; `frame-ancestors` stops clickjacking.
_NO_STORE = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
}


def login_redirect(page: Page) -> RedirectResponse:
    target = page.request.url.path
    if page.request.url.query:
        target += "?" + page.request.url.query
    return page.redirect("/login?next=" + quote(target, safe=""))


def safe_next(raw: str | None) -> str:
    """A `next=` target that stays on this site (`/x`, never `//evil.example` or a URL)."""
    if raw and raw.startswith("/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return "/sites"


def _find_site(page: Page) -> Site | None:
    raw = page.request.path_params.get("domain", "")
    try:
        domain = normalise_domain(raw)
    except DomainError:
        return None
    return page.db.scalar(select(Site).where(Site.domain == domain))


def _enforce(rule: Rule, page: Page) -> Response | None:
    """None if the request may go on; else the answer (redirect to /login, 403 or 404)."""
    if rule.kind in ("public", "open", "api", "shared"):
        if rule.kind == "shared":
            page.site = _find_site(page)
        return None
    if rule.kind == "pending_2fa":
        return None if page.pending is not None else page.redirect("/login")
    if rule.kind == "login":
        return None if page.user is not None else login_redirect(page)
    if rule.kind == "instance_admin":
        if page.user is None:
            return login_redirect(page)
        if not (page.user.is_admin or page.user.is_superuser):
            return page.error(403, "This page is for the instance's administrators.")
        return None
    # site and site_view
    page.site = _find_site(page)
    if page.site is not None and page.user is not None:
        page.role = role_on_site(page.db, page.user, page.site)
    if rule.kind == "site_view" and page.site is not None and page.site.public:
        return None
    if page.user is None:
        return login_redirect(page)
    if page.site is None or page.role is None:
        page.site = None
        return page.error(404, "There is no such site, or you have no access to it.")
    assert rule.least is not None
    if not may(page.role, rule.least):
        return page.error(403, f"This page is for the site's {rule.least}s and above; you are a {page.role}.")
    return None


Handler = Callable[[Page], Response]


class PageRoute(Route):
    """A page: its `access` rule is checked, and a POST's CSRF token, before `handler` runs."""

    def __init__(
        self,
        path: str,
        handler: Handler,
        access: Rule,
        *,
        methods: Sequence[str] = ("GET",),
        name: str | None = None,
        uploads: int = 0,
    ) -> None:
        self.access = access
        self.handler = handler

        async def endpoint(request: Request) -> Response:
            form = None
            if request.method not in SAFE_METHODS:
                kind = request.headers.get("content-type", "")
                if kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
                    # Uploaded files are spooled to disk by Starlette (over 1 MB), never held whole.
                    form = await request.form(max_files=uploads, max_fields=200)
            return await run_in_threadpool(self._run, request, form)

        super().__init__(path, endpoint, methods=list(methods), name=name or handler.__name__)

    def _run(self, request: Request, form: FormData | None) -> Response:
        services: Services = request.app.state.services
        with session_scope(services.sessions) as db:
            page = Page(request, db, form)
            denied = _enforce(self.access, page)
            unsafe = request.method not in SAFE_METHODS and self.access.csrf
            if denied is None and unsafe and not page.csrf_valid():
                denied = page.error(403, CSRF_REFUSED)
            response = denied if denied is not None else self.handler(page)
            return page.apply_cookies(response)


def page_route(
    path: str, handler: Handler, access: Rule, *, methods: Sequence[str] = ("GET",), name: str | None = None
) -> PageRoute:
    return PageRoute(path, handler, access, methods=methods, name=name)


def settings_route(
    tab: str, handler: Handler, *, methods: Sequence[str] = ("GET", "POST"), uploads: int = 0
) -> PageRoute:
    """The `/:domain/settings/<tab>` page, for the roles `SETTINGS_TABS` gives the tab; `uploads`:
    how many files a POST may carry (none by default)."""
    if tab not in TAB_ROLE:
        raise ValueError(f"unknown settings tab {tab!r}; add it to SETTINGS_TABS")
    return PageRoute(
        f"/{{domain:path}}/settings/{tab}",
        handler,
        site(TAB_ROLE[tab]),
        methods=methods,
        name=f"settings_{tab.replace('-', '_')}",
        uploads=uploads,
    )
