"""The account pages in Debian's chromium against a real `footfall serve`, as a user clicks them.

One server for the module; the tests run in order and build on each other, as a new user's
first hour does: register, add a site, install the snippet, see the first pageview, log out
and in, enrol 2FA, reset a password, invite a colleague, share the dashboard. Screenshots of
every page at 1280 and 360 px go to `$FOOTFALL_SCREENSHOTS` (else a temporary folder); at
360 px no page may be wider than the screen.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from playwright.sync_api import expect

from footfall.web.pages import SETTINGS_TABS
from tests.e2e.conftest import log_in, new_page
from tests.e2e.harness import FootfallServer, PageServer, html, wait_until

OWNER = "owner@shop.test"
PASSWORD = "a long owner passphrase"
SITE = "shop.test"
STATE: dict[str, Any] = {}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, built_tracker: Path) -> Iterator[FootfallServer]:
    footfall = FootfallServer(tmp_path_factory.mktemp("accounts") / "data")
    footfall.start()
    yield footfall
    footfall.stop()


def shows_visitors(page: Any, count: str) -> None:
    """The dashboard's "Unique visitors" top stat reads `count` (it loads after the page)."""
    stat = page.locator(".top-stats .stat", has_text="Unique visitors").first.locator(".stat-value")
    expect(stat).to_have_text(count, timeout=20_000)


def log_line(server: FootfallServer, pattern: str) -> str:
    def found() -> str | None:
        matches = re.findall(pattern, server.log_path.read_text(errors="replace"))
        return matches[-1] if matches else None

    return wait_until(found, f"a log line matching {pattern!r}")


def test_register_add_a_site_install_the_snippet_and_see_the_first_pageview(
    server: FootfallServer, browser: Any, pages: PageServer
) -> None:
    page = new_page(browser)
    page.goto(server.url + "/")
    assert page.url.endswith("/register")
    page.get_by_label("Email").fill(OWNER)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/sites/new")
    page.get_by_label("Domain").fill(SITE)
    page.get_by_label("Reporting time zone").select_option("Europe/Berlin")
    page.get_by_role("button", name="Add site").click()
    page.wait_for_url("**/shop.test/snippet")
    snippet = page.locator("#snippet")
    assert (
        snippet.input_value()
        == f'<script defer data-domain="{SITE}" src="{server.url}/js/script.js"></script>'
    )
    page.get_by_label("outbound-links").check()
    page.get_by_label("hash").check()
    assert f"{server.url}/js/script.hash.outbound-links.js" in snippet.input_value()
    page.get_by_label("hash").uncheck()
    assert f"{server.url}/js/script.outbound-links.js" in snippet.input_value()
    assert "Waiting for the first pageview" in page.content()
    # The owner pastes the tag into their page; a visitor opens it.
    pages.add("/landing", html(head=snippet.input_value(), body="<h1>Shop</h1>"))
    visitor = new_page(browser)
    visitor.goto(pages.url(SITE, "/landing"))
    # Seen: a page the browser keeps hidden is counted only once shown (the tracker's rule).
    visitor.bring_to_front()
    server.wait_acknowledged(1)
    link = page.locator("[data-dashboard-link]")
    link.wait_for(timeout=30_000)
    link.click()
    page.wait_for_url("**/shop.test")
    shows_visitors(page, "1")
    STATE["owner_page"] = page
    visitor.context.close()


def test_log_out_and_in_again(server: FootfallServer, browser: Any) -> None:
    page = STATE["owner_page"]
    page.goto(server.url + "/sites")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login")
    page.goto(server.url + "/sites")
    assert "/login?next=" in page.url
    page.get_by_label("Email").fill(OWNER)
    page.get_by_label("Password").fill("not the password at all")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("alert").inner_text() == "Wrong email or password."
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/sites")
    assert "visitor in the last 24 hours" in page.content()


