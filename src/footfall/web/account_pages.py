"""The front door: `/`, `/register`, `/login`, `/logout`, and the account page `/settings`.

Registration: the first user of a fresh instance registers and becomes its admin; after
that `DISABLE_REGISTRATION` decides (`false`: anyone, `true`: nobody, `invite_only`, the
default: only someone holding an invitation link to a site). How to add a page: see
`footfall.web.pages`.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import segno
from markupsafe import Markup
from sqlalchemy import select
from starlette.responses import Response
from starlette.routing import BaseRoute

from footfall.accounts import email_changes, resets, twofactor
from footfall.accounts.apikeys import create_api_key
from footfall.accounts.errors import DomainError
from footfall.accounts.invitations import find_invitation
from footfall.accounts.logins import (
    end_all_sessions,
    end_other_sessions,
    end_session,
    end_session_by_id,
    list_sessions,
    start_session,
)
from footfall.accounts.metrics import login_failed, login_throttled
from footfall.accounts.notify import (
    deliver_email_change,
    deliver_email_changed,
    deliver_password_reset,
    deliver_two_factor_notice,
)
from footfall.accounts.passwords import verify_password
from footfall.accounts.throttle import Throttle, make_throttle, subject
from footfall.accounts.users import authenticate, change_password, count_users, create_user, user_exists
from footfall.ingest.client_ip import ClientIpResolver
from footfall.ingest.user_agent import parse_user_agent
from footfall.meta.models import ApiKey, Invitation
from footfall.services import LOGIN_THROTTLE
from footfall.web.pages import LOGIN, PENDING_2FA, PUBLIC, Page, page_route, safe_next
from footfall.web.stats_api import row_id

_lock = threading.Lock()


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


def _throttle(page: Page) -> Throttle:
    extras = page.services.extras
    throttle = extras.get(LOGIN_THROTTLE)
    if throttle is None:
        with _lock:
            throttle = extras.get(LOGIN_THROTTLE)
            if throttle is None:
                throttle = extras[LOGIN_THROTTLE] = make_throttle(page.settings.redis_url)
    return throttle


def _subjects(page: Page, email: str) -> list[str]:
    """Whom failures are counted against: the email and the client address, as HMACs."""
    client = page.request.client
    address = ClientIpResolver(page.settings.trusted_proxies).resolve(
        client.host if client else None, page.request.headers
    )
    secret = page.settings.secret_key_base
    return [subject(secret, "email", email), subject(secret, "address", address)]


def too_many_attempts(page: Page, wait: int) -> Response:
    until = datetime.now(UTC) + timedelta(seconds=wait)
    minutes = max(1, (wait + 59) // 60)
    response = page.render(
        "error.html",
        status=429,
        status_code=429,
        message=f"Too many failed attempts. Try again after {until:%H:%M} UTC "
        f"(in {minutes} minute{'s' if minutes != 1 else ''}).",
    )
    response.headers["Retry-After"] = str(wait)
    return response


def login(page: Page) -> Response:
    if page.user is not None:
        return page.redirect(safe_next(page.request.query_params.get("next")))
    if page.pending is not None and not page.posted:
        return page.redirect("/login/2fa")
    if not page.posted and count_users(page.db) == 0:
        return page.redirect("/register")
    next_url = safe_next(page.field("next") or page.request.query_params.get("next"))
    email = page.field("email")
    error = None
    if page.posted:
        subjects = _subjects(page, email)
        wait = _throttle(page).retry_after(subjects)
        if wait is not None:
            login_throttled("login")
            return too_many_attempts(page, wait)
        password = page.form.get("password") if page.form else ""
        user = authenticate(page.db, email, password if isinstance(password, str) else "")
        if user is None:
            login_failed("wrong_password" if user_exists(page.db, email) else "unknown_email")
            _throttle(page).failed(subjects)
            error = "Wrong email or password."
        elif user.totp_secret:
            log_in(page, user, verified=False)
            assert page.pending is not None
            page.pending.data = {"next": next_url}
            return page.redirect("/login/2fa")
        else:
            log_in(page, user)
            return page.redirect(next_url)
    return page.render("login.html", email=email, error=error, next=next_url, status=401 if error else 200)


def second_factor(page: Page) -> Response:
    """After the password, for a user with 2FA: a code from their app, or a recovery code."""
    pending = page.pending
    assert pending is not None
    error = None
    if page.posted:
        subjects = _subjects(page, pending.user.email)
        wait = _throttle(page).retry_after(subjects)
        if wait is not None:
            login_throttled("second_factor")
            return too_many_attempts(page, wait)
        if twofactor.verify_code(page.db, pending.user, page.field("code")):
            pending.verified = True
            next_url = safe_next((pending.data or {}).get("next"))
            pending.data = None
            return page.redirect(next_url)
        login_failed("wrong_second_factor")
        _throttle(page).failed(subjects)
        error = "That code is not valid. Type the 6 digits your app shows now, or a recovery code."
    return page.render("login_2fa.html", error=error, status=401 if error else 200)


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


def _revoke_session(page: Page) -> str:
    assert page.user is not None
    session_id = row_id(page.field("session_id"))
    if session_id is None or not end_session_by_id(page.db, page.user, session_id):
        raise DomainError("no such session", field="session_id")
    return "The session is ended: that browser is logged out."


def _change_email(page: Page) -> str:
    """Ask for a new email: nothing changes until the link mailed to the new address is opened."""
    assert page.user is not None
    token, change = email_changes.request_change(
        page.db, page.user, _raw(page, "current_password"), page.field("email")
    )
    url = f"{page.settings.base_url}/settings/email/confirm?token={token}"
    deliver_email_change(page.db, page.settings, page.user.email, change.new_email, url)
    return (
        f"A confirmation link is on its way to {change.new_email}. Your email stays {page.user.email} "
        f"until you open it (within {email_changes.VALID_HOURS} hours)."
    )


def _cancel_email_change(page: Page) -> str:
    assert page.user is not None
    if not email_changes.cancel_change(page.db, page.user):
        raise DomainError("no change of email is waiting for confirmation", field="email")
    return f"The change of email is cancelled; your email stays {page.user.email}."


def confirm_email(page: Page) -> Response:
    """`/settings/email/confirm?token=`: the link mailed to the new address. GET shows what
    will change (so a mail scanner opening the link changes nothing); POST confirms it. The
    token is the permission, as for a password reset; the old address is told, and every
    session of the user but this one ends."""
    token = page.field("token") or page.request.query_params.get("token", "")
    try:
        change = email_changes.find_change(page.db, token)
    except DomainError as error:
        return page.error(400, str(error))
    if not page.posted:
        return page.render("email_confirm.html", change=change, token=token)
    try:
        with page.db.begin_nested():
            user, old = email_changes.confirm_change(page.db, token)
    except DomainError as error:
        return page.error(409, str(error))
    keep = page.login if page.login is not None and page.login.user_id == user.id else None
    if keep is None:
        end_all_sessions(page.db, user)
    else:
        end_other_sessions(page.db, user, keep)
    deliver_email_changed(page.db, page.settings, old, user.email)
    if keep is None:
        page.forget()
        return page.redirect("/login", f"Your email is now {user.email}. Log in with it.")
    return page.redirect("/settings", f"Your email is now {user.email}; your other sessions are ended.")


def _change_password(page: Page) -> str:
    assert page.user is not None
    new = _raw(page, "password")
    if new != _raw(page, "password_confirmation"):
        raise DomainError("the two new passwords differ", field="password_confirmation")
    change_password(page.db, page.user, _raw(page, "current_password"), new)
    end_other_sessions(page.db, page.user, page.login)
    return "Your password is changed; your other sessions are ended."


def _revoke_key(page: Page) -> str:
    assert page.user is not None
    key_id = row_id(page.field("key_id"))
    key = page.db.get(ApiKey, key_id) if key_id is not None else None
    if key is None or key.user_id != page.user.id:
        raise DomainError("no such API key", field="key_id")
    page.db.delete(key)
    page.db.flush()
    return f"The API key {key.name!r} is revoked."


def _raw(page: Page, name: str) -> str:
    value = page.form.get(name) if page.form else None
    return value if isinstance(value, str) else ""


_ACCOUNT_ACTIONS = {
    "revoke_session": _revoke_session,
    "email": _change_email,
    "cancel_email": _cancel_email_change,
    "password": _change_password,
    "revoke_key": _revoke_key,
}


def account_settings(page: Page) -> Response:
    assert page.user is not None
    error = None
    error_field = None
    new_key = None
    if page.posted:
        action = page.field("action")
        try:
            with page.db.begin_nested():
                if action == "create_key":
                    raw, key = create_api_key(page.db, page.user, page.field("name"), page.field("scope"))
                    new_key = (raw, key)
                elif action in _ACCOUNT_ACTIONS:
                    return page.redirect("/settings", _ACCOUNT_ACTIONS[action](page))
                else:
                    raise DomainError("unknown action")
        except DomainError as failure:
            error = str(failure)
            error_field = f"{action}:{failure.field}"
    keys = page.db.scalars(select(ApiKey).where(ApiKey.user_id == page.user.id).order_by(ApiKey.id)).all()
    return page.render(
        "account.html",
        sessions=list_sessions(page.db, page.user),
        keys=keys,
        new_key=new_key,
        error=error,
        recovery_left=twofactor.recovery_codes_left(page.db, page.user),
        email_change=email_changes.pending_change(page.db, page.user),
        error_field=error_field,
        status=400 if error else 200,
    )


def two_factor_settings(page: Page) -> Response:
    """Enrol (secret + QR code, confirmed by a code; then 10 recovery codes shown once) or
    turn two-factor authentication off (with the password)."""
    assert page.user is not None and page.login is not None
    user, error = page.user, None
    action = page.field("action") if page.posted else ""
    if action == "disable":
        if verify_password(user.password_hash, _raw(page, "current_password")):
            twofactor.disable(page.db, user)
            deliver_two_factor_notice(page.db, page.settings, user.email, enabled=False)
            return page.redirect("/settings", "Two-factor authentication is off.")
        error = "The current password is wrong."
    elif action == "confirm":
        secret = (page.login.data or {}).get("totp_secret")
        if not secret:
            error = "Start again: the enrolment had expired."
        else:
            try:
                codes = twofactor.enable(page.db, user, secret, page.field("code"))
            except DomainError as failure:
                error = str(failure)
            else:
                page.login.data = None
                deliver_two_factor_notice(page.db, page.settings, user.email, enabled=True)
                return page.render("twofactor_codes.html", codes=codes)
    elif action == "recovery":
        if verify_password(user.password_hash, _raw(page, "current_password")) and user.totp_secret:
            return page.render("twofactor_codes.html", codes=twofactor.new_recovery_codes(page.db, user))
        error = "The current password is wrong."
    if user.totp_secret:
        return page.render("twofactor.html", enabled=True, error=error, status=400 if error else 200)
    secret = (page.login.data or {}).get("totp_secret")
    if not secret or action == "start":
        secret = twofactor.new_secret()
        page.login.data = {"totp_secret": secret}
    uri = twofactor.provisioning_uri(secret, user.email)
    qr = segno.make(uri, error="m").svg_inline(scale=4, title="QR code for your authenticator app")
    return page.render(
        "twofactor.html",
        enabled=False,
        secret=secret,
        qr=Markup(qr),
        error=error,
        status=400 if error else 200,
    )


def request_reset(page: Page) -> Response:
    sent = False
    if page.posted:
        subjects = _subjects(page, page.field("email"))
        wait = _throttle(page).retry_after(subjects)
        if wait is not None:
            login_throttled("password_reset")
            return too_many_attempts(page, wait)
        found = resets.request_reset(page.db, page.field("email"))
        if found is not None:
            user, token = found
            deliver_password_reset(
                page.db, page.settings, user.email, f"{page.settings.base_url}/password/reset?token={token}"
            )
        sent = True
    return page.render("password_request.html", sent=sent, email=page.field("email"))


def reset_password(page: Page) -> Response:
    token = page.field("token") or page.request.query_params.get("token", "")
    try:
        resets.find_reset(page.db, token)
    except DomainError as error:
        return page.render(
            "error.html", status=400, status_code=400, message=str(error) + " (/password/request-reset)"
        )
    errors: dict[str, str] = {}
    if page.posted:
        new = _raw(page, "password")
        if new != _raw(page, "password_confirmation"):
            errors["password_confirmation"] = "The two passwords differ."
        else:
            try:
                with page.db.begin_nested():
                    resets.reset_password(page.db, token, new)
            except DomainError as failure:
                errors[failure.field or "password"] = str(failure)
            else:
                page.forget()
                return page.redirect("/login", "Your password is changed. Log in with it.")
    return page.render("password_reset.html", token=token, errors=errors, status=400 if errors else 200)


def account_routes() -> list[BaseRoute]:
    return [
        page_route("/", home, PUBLIC),
        page_route("/register", register, PUBLIC, methods=["GET", "POST"]),
        page_route("/login", login, PUBLIC, methods=["GET", "POST"]),
        page_route("/logout", logout, PUBLIC, methods=["GET", "POST"]),
        page_route("/login/2fa", second_factor, PENDING_2FA, methods=["GET", "POST"]),
        page_route("/settings", account_settings, LOGIN, methods=["GET", "POST"]),
        page_route("/settings/2fa", two_factor_settings, LOGIN, methods=["GET", "POST"]),
        page_route("/settings/email/confirm", confirm_email, PUBLIC, methods=["GET", "POST"]),
        page_route("/password/request-reset", request_reset, PUBLIC, methods=["GET", "POST"]),
        page_route("/password/reset", reset_password, PUBLIC, methods=["GET", "POST"]),
    ]
