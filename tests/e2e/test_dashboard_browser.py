"""The dashboard in Debian's chromium against a real `footfall serve`, as its owner uses it.

One server for the module; the tests run in order and build on each other: two visitors
open a page carrying the tracker (one from a newsletter in Germany, one direct from Britain
on a phone), the owner logs in and sees them with their source, country and device, filters
by clicking, goes Back, changes the range with the picker and a shortcut, sorts a details
view, opens a funnel, shares the dashboard embedded; a stranger gets nothing. Screenshots
of the main views at 1280 and 360 px, light and dark, go to `$FOOTFALL_SCREENSHOTS` (else a
temporary folder); `docs/screenshots/` holds the ones the README shows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import FAILURES, logged_in_page, new_page
from tests.e2e.harness import FootfallServer, PageServer, dashboard_stat, html

OWNER = "owner@dash.test"
PASSWORD = "a long owner passphrase"
SITE = "dash.test"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)
STATE: dict[str, Any] = {}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, built_tracker: Path) -> Iterator[FootfallServer]:
    footfall = FootfallServer(tmp_path_factory.mktemp("dashboard") / "data")
    footfall.start()
    footfall.cli("user", "create", "--email", OWNER, "--password", PASSWORD)
    footfall.cli("user", "create", "--email", "stranger@dash.test", "--password", PASSWORD)
    footfall.cli("site", "create", SITE, "--timezone", "Europe/Berlin", "--owner", OWNER)
    footfall.cli(
        "funnel", "create", SITE, "--name", "Landing to pricing", "--step", "/landing", "--step", "/pricing"
    )
    yield footfall
    footfall.stop()


def visitor_from(browser: Any, address: str, width: int = 1280, **options: Any) -> Any:
    """A visitor whose events reach footfall through a trusted proxy (loopback) that names
    `address` in X-Forwarded-For, added on the wire (a header the page set would need CORS).

    A routed request waits in the browser until Playwright's sync API runs the handler, and
    it runs handlers only while the test is inside a Playwright call: wait for the event with
    `page.expect_response`, never with a plain sleep (`server.wait_acknowledged`), or it is
    never sent."""
    page = new_page(browser, width, **options)

    def forward(route: Any) -> None:
        route.continue_(headers={**route.request.headers, "x-forwarded-for": address})

    page.context.route("**/api/event", forward)
    return page


@pytest.fixture
def owner() -> Any:
    """The owner's logged-in dashboard, as the module's first test leaves it."""
    if "owner" not in STATE:
        first = test_the_owner_sees_each_visit_with_its_source_country_and_device.__name__
        why = FAILURES.get(first, "it did not run (run the module from its first test)")
        pytest.fail(f"needs the owner's dashboard from {first}, which failed: {why}", pytrace=False)
    return STATE["owner"]


def is_event_answer(server: FootfallServer) -> Any:
    return lambda response: response.url.startswith(f"{server.url}/api/event")


def stat_is(page: Any, label: str, value: str) -> bool:
    """Waits for a top stat to read `value` (a panel keeps its old numbers while it reloads)."""
    page.wait_for_function(
        """([label, value]) => [...document.querySelectorAll('.stat')].some((el) =>
            el.querySelector('.stat-label')?.textContent.trim() === label &&
            el.querySelector('.stat-value')?.textContent.trim() === value)""",
        arg=[label, value],
    )
    return dashboard_stat(page, label) == value


def row(page: Any, panel: str, text: str) -> Any:
    return page.locator(f"section[aria-labelledby='panel-{panel}'] .row-link", has_text=text)


def panel_rows(page: Any, panel: str) -> list[str]:
    locator = page.locator(f"section[aria-labelledby='panel-{panel}'] .row-link")
    return [t.strip() for t in locator.all_inner_texts()]


def wait_rows(page: Any, panel: str, expected: list[str]) -> None:
    page.wait_for_function(
        """([panel, expected]) => {
            const rows = [...document.querySelectorAll(`section[aria-labelledby='panel-${panel}'] .row-link`)]
                .map((el) => el.textContent.trim());
            return JSON.stringify(rows) === JSON.stringify(expected);
        }""",
        arg=[panel, expected],
    )


def test_the_owner_sees_each_visit_with_its_source_country_and_device(
    server: FootfallServer, browser: Any, pages: PageServer
) -> None:
    # The compat script sends with XMLHttpRequest, which Playwright's routing (below) always
    # sees; keepalive fetches and beacons it may miss.
    tag = (
        f'<script defer id="plausible" data-domain="{SITE}" src="{server.url}/js/script.compat.js"></script>'
    )
    pages.add("/landing", html(head=tag, body="<h1>Landing</h1>"))
    pages.add("/pricing", html(head=tag, body="<h1>Pricing</h1>"))
    # Loopback is a trusted proxy: the forwarded address is the visitor's (DE, then GB). One
    # page per pageview: the same address and browser are the same visitor, in one visit.
    for address, path, width, options in [
        ("85.214.132.117", "/landing?utm_source=newsletter", 1280, {}),
        ("85.214.132.117", "/pricing", 1280, {}),
        ("81.2.69.142", "/pricing", 390, {"user_agent": IPHONE}),
    ]:
        before = server.acknowledged()
        visitor = visitor_from(browser, address, width, **options)
        # The pageview's request may reach Playwright just after the page's load event (on a
        # loaded machine it often does): waiting for its answer keeps routing it.
        with visitor.expect_response(is_event_answer(server), timeout=60_000) as answer:
            visitor.goto(pages.url(SITE, path))
            # Seen: a page the browser keeps hidden is counted only once shown (the tracker's rule).
            visitor.bring_to_front()
        assert answer.value.status == 202, f"the pageview was answered {answer.value.status}"
        server.wait_acknowledged(before + 1, timeout=60)  # the shared machine may be slow
        visitor.context.close()

    page = logged_in_page(browser, server.url, OWNER, PASSWORD)
    page.goto(f"{server.url}/{SITE}")
    for _ in range(20):  # the last events may still be on their way to the store
        if dashboard_stat(page, "Total pageviews") == "3":
            break
        page.wait_for_timeout(500)
        page.reload()
    assert stat_is(page, "Unique visitors", "2")
    assert stat_is(page, "Total pageviews", "3")
    page.locator("section[aria-labelledby='panel-sources'] [role=tab]", has_text="Sources").click()
    wait_rows(page, "sources", ["Direct / None", "newsletter"])
    page.locator("section[aria-labelledby='panel-locations'] [role=tab]", has_text="Countries").click()
    wait_rows(page, "locations", ["🇩🇪 Germany", "🇬🇧 United Kingdom"])
    page.locator("section[aria-labelledby='panel-devices'] [role=tab]", has_text="Size").click()
    wait_rows(page, "devices", ["Desktop", "Mobile"])
    STATE["owner"] = page


def test_clicking_a_source_filters_every_panel_and_back_removes_it(
    server: FootfallServer, owner: Any
) -> None:
    row(owner, "sources", "newsletter").click()
    owner.wait_for_url(re.compile(r"[?&]f=is,source,newsletter"))
    assert owner.locator(".chip", has_text="Source is newsletter").count() == 1
    assert stat_is(owner, "Unique visitors", "1")
    # Every panel now counts the newsletter's visitor only.
    wait_rows(owner, "pages", ["/landing", "/pricing"])
    wait_rows(owner, "locations", ["🇩🇪 Germany"])
    wait_rows(owner, "devices", ["Desktop"])
    # With one source picked, the Sources tab drills into its referrers.
    assert (
        owner.locator("section[aria-labelledby='panel-sources'] .row-head span").first.inner_text().upper()
        == "REFERRER"
    )
    owner.go_back()
    owner.wait_for_function("() => !location.search.includes('f=')")
    assert owner.locator(".chip").count() == 0
    wait_rows(owner, "locations", ["🇩🇪 Germany", "🇬🇧 United Kingdom"])
    assert stat_is(owner, "Unique visitors", "2")


def test_the_range_changes_with_the_picker_and_with_a_shortcut(server: FootfallServer, owner: Any) -> None:
    owner.locator("#period-button").click()
    owner.locator(".menu-list").get_by_role("button", name=re.compile("Last 7 days")).click()
    owner.wait_for_url(re.compile(r"[?&]period=7d"))
    assert "Last 7 days" in owner.locator("#period-button").inner_text()
    owner.keyboard.press("t")
    owner.wait_for_url(re.compile(r"[?&]period=30d"))
    assert "Last 30 days" in owner.locator("#period-button").inner_text()
    owner.keyboard.press("x")
    owner.wait_for_url(re.compile(r"[?&]comparison=previous_period"))
    owner.keyboard.press("d")
    owner.wait_for_url(re.compile(r"[?&]period=day"))
    assert stat_is(owner, "Unique visitors", "2")
    owner.go_back()
    owner.wait_for_url(re.compile(r"[?&]period=30d"))


def test_a_details_view_sorts_by_a_column(server: FootfallServer, owner: Any) -> None:
    owner.locator("section[aria-labelledby='panel-pages'] .details-link").click()
    dialog = owner.locator("dialog.details")
    dialog.wait_for()
    owner.wait_for_url(re.compile(r"[?&]details=pages:pages"))
    rows = dialog.locator(".row-link")
    owner.wait_for_function("() => document.querySelectorAll('dialog.details .row-link').length === 2")
    assert rows.all_inner_texts() == ["/pricing", "/landing"]  # 2 visitors, 1 visitor
    header = dialog.get_by_role("columnheader", name=re.compile("^Visitors"))
    assert header.get_attribute("aria-sort") == "descending"
    header.get_by_role("button").click()  # descending → ascending
    owner.wait_for_function(
        "() => document.querySelector('dialog.details .row-link')?.textContent === '/landing'"
    )
    assert header.get_attribute("aria-sort") == "ascending"
    assert dialog.get_by_role("table").get_by_role("row").count() == 3  # the heading and two pages
    assert "PAGEVIEWS" in dialog.locator(".row-head").inner_text().upper()
    # Every metric's heading stands over its numbers, on one line with them: each row of the
    # view holds the same columns at the same places (six for pages: the page and five metrics).
    columns = owner.evaluate(
        """() => Array.from(document.querySelectorAll('dialog.details .row'), row =>
            Array.from(row.children, cell => { const r = cell.getBoundingClientRect();
                return [Math.round(r.right), Math.round(r.top)]; }))"""
    )
    assert len(columns) == 3 and all(len(row) == 6 for row in columns), columns
    for row in columns:
        assert [right for right, _ in row] == [right for right, _ in columns[0]], columns
    for row in columns[1:]:  # a heading may take two lines; a row of numbers takes one
        tops = [top for _, top in row[1:]]
        assert max(tops) - min(tops) <= 2, f"a row's numbers wrapped: {row}"
    owner.keyboard.press("Escape")
    owner.wait_for_function("() => !location.search.includes('details=')")


def test_the_funnel_shows_each_steps_visitors(server: FootfallServer, owner: Any) -> None:
    owner.locator("section[aria-labelledby='panel-behaviours'] [role=tab]", has_text="Funnels").click()
    steps = owner.locator(".funnel-steps li")
    steps.first.wait_for()
    texts = steps.all_inner_texts()
    assert len(texts) == 2
    assert "1. Visit /landing" in texts[0] and "1 · 100.00%" in texts[0]
    assert "2. Visit /pricing" in texts[1] and "1 · 100.00%" in texts[1]


def test_a_shared_link_embedded_and_a_stranger_who_gets_nothing(
    server: FootfallServer, browser: Any, owner: Any
) -> None:
    owner.goto(server.url + f"/{SITE}/settings/visibility")
    owner.get_by_label("Name").fill("Embed")
    owner.get_by_role("button", name="Make link").click()
    address = owner.get_by_label("Address of Embed").input_value()
    guest = new_page(browser)
    guest.goto(address + "&embed=true&theme=dark&background=transparent")
    assert stat_is(guest, "Unique visitors", "2")
    assert guest.locator("html").get_attribute("data-theme") == "dark"
    assert guest.locator(".app-head").count() == 0  # no chrome
    assert guest.locator("body.transparent").count() == 1
    row(guest, "pages", "/landing").click()  # read-only, but filters still work
    guest.wait_for_url(re.compile(r"[?&]auth=.*f=is,page,/landing"))
    assert stat_is(guest, "Unique visitors", "1")
    guest.context.close()
    stranger = logged_in_page(browser, server.url, "stranger@dash.test", PASSWORD)
    response = stranger.goto(f"{server.url}/{SITE}")
    assert response is not None and response.status == 404
    answer = stranger.request.post(
        f"{server.url}/api/stats/{SITE}/query", data={"metrics": ["visitors"], "date_range": "day"}
    )
    assert answer.status in (403, 404) and "visitors" not in answer.text()
    stranger.context.close()


VIEWS = [
    ("dashboard", ""),
    ("dashboard-filtered", "?f=is,source,newsletter"),
    ("dashboard-details", "?details=pages:pages"),
]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1280, 360])
def test_screenshots_of_the_main_views_fit_the_screen(
    server: FootfallServer, browser: Any, shots: Path, owner: Any, width: int, scheme: str
) -> None:
    page = new_page(browser, width, color_scheme=scheme)
    page.context.add_cookies(owner.context.cookies())
    too_wide = []
    for name, query in VIEWS:
        page.goto(f"{server.url}/{SITE}{query}")
        dashboard_stat(page, "Unique visitors")
        page.wait_for_function("() => !document.querySelector('[aria-busy=true]')")
        page.wait_for_timeout(300)  # the map's shapes
        page.screenshot(path=str(shots / f"{name}-{width}-{scheme}.png"), full_page=True)
        scroll = page.evaluate("document.documentElement.scrollWidth")
        if scroll > width:
            too_wide.append(f"{name}: {scroll} px")
    assert not too_wide, f"wider than {width} px: {too_wide}"
    page.context.close()
