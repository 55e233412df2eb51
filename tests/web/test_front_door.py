"""The front door: where `/` sends whom, registration modes, login, logout, the session cookie."""

from __future__ import annotations

from sqlalchemy import select

from footfall.meta.db import session_scope
from footfall.meta.models import LoginSession, User
from tests.web.conftest import PASSWORD


def register(visitor, email: str, password: str = PASSWORD, confirm: str | None = None, query: str = ""):
    return visitor.post(
        "/register" + query,
        {"email": email, "password": password, "password_confirmation": confirm or password},
        csrf_from="/login",
    )


def test_a_fresh_instance_sends_the_visitor_to_register_and_the_first_user_becomes_admin(web):
    visitor = web.visitor()
    assert web.visitor().get("/").headers["location"] == "/register"
    assert web.visitor().get("/login").headers["location"] == "/register"
    answer = register(visitor, "First@Example.com")
    assert answer.status_code == 303 and answer.headers["location"] == "/sites/new"
    assert visitor.get("/").headers["location"] == "/sites"
    with session_scope(web.services.sessions) as db:
        first = db.scalar(select(User).where(User.email == "first@example.com"))
        assert first.is_admin
    # After the first user, the default DISABLE_REGISTRATION (invite_only) takes nobody uninvited.
    other = web.visitor()
    assert other.get("/").headers["location"] == "/login"
    page = other.get("/register")
    assert "by invitation only" in page.text
    assert register(other, "second@example.com").status_code == 200
    with session_scope(web.services.sessions) as db:
        assert db.scalar(select(User).where(User.email == "second@example.com")) is None


def test_registration_open_takes_anyone_and_closed_takes_nobody(web_factory):
    open_web = web_factory(DISABLE_REGISTRATION="false")
    open_web.user("first@example.com")
    visitor = open_web.visitor()
    assert register(visitor, "second@example.com").status_code == 303
    with session_scope(open_web.services.sessions) as db:
        second = db.scalar(select(User).where(User.email == "second@example.com"))
        assert second is not None and not second.is_admin

    closed = web_factory(DISABLE_REGISTRATION="true")
    closed.user("first@example.com")
    page = closed.visitor().get("/register")
    assert "Registration is closed" in page.text
    assert register(closed.visitor(), "second@example.com").status_code == 200
    with session_scope(closed.services.sessions) as db:
        assert db.scalar(select(User).where(User.email == "second@example.com")) is None


def test_registration_says_what_is_wrong_with_the_form(web):
    visitor = web.visitor()
    short = register(visitor, "a@example.com", "short")
    assert short.status_code == 400 and "at least 12 characters" in short.text
    differ = register(visitor, "a@example.com", PASSWORD, confirm=PASSWORD + "x")
    assert differ.status_code == 400 and "The two passwords differ" in differ.text
    bad_email = register(visitor, "not-an-email")
    assert bad_email.status_code == 400 and "not a valid email address" in bad_email.text


def test_login_and_logout(web):
    web.user("ada@example.com")
    visitor = web.visitor()
    wrong = visitor.post("/login", {"email": "ada@example.com", "password": "wrong password here"})
    assert wrong.status_code == 401 and "Wrong email or password" in wrong.text
    answer = visitor.post("/login", {"email": "ada@example.com", "password": PASSWORD, "next": "/settings"})
    assert answer.headers["location"] == "/settings"
    assert visitor.get("/settings").status_code == 200
    # A next= that leaves the site is ignored.
    again = web.visitor()
    evil = again.post(
        "/login", {"email": "ada@example.com", "password": PASSWORD, "next": "//evil.example/x"}
    )
    assert evil.headers["location"] == "/sites"
    out = visitor.post("/logout", csrf_from="/sites")
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert visitor.get("/settings").headers["location"].startswith("/login?next=")
    with session_scope(web.services.sessions) as db:
        assert len(db.scalars(select(LoginSession)).all()) == 1  # only `again`'s session is left


def test_the_session_cookie_is_httponly_lax_signed_and_secure_behind_https(web_factory):
    plain = web_factory()
    plain.user("ada@example.com")
    visitor = plain.visitor()
    cookie = visitor.log_in("ada@example.com").headers["set-cookie"]
    assert "footfall_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie
    # A cookie whose signature does not match is no session.
    token = visitor.client.cookies["footfall_session"]
    forged = plain.visitor()
    forged.client.cookies.set("footfall_session", token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    assert forged.get("/settings").status_code == 303

    https = web_factory(BASE_URL="https://stats.example.com")
    https.user("ada@example.com")
    secure = https.visitor("https://stats.example.com")
    cookie = secure.log_in("ada@example.com").headers["set-cookie"]
    assert "Secure" in cookie


def test_a_form_post_without_a_valid_csrf_token_is_403(web):
    web.user("ada@example.com")
    visitor = web.visitor()
    missing = visitor.post("/login", {"email": "ada@example.com", "password": PASSWORD}, token="")
    assert missing.status_code == 403
    wrong = visitor.post("/login", {"email": "ada@example.com", "password": PASSWORD}, token="x" * 43)
    assert wrong.status_code == 403
    visitor.log_in("ada@example.com")
    # The token before login does not work after it: it was bound to the anonymous cookie.
    stale = web.visitor()
    old = stale.csrf("/login")
    stale.log_in("ada@example.com")
    assert stale.post("/sites/new", {"domain": "a.example"}, token=old).status_code == 403
    # Another user's token is refused too.
    assert (
        visitor.post("/sites/new", {"domain": "a.example"}, token=stale.csrf("/sites/new")).status_code == 403
    )
    assert visitor.post("/sites/new", {"domain": "a.example"}).status_code == 303


def test_every_page_shell_names_the_icon_and_favicon_ico_answers_it_to_anyone(web):
    """Browsers ask `/favicon.ico` of every page; it must not fall through to `/:domain` (a 404
    for a member, a redirect to /login for anyone else)."""
    visitor = web.visitor()
    for path in ("/favicon.ico", "/assets/favicon.svg"):
        answer = visitor.get(path)
        assert answer.status_code == 200, path
        assert answer.headers["content-type"] == "image/svg+xml"
        assert answer.text.startswith("<svg ")
    assert '<link rel="icon" href="/assets/favicon.svg"' in visitor.get("/register").text
    from footfall.web.dashboard import page_html

    assert "<link rel=icon href=/assets/favicon.svg type=image/svg+xml>" in page_html({}, "demo.test")
