"""The shields page in Debian's Chromium against a real `footfall serve`: an owner logs in, adds
an IP range with the keyboard, sees a bad page path refused in its own form, and events from
that range are dropped within seconds; the page fits a 360 px phone. Screenshots at 1280 and
360 px go to `FOOTFALL_SCREENSHOTS` when it names a directory (to look at them)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.harness import FootfallServer, wait_until

PASSWORD = "a long passphrase for shields"
CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)


@pytest.fixture(scope="module")
def footfall(tmp_path_factory: pytest.TempPathFactory):
    server = FootfallServer(tmp_path_factory.mktemp("shields") / "data")
    server.data_dir.mkdir(parents=True)
    server.cli("user", "create", "--email", "owner@example.com", "--password", PASSWORD)
    server.cli("site", "create", "shop.example", "--owner", "owner@example.com")
    server.start()
    yield server
    server.stop()


def screenshot(page: Any, name: str) -> None:
    folder = os.environ.get("FOOTFALL_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name), full_page=True)


def dropped(server: FootfallServer, visitor: str) -> bool:
    response = httpx.post(
        f"{server.url}/api/event",
        content='{"n":"pageview","u":"https://eu.shop.example/","d":"shop.example"}',
        headers={"Content-Type": "text/plain", "User-Agent": CHROME, "X-Forwarded-For": visitor},
        timeout=10,
    )
    assert response.status_code == 202
    return response.headers.get("x-plausible-dropped") == "1"


def test_an_owner_manages_shields_in_the_browser(footfall: FootfallServer, browser: Any) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        page.goto(f"{footfall.url}/shop.example/settings/shields")
        assert "/login" in page.url
        page.get_by_label("Email").fill("owner@example.com")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/shop.example/settings/shields")
        assert page.get_by_role("link", name="Shields").get_attribute("aria-current") == "page"
        assert not dropped(footfall, "203.0.113.9")

        # The keyboard alone: the field by its label, Enter submits its form.
        page.get_by_label("IP address or range").focus()
        page.keyboard.type("203.0.113.0/24")
        page.keyboard.press("Enter")
        page.wait_for_selector("text=Added 203.0.113.0/24")
        assert page.locator("table.rules code", has_text="203.0.113.0/24").count() == 1
        wait_until(lambda: dropped(footfall, "203.0.113.9"), "the browser's rule to drop events", timeout=10)
        assert not dropped(footfall, "198.51.100.9")

        page.get_by_label("Country", exact=True).select_option("FR")
        page.locator("section.shield", has=page.get_by_label("Country", exact=True)).get_by_role(
            "button", name="Block"
        ).click()
        page.wait_for_selector("text=Added FR")
        page.get_by_label("Hostname", exact=True).fill("*.shop.example")
        page.get_by_role("button", name="Allow").click()
        page.wait_for_selector("text=shop.example itself is not in the list")

        page.get_by_label("Page path").fill("/a b")
        page.locator("section.shield", has=page.get_by_label("Page path")).get_by_role(
            "button", name="Block"
        ).click()
        error = page.locator("#e-page_path")
        error.wait_for()
        assert "no spaces" in error.inner_text()
        assert page.get_by_label("Page path").get_attribute("aria-invalid") == "true"
        assert page.get_by_label("Page path").input_value() == "/a b"
        screenshot(page, "shields-1280.png")

        page.set_viewport_size({"width": 360, "height": 800})
        page.goto(f"{footfall.url}/shop.example/settings/shields")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        screenshot(page, "shields-360.png")

        page.get_by_role("button", name="Remove 203.0.113.0/24").click()
        page.wait_for_selector("text=Removed the IP rule 203.0.113.0/24")
        wait_until(lambda: not dropped(footfall, "203.0.113.9"), "the removal to let events in", timeout=10)
    finally:
        context.close()
