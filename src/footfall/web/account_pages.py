"""The front door: `/`, `/register`, `/login`, `/logout`, and the account page `/settings`.

Registration: the first user of a fresh instance registers and becomes its admin; after
that `DISABLE_REGISTRATION` decides (`false`: anyone, `true`: nobody, `invite_only`, the
default: only someone holding an invitation link to a site). How to add a page: see
`footfall.web.pages`.
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute

from footfall.accounts.errors import DomainError
from footfall.accounts.invitations import find_invitation
from footfall.accounts.logins import end_session, start_session
from footfall.accounts.users import authenticate, count_users, create_user
from footfall.ingest.user_agent import parse_user_agent
from footfall.meta.models import Invitation
from footfall.web.pages import LOGIN, PUBLIC, Page, page_route, safe_next


def device_label(user_agent: str) -> str:
    """ "Firefox on Linux": what the sessions list shows of a browser (the raw user agent is
    never stored)."""
    info = parse_user_agent(user_agent or "")
    browser = info.browser or "Unknown browser"
    system = info.operating_system
    return f"{browser} on {system}" if system else browser


def log_in(page: Page, user, *, verified: bool = True) -> None:
    token, login = start_session(
        page.db, user, device=device_label(page.request.headers.get("user-agent", "")), verified=verified
    )
    page.remember(token, login)


def home(page: Page) -> Response:
    if page.user is not None:
        return page.redirect("/sites")
    if count_users(page.db) == 0:
        return page.redirect("/register")
    return page.redirect("/login")


def _invitation(page: Page) -> Invitation | None:
    token = page.request.query_params.get("invitation", "")
    if not token:
        return None
    try:
        return find_invitation(page.db, token)
    except DomainError:
        return None


def registration_closed(page: Page) -> str | None:
    """Why `/register` takes nobody now, or None if it does."""
    if count_users(page.db) == 0:
        return None
    mode = page.settings.disable_registration
    if mode == "true":
        return "Registration is closed on this footfall. Ask its administrator for an account."
    if mode == "invite_only" and _invitation(page) is None:
        return (
            "This footfall takes new users by invitation only: open the invitation link you were "
            "sent, or ask a site's owner to invite you."
        )
    return None


def register(page: Page) -> Response:
    if page.user is not None:
        return page.redirect("/sites")
    closed = registration_closed(page)
    first = count_users(page.db) == 0
    invitation = page.request.query_params.get("invitation", "")
    email = page.field("email") or page.request.query_params.get("email", "")
    if closed is not None:
        return page.render("register.html", closed=closed, first=first, email=email)
    errors: dict[str, str] = {}
    if page.posted:
        password = page.form.get("password") if page.form else ""
        confirm = page.form.get("password_confirmation") if page.form else ""
        if password != confirm:
            errors["password_confirmation"] = "The two passwords differ."
        else:
            try:
                user = create_user(
                    page.db, email, password if isinstance(password, str) else "", name=page.field("name")
                )
            except DomainError as error:
                errors[error.field or "email"] = str(error)
            else:
                invited = _invitation(page)
                if (
                    page.settings.disable_registration == "invite_only"
                    and not first
                    and (invited is None or invited.email != user.email)
                ):
                    page.db.rollback()
                    return page.render(
                        "register.html",
                        closed=None,
                        first=False,
                        email=email,
                        name=page.field("name"),
                        errors={"email": "Register with the email address the invitation was sent to."},
                        invitation=invitation,
                        status=400,
                    )
                user.is_admin = first
                log_in(page, user)
                if invitation:
                    return page.redirect(f"/invitations/{invitation}")
                return page.redirect("/sites/new", "Welcome to footfall. Add your first site.")
    return page.render(
        "register.html",
        closed=None,
        first=first,
        email=email,
        name=page.field("name"),
        errors=errors,
        invitation=invitation,
        status=400 if errors else 200,
    )


def login(page: Page) -> Response:
    if page.user is not None:
        return page.redirect(safe_next(page.request.query_params.get("next")))
    if not page.posted and count_users(page.db) == 0:
        return page.redirect("/register")
    next_url = safe_next(page.field("next") or page.request.query_params.get("next"))
    email = page.field("email")
    error = None
    if page.posted:
        password = page.form.get("password") if page.form else ""
        user = authenticate(page.db, email, password if isinstance(password, str) else "")
        if user is None:
            error = "Wrong email or password."
        else:
            log_in(page, user)
            return page.redirect(next_url)
    return page.render("login.html", email=email, error=error, next=next_url, status=401 if error else 200)


def logout(page: Page) -> Response:
    if page.posted:
        session = page.login or page.pending
        if session is not None:
            end_session(page.db, session)
        page.forget()
        return page.redirect("/login", "You are logged out.")
    if page.user is None:
        return page.redirect("/login")
    return page.render("logout.html")


def account_settings(page: Page) -> Response:
    return page.render("account.html")


def account_routes() -> list[BaseRoute]:
    return [
        page_route("/", home, PUBLIC),
        page_route("/register", register, PUBLIC, methods=["GET", "POST"]),
        page_route("/login", login, PUBLIC, methods=["GET", "POST"]),
        page_route("/logout", logout, PUBLIC, methods=["GET", "POST"]),
        page_route("/settings", account_settings, LOGIN),
    ]
