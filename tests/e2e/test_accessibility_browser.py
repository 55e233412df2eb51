"""Every page and the dashboard's main views, checked by axe-core (the accessibility engine
browser vendors and auditors use) in Debian's chromium, light and dark: no violation axe rates
serious or critical (missing labels and names, contrast too low, broken ARIA, keyboard traps).

axe-core comes from tests/e2e/npm-trackers' lockfile (`make e2e-npm`, which `make test` runs).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from footfall.web.pages import SETTINGS_TABS
from tests.e2e.conftest import logged_in_page, new_page
from tests.e2e.harness import FootfallServer

AXE = Path(__file__).with_name("npm-trackers") / "node_modules" / "axe-core" / "axe.min.js"
OWNER = "owner@a11y.test"
PASSWORD = "a long owner passphrase"
SITE = "a11y.test"

ANONYMOUS = ["/login", "/password/request-reset", "/register"]
MEMBER = [
    "/sites",
    "/sites/new",
    "/sites/compare",
    f"/{SITE}/snippet",
    "/settings",
    "/settings/2fa",
    "/settings/instance",
    *(f"/{SITE}/settings/{slug}" for slug, _label, _role in SETTINGS_TABS),
]
DASHBOARD = [
    f"/{SITE}?period=7d",
    f"/{SITE}?period=7d&details=pages:pages",
    f"/{SITE}?period=realtime",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FootfallServer]:
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `make e2e-npm`")
    footfall = FootfallServer(tmp_path_factory.mktemp("a11y") / "data")
    footfall.start()
    footfall.cli("user", "create", "--email", OWNER, "--password", PASSWORD)
    footfall.cli("demo", "--domain", SITE, "--events", "3000", "--days", "7", "--owner", OWNER)
    footfall.cli("site", "create", "second.a11y.test", "--owner", OWNER)
    footfall.cli("funnel", "create", SITE, "--name", "Signup", "--step", "/pricing", "--step", "/signup")
    yield footfall
    footfall.stop()


def violations(page: Any) -> list[str]:
    """axe's serious and critical violations on the page as it stands, one line each."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        """async () => {
            const result = await axe.run(document, { resultTypes: ["violations"] });
            return result.violations
                .filter((v) => v.impact === "serious" || v.impact === "critical")
                .map((v) => ({ id: v.id, impact: v.impact, help: v.help,
                               nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
        }"""
    )
    return [f"{v['id']} ({v['impact']}): {v['help']} at {json.dumps(v['nodes'])}" for v in found]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_page_has_a_serious_accessibility_violation(
    server: FootfallServer, browser: Any, scheme: str
) -> None:
    anonymous = new_page(browser, 1280, color_scheme=scheme)
    owner = logged_in_page(browser, server.url, OWNER, PASSWORD, color_scheme=scheme)
    found: dict[str, list[str]] = {}
    for page, paths in ((anonymous, ANONYMOUS), (owner, MEMBER + DASHBOARD)):
        for path in paths:
            response = page.goto(server.url + path)
            assert response is not None and response.status == 200, path
            if path in DASHBOARD:
                # Every panel has its numbers (or says it has none) before it is checked.
                page.wait_for_function(
                    "() => document.querySelector('#dashboard .top-stats') &&"
                    " !document.querySelector('.panel-loading, .spinner')"
                )
            if problems := violations(page):
                found[path] = problems
    # The dashboard's dialogs and menus, open.
    owner.goto(f"{server.url}/{SITE}?period=7d")
    for name, opened in (
        ("+ Filter", "dialog.dialog[open]"),
        ("Options", ".menu-list"),
        ("Segments", ".menu-list"),
    ):
        owner.keyboard.press("Escape")
        owner.get_by_role("button", name=name).first.click()
        owner.locator(opened).first.wait_for()
        if problems := violations(owner):
            found[f"the dashboard with {name!r} open"] = problems
    anonymous.context.close()
    owner.context.close()
    assert not found, "\n".join(f"{path}:\n  " + "\n  ".join(lines) for path, lines in found.items())


def test_popovers_close_on_escape_and_on_a_press_outside(server: FootfallServer, browser: Any) -> None:
    """As disclosures do: Escape closes the open menu and gives focus back to its button
    (without also clearing the filters, which Escape does otherwise); a press elsewhere closes it."""
    page = logged_in_page(browser, server.url, OWNER, PASSWORD)
    page.goto(f"{server.url}/{SITE}?period=7d&f=is,page,/pricing")
    menus = page.locator(".menu-list")
    for button in (
        page.get_by_role("button", name="Options"),
        page.get_by_role("button", name="Segments ▾"),
        page.get_by_role("button", name="Last 7 days ▾"),
        page.get_by_role("button", name="Compare ▾"),
    ):
        button.click()
        expect(button).to_have_attribute("aria-expanded", "true")
        expect(menus).to_have_count(1)
        page.keyboard.press("Escape")
        expect(menus).to_have_count(0)
        expect(button).to_have_attribute("aria-expanded", "false")
        expect(button).to_be_focused()
        assert "f=is,page,/pricing" in page.url  # the filter stays
        button.click()
        expect(menus).to_have_count(1)
        page.locator(".dash-foot").click()  # a press on the page, away from the menu
        expect(menus).to_have_count(0)
    page.keyboard.press("Escape")  # no menu open: Escape clears the filters, as in Plausible
    page.wait_for_function("() => !location.search.includes('f=')")
    page.context.close()