def test_two_factor_with_a_totp_code_then_a_recovery_code(server: FootfallServer, browser: Any) -> None:
    page = STATE["owner_page"]
    page.goto(server.url + "/settings/2fa")
    assert page.locator(".qr svg").count() == 1
    secret = page.locator("[data-totp-secret]").inner_text()
    page.get_by_label("6-digit code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    codes = page.locator("[data-recovery-codes] code").all_inner_texts()
    assert len(codes) == 10
    STATE["codes"] = codes
    other = new_page(browser)
    log_in(other, server.url, OWNER, PASSWORD)
    other.wait_for_url("**/login/2fa")
    # The next step's code: the enrolment used this one.
    other.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).at(time.time() + 30))
    other.get_by_role("button", name="Verify").click()
    other.wait_for_url("**/sites")
    other.context.close()
    third = new_page(browser)
    log_in(third, server.url, OWNER, PASSWORD)
    third.wait_for_url("**/login/2fa")
    third.get_by_label("Code from your authenticator app").fill(codes[0])
    third.get_by_role("button", name="Verify").click()
    third.wait_for_url("**/sites")
    third.context.close()


def test_reset_a_password_with_the_logged_link(server: FootfallServer, browser: Any) -> None:
    server.cli("user", "create", "--email", "clerk@shop.test", "--password", "the clerk's passphrase")
    page = new_page(browser)
    page.goto(server.url + "/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill("clerk@shop.test")
    page.get_by_role("button", name="Send reset link").click()
    assert "is on its way" in page.content()
    url = log_line(server, r"password reset link for clerk@shop\.test: ([^\s']+)")
    page.goto(url)
    page.get_by_label("New password", exact=True).fill("the clerk's new passphrase")
    page.get_by_label("New password again").fill("the clerk's new passphrase")
    page.get_by_role("button", name="Set password").click()
    page.wait_for_url("**/login")
    log_in(page, server.url, "clerk@shop.test", "the clerk's new passphrase")
    page.wait_for_url("**/sites")
    page.context.close()


def test_invite_a_viewer_who_accepts_and_cannot_reach_settings(server: FootfallServer, browser: Any) -> None:
    owner = STATE["owner_page"]
    owner.goto(server.url + "/shop.test/settings/people")
    owner.get_by_label("Email").fill("viewer@shop.test")
    owner.get_by_label("Role", exact=True).select_option("viewer")
    owner.get_by_role("button", name="Invite").click()
    assert "viewer@shop.test is invited as viewer" in owner.content()
    url = log_line(
        server, r"invitation for viewer@shop\.test to shop\.test as viewer \(from \S+\): ([^\s']+)"
    )
    guest = new_page(browser)
    guest.goto(url)
    guest.get_by_role("link", name="Create an account").click()
    assert guest.get_by_label("Email").input_value() == "viewer@shop.test"
    guest.get_by_label("Password", exact=True).fill("the viewer's passphrase")
    guest.get_by_label("Password again").fill("the viewer's passphrase")
    guest.get_by_role("button", name="Create account").click()
    guest.get_by_role("button", name="Accept invitation").click()
    guest.wait_for_url("**/shop.test")
    shows_visitors(guest, "1")
    assert guest.get_by_role("link", name="Site settings").count() == 0
    response = guest.goto(server.url + "/shop.test/settings/general")
    assert response is not None and response.status == 403
    guest.context.close()


def test_a_shared_link_with_and_without_a_password(server: FootfallServer, browser: Any) -> None:
    owner = STATE["owner_page"]
    owner.goto(server.url + "/shop.test/settings/visibility")
    owner.get_by_label("Name").fill("Board")
    owner.get_by_role("button", name="Make link").click()
    owner.get_by_label("Name").fill("Investors")
    owner.get_by_label("Password (optional)").fill("investor secret")
    owner.get_by_role("button", name="Make link").click()
    plain = owner.get_by_label("Address of Board").input_value()
    guarded = owner.get_by_label("Address of Investors").input_value()
    stranger = new_page(browser)
    stranger.goto(plain)
    shows_visitors(stranger, "1")
    stranger.goto(guarded)
    assert "protected by a password" in stranger.content()
    stranger.get_by_label("Password").fill("wrong guess here")
    stranger.get_by_role("button", name="View dashboard").click()
    assert stranger.get_by_role("alert").inner_text() == "Wrong password."
    stranger.get_by_label("Password").fill("investor secret")
    stranger.get_by_role("button", name="View dashboard").click()
    shows_visitors(stranger, "1")
    response = stranger.goto(server.url + "/shop.test/settings/general")
    assert "/login" in stranger.url and response is not None
    stranger.context.close()


def shoot(page: Any, shots: Path, name: str) -> None:
    """The page at 1280 and at 360 px (which it must fit), into the screenshots folder."""
    for width in (1280, 360):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
        if width == 360:
            scroll = page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= width, f"{name}: {scroll} px wide at 360 px"
    page.set_viewport_size({"width": 1280, "height": 900})


def test_change_email_through_the_link_sent_to_the_new_address(
    server: FootfallServer, browser: Any, shots: Path
) -> None:
    server.cli("user", "create", "--email", "mover@shop.test", "--password", "the mover's passphrase")
    here, there = new_page(browser), new_page(browser)
    for page in (here, there):
        log_in(page, server.url, "mover@shop.test", "the mover's passphrase")
        page.wait_for_url("**/sites")
    here.goto(server.url + "/settings")
    here.get_by_label("New email").fill(OWNER)
    here.get_by_label("Current password").first.fill("the mover's passphrase")
    here.get_by_role("button", name="Change email").click()
    assert f"{OWNER} is taken: another account uses it" in here.get_by_role("alert").inner_text()
    here.get_by_label("New email").fill("moved@shop.test")
    here.get_by_label("Current password").first.fill("the mover's passphrase")
    here.get_by_role("button", name="Change email").click()
    assert "A confirmation link is on its way to moved@shop.test" in here.content()
    assert "Waiting for confirmation" in here.content()
    shoot(here, shots, "account-email-pending")
    url = log_line(
        server, r"email change confirmation link for moved@shop\.test \(now mover@shop\.test\): ([^\s']+)"
    )
    here.goto(url)
    shoot(here, shots, "email-confirm")
    here.get_by_role("button", name="Confirm moved@shop.test").click()
    here.wait_for_url("**/settings")
    assert "Your email is now moved@shop.test" in here.content()
    there.goto(server.url + "/settings")
    assert "/login" in there.url  # the other session ended
    used = here.goto(url)
    assert used is not None and used.status == 400 and "not valid or has been used" in here.content()
    log_in(there, server.url, "moved@shop.test", "the mover's passphrase")
    there.wait_for_url("**/sites")
    here.context.close()
    there.context.close()


def test_transfer_a_site_which_the_new_owner_accepts(
    server: FootfallServer, browser: Any, shots: Path
) -> None:
    owner = STATE["owner_page"]
    owner.goto(server.url + "/sites/new")
    owner.get_by_label("Domain").fill("outlet.test")
    owner.get_by_role("button", name="Add site").click()
    owner.wait_for_url("**/outlet.test/snippet")
    owner.goto(server.url + "/outlet.test/settings/danger-zone")
    owner.get_by_label("New owner's email").fill("viewer@shop.test")
    owner.get_by_role("button", name="Ask them to take over").click()
    assert "viewer@shop.test is asked to take over outlet.test" in owner.content()
    shoot(owner, shots, "settings-danger-zone-pending")
    url = log_line(server, r"ownership transfer of outlet\.test from \S+ to viewer@shop\.test: ([^\s']+)")
    heir = new_page(browser)
    log_in(heir, server.url, "viewer@shop.test", "the viewer's passphrase")
    heir.wait_for_url("**/sites")
    heir.goto(url)
    assert heir.get_by_role("heading", name="Take over outlet.test?").count() == 1
    shoot(heir, shots, "ownership-transfer")
    heir.get_by_role("button", name="Accept ownership").click()
    heir.wait_for_url("**/outlet.test")
    response = heir.goto(server.url + "/outlet.test/settings/danger-zone")
    assert response is not None and response.status == 200
    response = owner.goto(server.url + "/outlet.test/settings/danger-zone")
    assert response is not None and response.status == 403  # an admin now
    response = owner.goto(server.url + "/outlet.test/settings/people")
    assert response is not None and response.status == 200
    heir.context.close()


def test_rename_a_goal_and_allow_a_property_the_page_suggests(
    server: FootfallServer, browser: Any, pages: PageServer, shots: Path
) -> None:
    visitor = new_page(browser)
    before = server.acknowledged()
    visitor.goto(pages.url(SITE, "/landing"))
    # Seen: a page the browser keeps hidden is counted only once shown (the tracker's rule).
    visitor.bring_to_front()
    visitor.evaluate("window.plausible('Signup', {props: {plan: 'pro', coupon: 'WINTER'}})")
    server.wait_acknowledged(before + 2)
    visitor.context.close()
    owner = STATE["owner_page"]
    owner.goto(server.url + "/shop.test/settings/goals")
    owner.get_by_label("Event name").first.fill("Signup")
    owner.get_by_role("button", name="Add goal").nth(1).click()
    owner.locator("summary", has_text="Rename").first.click()
    owner.get_by_label("Display name", exact=True).fill("Trial started")
    owner.get_by_role("button", name="Save name").click()
    assert "The goal 'Signup' is now named 'Trial started'." in owner.content()
    owner.locator("summary", has_text="Rename").first.click()
    shoot(owner, shots, "settings-goals-rename")

    def suggested() -> list[str] | None:
        owner.goto(server.url + "/shop.test/settings/properties")
        found = [" ".join(t.split()) for t in owner.locator("ul.suggestions button").all_inner_texts()]
        return found or None

    assert sorted(wait_until(suggested, "the properties page to suggest the event's keys")) == [
        "Allow coupon",
        "Allow plan",
    ]
    shoot(owner, shots, "settings-properties-suggestions")
    owner.get_by_role("button", name="Allow plan").click()
    assert "The dashboard offers the property 'plan'." in owner.content()
    assert [" ".join(t.split()) for t in owner.locator("ul.suggestions button").all_inner_texts()] == [
        "Allow coupon"
    ]


PAGES = [
    ("login", "/login", False),
    ("register-closed", "/register", False),
    ("password-request", "/password/request-reset", False),
    ("sites", "/sites", True),
    ("sites-new", "/sites/new", True),
    ("snippet", "/shop.test/snippet", True),
    ("site", "/shop.test", True),
    ("account", "/settings", True),
    ("two-factor", "/settings/2fa", True),
    ("instance", "/settings/instance", True),
    *[(f"settings-{slug}", f"/shop.test/settings/{slug}", True) for slug, _label, _role in SETTINGS_TABS],
]


@pytest.mark.parametrize("width", [1280, 360])
def test_screenshots_of_every_page_fit_the_screen(
    server: FootfallServer, browser: Any, shots: Path, width: int
) -> None:
    anonymous = new_page(browser, width)
    owner = new_page(browser, width)
    owner.context.add_cookies(STATE["owner_page"].context.cookies())
    too_wide = []
    for name, path, logged_in in PAGES:
        page = owner if logged_in else anonymous
        response = page.goto(server.url + path)
        assert response is not None and response.status == 200, f"{path}: {response and response.status}"
        page.screenshot(path=str(shots / f"{name}-{width}.png"), full_page=True)
        scroll = page.evaluate("document.documentElement.scrollWidth")
        if scroll > width:
            too_wide.append(f"{path}: {scroll} px")
        # The open settings tab is on screen, though the tabs scroll sideways on a phone.
        tab = page.evaluate(
            "(() => { const t = document.querySelector('.tabs [aria-current=page]');"
            " if (!t) return null; const r = t.getBoundingClientRect(); return [r.left, r.right]; })()"
        )
        if tab is not None:
            assert tab[0] >= 0 and tab[1] <= width, f"{path}: the open tab is at {tab} of {width} px"
        if name == "settings-people" and width == 360:
            # Each member's address keeps a readable width (it once broke after every letter).
            cells = page.evaluate(
                "Array.from(document.querySelectorAll('main table tbody td:first-child'),"
                " td => td.getBoundingClientRect().width)"
            )
            assert cells and min(cells) >= 200, f"address cells {cells} px wide at 360 px"
    assert not too_wide, f"wider than {width} px: {too_wide}"
    anonymous.context.close()
    owner.context.close()
