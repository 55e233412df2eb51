"""Account security: sessions listed and ended, API keys, email and password changes, password
reset by a logged link, password rules, login throttling, two-factor authentication."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pyotp
import pytest
from sqlalchemy import select

from footfall.accounts.throttle import make_throttle, memory_throttle
from footfall.meta.db import session_scope
from footfall.meta.models import ApiKey, LoginSession, PasswordReset, User, utcnow
from tests.web.conftest import PASSWORD

RESET_LOG = re.compile(r"password reset link for (\S+): (\S+)")
NEW = "a brand new passphrase"


def user_row(web, email: str) -> User:
    with session_scope(web.services.sessions) as db:
        return db.scalar(select(User).where(User.email == email))


def test_sessions_are_listed_and_one_can_be_ended_from_another(web):
    web.user("ada@example.com")
    laptop, phone = web.visitor(), web.visitor()
    laptop.log_in("ada@example.com")
    phone.client.headers["user-agent"] = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.5 Mobile/15E148 Safari/604.1"
    )
    phone.log_in("ada@example.com")
    page = laptop.get("/settings").text
    assert "Safari on iOS" in page and "(this one)" in page
    with session_scope(web.services.sessions) as db:
        rows = db.scalars(select(LoginSession).order_by(LoginSession.id)).all()
        phone_id = rows[1].id
        assert all("Mozilla" not in row.device for row in rows)  # no raw user agent is kept
    assert (
        laptop.post("/settings", {"action": "revoke_session", "session_id": str(phone_id)}).status_code == 303
    )
    assert phone.get("/settings").headers["location"].startswith("/login")
    assert laptop.get("/settings").status_code == 200
    # Nobody ends another user's session.
    web.user("eve@example.com")
    eve = web.visitor()
    eve.log_in("eve@example.com")
    with session_scope(web.services.sessions) as db:
        ada_session = db.scalar(select(LoginSession.id).join(User).where(User.email == "ada@example.com"))
    refused = eve.post("/settings", {"action": "revoke_session", "session_id": str(ada_session)})
    assert refused.status_code == 400 and "no such session" in refused.text


def test_api_keys_are_shown_once_listed_scoped_and_revoked(web):
    web.user("ada@example.com")
    web.site("example.com", "ada@example.com")
    visitor = web.visitor()
    visitor.log_in("ada@example.com")
    made = visitor.post("/settings", {"action": "create_key", "name": "CI", "scope": "stats"})
    raw = re.search(r'value="(ff_[^"]+)"', made.text).group(1)
    assert made.status_code == 200 and "footfall shows it only once" in made.text
    listing = visitor.get("/settings").text
    assert raw not in listing and raw[:8] in listing and "Stats API" in listing
    body = {"site_id": "example.com", "metrics": ["visitors"], "date_range": "day"}
    api = web.visitor().client
    assert api.post("/api/v2/query", json=body, headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    # A Stats API key may not change sites.
    put = api.put(
        "/api/v1/sites/example.com",
        json={"timezone": "Asia/Tokyo"},
        headers={"Authorization": f"Bearer {raw}"},
    )
    assert put.status_code == 401
    with session_scope(web.services.sessions) as db:
        stored = db.scalar(select(ApiKey))
        assert stored.scope == "stats:read:*" and raw not in stored.key_hash
    visitor.post("/settings", {"action": "revoke_key", "key_id": str(stored.id)})
    assert api.post("/api/v2/query", json=body, headers={"Authorization": f"Bearer {raw}"}).status_code == 401
    bad = visitor.post("/settings", {"action": "create_key", "name": "x", "scope": "root"})
    assert bad.status_code == 400 and "scope must be one of" in bad.text


def test_changing_password_or_email_ends_the_other_sessions(web):
    web.user("ada@example.com")
    here, there = web.visitor(), web.visitor()
    here.log_in("ada@example.com")
    there.log_in("ada@example.com")
    wrong = here.post(
        "/settings",
        {
            "action": "password",
            "current_password": "not it at all",
            "password": NEW,
            "password_confirmation": NEW,
        },
    )
    assert wrong.status_code == 400 and "current password is wrong" in wrong.text
    common = here.post(
        "/settings",
        {
            "action": "password",
            "current_password": PASSWORD,
            "password": "Password12345",
            "password_confirmation": "Password12345",
        },
    )
    assert common.status_code == 400 and "among the most common" in common.text
    assert there.get("/settings").status_code == 200
    done = here.post(
        "/settings",
        {"action": "password", "current_password": PASSWORD, "password": NEW, "password_confirmation": NEW},
    )
    assert done.status_code == 303
    assert there.get("/settings").headers["location"].startswith("/login")
    assert here.get("/settings").status_code == 200
    # The email change: see tests/web/test_email_change.py (it waits for the mailed link).


def test_password_reset_by_the_logged_single_use_expiring_link(web, caplog):
    web.user("ada@example.com")
    caplog.set_level(logging.INFO, logger="footfall.accounts")
    logged_in = web.visitor()
    logged_in.log_in("ada@example.com")
    visitor = web.visitor()
    asked = visitor.post("/password/request-reset", {"email": "ada@example.com"})
    assert "a link to reset its password is on its way" in asked.text
    nobody = visitor.post("/password/request-reset", {"email": "nobody@example.com"})
    assert "a link to reset its password is on its way" in nobody.text  # the same answer
    ((email, url),) = [
        RESET_LOG.search(r.getMessage()).groups() for r in caplog.records if RESET_LOG.search(r.getMessage())
    ]
    assert email == "ada@example.com"
    path = url.removeprefix(web.services.settings.base_url)
    form = visitor.get(path)
    assert form.status_code == 200 and "Choose a new password" in form.text
    token = path.split("token=", 1)[1]
    short = visitor.post(
        "/password/reset",
        {"token": token, "password": "short", "password_confirmation": "short"},
        csrf_from=path,
    )
    assert short.status_code == 400 and "at least 12 characters" in short.text
    done = visitor.post(
        "/password/reset", {"token": token, "password": NEW, "password_confirmation": NEW}, csrf_from=path
    )
    assert done.headers["location"] == "/login"
    assert logged_in.get("/settings").headers["location"].startswith("/login")  # every session ended
    web.visitor().log_in("ada@example.com", NEW)
    used = web.visitor().get(path)
    assert used.status_code == 400 and "has been used" in used.text
    # A new link expires.
    caplog.clear()
    visitor.post("/password/request-reset", {"email": "ada@example.com"})
    path = RESET_LOG.search(caplog.text).group(2).removeprefix(web.services.settings.base_url)
    with session_scope(web.services.sessions) as db:
        for reset in db.scalars(select(PasswordReset)):
            reset.expires_at = utcnow() - timedelta(seconds=1)
    expired = web.visitor().get(path)
    assert expired.status_code == 400 and "expired" in expired.text


def test_ten_failed_logins_for_one_email_answer_429_saying_when(web):
    web.user("ada@example.com")
    web.user("bob@example.com")
    attacker = web.visitor()
    attacker.client.headers["x-forwarded-for"] = "203.0.113.66"
    for _ in range(10):
        assert (
            attacker.post("/login", {"email": "ada@example.com", "password": "guess guess guess"}).status_code
            == 401
        )
    refused = attacker.post("/login", {"email": "ada@example.com", "password": PASSWORD})
    assert refused.status_code == 429 and "Try again after" in refused.text
    assert 1 <= int(refused.headers["Retry-After"]) <= 900
    # The same address is also at its limit of failures, so another email from it waits too;
    # from another address (a trusted proxy names it) the other email logs in.
    assert attacker.post("/login", {"email": "bob@example.com", "password": PASSWORD}).status_code == 429
    elsewhere = web.visitor()
    elsewhere.client.headers["x-forwarded-for"] = "198.51.100.23"
    assert elsewhere.post("/login", {"email": "bob@example.com", "password": PASSWORD}).status_code == 303
    assert elsewhere.post("/login", {"email": "ada@example.com", "password": PASSWORD}).status_code in (
        303,
        429,
    )


def test_failed_and_throttled_logins_are_counted_on_metrics_by_reason_without_addresses(web):
    from prometheus_client import REGISTRY

    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    before = {
        "wrong": sample("footfall_login_failures_total", reason="wrong_password"),
        "unknown": sample("footfall_login_failures_total", reason="unknown_email"),
        "code": sample("footfall_login_failures_total", reason="wrong_second_factor"),
        "throttled": sample("footfall_login_throttled_total", step="login"),
        "reset": sample("footfall_login_throttled_total", step="password_reset"),
    }
    web.user("ada@example.com")
    attacker = web.visitor()
    attacker.client.headers["x-forwarded-for"] = "203.0.113.77"
    for _ in range(7):
        attacker.post("/login", {"email": "ada@example.com", "password": "guess guess guess"})
    for _ in range(3):
        attacker.post("/login", {"email": "nobody@example.com", "password": "guess guess guess"})
    assert attacker.post("/login", {"email": "ada@example.com", "password": PASSWORD}).status_code == 429
    assert attacker.post("/password/request-reset", {"email": "ada@example.com"}).status_code == 429
    assert sample("footfall_login_failures_total", reason="wrong_password") == before["wrong"] + 7
    assert sample("footfall_login_failures_total", reason="unknown_email") == before["unknown"] + 3
    assert sample("footfall_login_failures_total", reason="wrong_second_factor") == before["code"]
    assert sample("footfall_login_throttled_total", step="login") == before["throttled"] + 1
    assert sample("footfall_login_throttled_total", step="password_reset") == before["reset"] + 1
    exposed = web.visitor().get("/metrics")
    assert exposed.status_code == 200 and "footfall_login_failures_total" in exposed.text
    login_lines = [line for line in exposed.text.splitlines() if "footfall_login" in line]
    assert login_lines and not any("@" in line or "203.0.113" in line for line in login_lines)


def test_the_throttle_window_slides_in_memory():
    now = [1_000_000.0]
    throttle = memory_throttle(clock=lambda: now[0])
    for second in range(10):
        now[0] = 1_000_000.0 + second * 10
        throttle.failed(["ada"])
    assert throttle.retry_after(["bob"]) is None
    assert throttle.retry_after(["ada"]) == 900 - 90
    now[0] = 1_000_000.0 + 900.5  # the first failure has left the window
    assert throttle.retry_after(["ada"]) is None


@pytest.mark.redis
def test_the_throttle_in_redis_is_shared_by_replicas(redis_url):
    now = [2_000_000.0]
    prefix = f"footfall:test:login:{os.getpid()}:"
    one = make_throttle(redis_url, prefix=prefix, clock=lambda: now[0])
    two = make_throttle(redis_url, prefix=prefix, clock=lambda: now[0])
    try:
        for index in range(10):
            now[0] += 1
            (one if index % 2 else two).failed(["ada"])
        assert one.retry_after(["ada"]) == two.retry_after(["ada"]) == 900 - 9
        assert one.retry_after(["bob"]) is None
        now[0] += 900
        assert two.retry_after(["ada"]) is None
    finally:
        one.close()
        two.close()


def test_two_factor_with_totp_then_a_recovery_code_and_reset_from_the_cli(web, tmp_path):
    web.user("ada@example.com")
    visitor = web.visitor()
    visitor.log_in("ada@example.com")
    setup = visitor.get("/settings/2fa").text
    assert "<svg" in setup
    secret = re.search(r"data-totp-secret>([A-Z2-7]+)<", setup).group(1)
    wrong = visitor.post(
        "/settings/2fa", {"action": "confirm", "code": "000000"}, token=visitor.csrf("/settings")
    )
    assert wrong.status_code == 400 and "does not match" in wrong.text
    codes_page = visitor.post(
        "/settings/2fa",
        {"action": "confirm", "code": pyotp.TOTP(secret).now()},
        token=visitor.csrf("/settings"),
    )
    codes = re.findall(r"<li><code>([0-9a-f]{8}-[0-9a-f]{8})</code></li>", codes_page.text)
    assert len(codes) == 10 and len(set(codes)) == 10
    enabled = visitor.get("/settings/2fa").text
    assert "Two-factor authentication is on" in enabled and "data-totp-secret" not in enabled
    # Login asks for the code after the password; the password alone reaches nothing.
    second = web.visitor()
    assert second.log_in("ada@example.com").headers["location"] == "/login/2fa"
    assert second.get("/sites").headers["location"].startswith("/login")
    bad = second.post("/login/2fa", {"code": "123456"})
    assert bad.status_code == 401
    code = pyotp.TOTP(secret).at(time.time() + 30)  # the next step: not the one used to enrol
    assert second.post("/login/2fa", {"code": code}).headers["location"] == "/sites"
    assert second.get("/sites").status_code == 200
    # A code is good once.
    replay = web.visitor()
    replay.log_in("ada@example.com")
    assert replay.post("/login/2fa", {"code": code}).status_code == 401
    # A recovery code works, once.
    assert replay.post("/login/2fa", {"code": codes[3]}).status_code == 303
    spent = web.visitor()
    spent.log_in("ada@example.com")
    assert spent.post("/login/2fa", {"code": codes[3]}).status_code == 401
    assert "9 recovery codes left" in replay.get("/settings").text
    # footfall user reset-2fa EMAIL, for an admin whose user is locked out.
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path / "cli"),
        "DATABASE_URL": web.services.settings.database_url,
    }
    footfall = str(Path(sys.executable).parent / "footfall")
    done = subprocess.run(
        [footfall, "user", "reset-2fa", "ada@example.com"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    assert "two-factor authentication of ada@example.com turned off" in done.stdout
    assert user_row(web, "ada@example.com").totp_secret is None
    assert replay.get("/sites").headers["location"].startswith("/login")  # sessions ended
    assert web.visitor().log_in("ada@example.com").headers["location"] == "/sites"
    unknown = subprocess.run(
        [footfall, "user", "reset-2fa", "nobody@example.com"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert unknown.returncode != 0 and unknown.stderr.startswith("footfall: error: no user with email")
