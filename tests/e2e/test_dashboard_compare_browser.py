"""The compare-sites view's range picker and filters, and a saved segment holding a goal filter,
in Debian's chromium against a real `footfall serve`.

One server for the module; the tests run in order and build on each other. Screenshots of the
compare view with a filter at 1280 and 360 px go to `$FOOTFALL_SCREENSHOTS` (else a temporary
folder).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import logged_in_page, new_page
from tests.e2e.harness import FootfallServer
from tests.e2e.test_dashboard_browser import stat_is

OWNER = "owner@compare.test"
PASSWORD = "a long owner passphrase"
SHOP, BLOG = "shop.compare.test", "blog.compare.test"
STATE: dict[str, Any] = {}
TODAY = datetime.now(UTC).date()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, built_tracker: Path) -> Iterator[FootfallServer]:
    footfall = FootfallServer(tmp_path_factory.mktemp("dashboard-compare") / "data")
    footfall.start()
    footfall.cli("user", "create", "--email", OWNER, "--password", PASSWORD)
    for domain in (SHOP, BLOG):
        footfall.cli("site", "create", domain, "--timezone", "Etc/UTC", "--owner", OWNER)
    add_goal(footfall, SHOP, "Signup")
    add_goal(footfall, BLOG, "Signup")
    yield footfall
    footfall.stop()


def add_goal(server: FootfallServer, domain: str, event_name: str) -> None:
    """The goal row the goals settings page makes (that page has its own browser test)."""
    from footfall.meta.db import make_engine, make_sessionmaker, session_scope
    from footfall.meta.models import Site
    from footfall.sites.goals import find_or_create_event_goal

    engine = make_engine(f"sqlite:///{server.data_dir / 'footfall.db'}")
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            find_or_create_event_goal(db, db.query(Site).filter_by(domain=domain).one(), event_name)
    finally:
        engine.dispose()


def send(server: FootfallServer, domain: str, address: str, path: str, name: str = "pageview") -> None:
    """An event through the Events API from `address` behind a trusted proxy (loopback)."""
    before = server.acknowledged()
    answer = httpx.post(
        f"{server.url}/api/event",
        content=json.dumps({"n": name, "u": f"https://{domain}{path}", "d": domain, "r": None}),
        headers={
            "Content-Type": "text/plain",
            "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/130.0.0.0 Safari/537.36",
            "X-Forwarded-For": address,
        },
        timeout=30,
    )
    assert answer.status_code == 202 and "x-plausible-dropped" not in answer.headers, answer.headers
    server.wait_acknowledged(before + 1, timeout=60)


def card_stat(page: Any, domain: str, label: str, value: str) -> bool:
    """Waits for a compare card's stat to read `value` (a card keeps its numbers while it reloads)."""
    page.wait_for_function(
        """([domain, label, value]) => [
            ...document.querySelectorAll(`section[aria-label="${domain}"] .compare-stat`),
        ].some((el) => el.querySelector('dt')?.textContent.trim() === label &&
                el.querySelector('.stat-value')?.textContent.trim() === value)""",
        arg=[domain, label, value],
    )
    return True


def test_visits_arrive(server: FootfallServer, browser: Any) -> None:
    # shop: three visitors, two on /docs, one of whom signs up; blog: two visitors, one on /docs.
    send(server, SHOP, "85.214.132.117", "/docs")
    send(server, SHOP, "85.214.132.117", "/docs", name="Signup")
    send(server, SHOP, "81.2.69.142", "/docs")
    send(server, SHOP, "81.2.69.160", "/pricing")
    send(server, BLOG, "85.214.132.117", "/docs")
    send(server, BLOG, "81.2.69.142", "/post")
    page = logged_in_page(browser, server.url, OWNER, PASSWORD)
    STATE["owner"] = page


def test_compare_sites_takes_a_period_and_a_custom_range_from_the_picker(server: FootfallServer) -> None:
    page = STATE["owner"]
    page.goto(f"{server.url}/sites/compare?period=7d")
    assert card_stat(page, SHOP, "Unique visitors", "3") and card_stat(page, BLOG, "Unique visitors", "2")
    page.locator("#period-button").click()
    page.locator(".menu-list").get_by_role("button", name=re.compile("^Today")).click()
    page.wait_for_url(re.compile(r"/sites/compare\?period=day"))
    assert card_stat(page, SHOP, "Total pageviews", "3")
    # A custom range that ends yesterday holds none of today's visits; one that ends today does.
    page.locator("#period-button").click()
    page.get_by_label("From", exact=True).fill((TODAY - timedelta(days=5)).isoformat())
    page.get_by_label("To", exact=True).fill((TODAY - timedelta(days=1)).isoformat())
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"period=custom&from=\d{4}-\d\d-\d\d&to=\d{4}-\d\d-\d\d"))
    assert card_stat(page, SHOP, "Unique visitors", "0") and card_stat(page, BLOG, "Unique visitors", "0")
    assert page.locator("#period-button").inner_text().strip().endswith("▾")
    page.keyboard.press("w")  # the dashboard's shortcuts work here too
    page.wait_for_url(re.compile(r"/sites/compare\?period=7d"))
    assert card_stat(page, SHOP, "Unique visitors", "3")
    page.goto(f"{server.url}/sites/compare?period=7d&comparison=year_over_year")
    page.locator(".top-row .muted", has_text="vs. last year").wait_for()


def test_compare_sites_applies_the_urls_filters_to_every_site(server: FootfallServer) -> None:
    page = STATE["owner"]
    page.goto(f"{server.url}/sites/compare?period=day&f=is,page,/docs")
    assert page.locator(".chips .chip", has_text="Page is /docs").count() == 1
    # A page filter gives the page's top stats, as on the dashboard.
    assert card_stat(page, SHOP, "Unique visitors", "2") and card_stat(page, BLOG, "Unique visitors", "1")
    assert page.locator(f"section[aria-label='{SHOP}'] dt", has_text="Time on page").count() == 1
    # Each card's link carries the filter to that site's dashboard.
    href = page.get_by_role("link", name=BLOG).get_attribute("href")
    assert href == f"/{BLOG}?period=day&f=is,page,/docs"
    page.locator(".chips .chip", has_text="Page is /docs").get_by_role("button").click()
    page.wait_for_function("() => !location.search.includes('f=')")
    assert card_stat(page, SHOP, "Unique visitors", "3") and card_stat(page, BLOG, "Unique visitors", "2")
    page.go_back()
    page.wait_for_url(re.compile(r"f=is,page,/docs"))
    assert card_stat(page, SHOP, "Unique visitors", "2")
    page.locator(".chips .chip").get_by_role("button").click()
    page.wait_for_function("() => !location.search.includes('f=')")


def test_compare_sites_adds_a_filter_with_suggestions_from_every_site(server: FootfallServer) -> None:
    page = STATE["owner"]
    page.goto(f"{server.url}/sites/compare?period=day")
    page.get_by_role("button", name="+ Filter").click()
    dialog = page.locator("dialog.dialog")
    dialog.wait_for()
    dialog.get_by_label(re.compile("^Property")).select_option("page")
    # /post is only the blog's, /pricing only the shop's: both sites are asked.
    dialog.locator(".suggestions button", has_text="/post").wait_for()
    assert dialog.locator(".suggestions button", has_text="/pricing").count() == 1
    assert dialog.locator(".suggestions button").first.inner_text() == "/docs"  # 3 visitors over both
    dialog.get_by_label(re.compile("^Operator")).select_option("is_not")
    dialog.locator(".suggestions button", has_text="/docs").click()
    dialog.get_by_role("button", name="Apply filter").click()
    page.wait_for_url(re.compile(r"[?&]f=is_not,page,/docs"))
    assert page.locator(".chips .chip", has_text="Page is not /docs").count() == 1
    assert card_stat(page, SHOP, "Unique visitors", "1") and card_stat(page, BLOG, "Unique visitors", "1")
    # A goal: the cards switch to conversions; the goal is offered from the sites' goals.
    page.get_by_role("button", name="+ Filter").click()
    dialog.get_by_label(re.compile("^Property")).select_option("goal")
    dialog.locator(".suggestions button", has_text="Signup").click()
    dialog.get_by_role("button", name="Apply filter").click()
    page.wait_for_url(re.compile(r"f=is,goal,Signup"))
    page.locator(".chips .chip", has_text="Page is not /docs").get_by_role("button").click()
    page.wait_for_url(re.compile(r"/sites/compare\?period=day&f=is,goal,Signup$"))
    assert card_stat(page, SHOP, "Unique conversions", "1")
    assert card_stat(page, SHOP, "Conversion rate", "33.3%")
    assert card_stat(page, BLOG, "Unique conversions", "0")


def test_a_saved_segment_with_a_goal_gives_the_goal_top_stats(server: FootfallServer) -> None:
    page = STATE["owner"]
    page.goto(f"{server.url}/{SHOP}?period=day&f=is,goal,Signup")
    assert stat_is(page, "Unique conversions", "1")
    page.get_by_role("button", name="Segments ▾").click()
    page.get_by_label("Segment name").fill("Signed up")
    with page.expect_navigation():  # saved, the page reloads with the new segment
        page.get_by_role("button", name="Save", exact=True).click()
    page.goto(f"{server.url}/{SHOP}?period=day")
    assert stat_is(page, "Unique visitors", "3")
    page.get_by_role("button", name="Segments ▾").click()
    page.locator(".menu-list").get_by_role("button", name=re.compile("^Signed up")).click()
    page.wait_for_url(re.compile(r"[?&]f=is,segment,\d+"))
    assert stat_is(page, "Unique conversions", "1")
    assert stat_is(page, "Total conversions", "1")
    assert stat_is(page, "Conversion rate", "33.3%")
    labels = [(t or "").strip() for t in page.locator(".top-stats .stat-label").all_text_contents()]
    assert labels == ["Unique conversions", "Total conversions", "Conversion rate"]
    assert page.locator(".panel-error").count() == 0


@pytest.mark.parametrize("width", [1280, 360])
def test_screenshots_of_compare_with_a_filter_fit_the_screen(
    server: FootfallServer, browser: Any, shots: Path, width: int
) -> None:
    page = new_page(browser, width)
    page.context.add_cookies(STATE["owner"].context.cookies())
    page.goto(f"{server.url}/sites/compare?period=day&f=is,page,/docs")
    card_stat(page, SHOP, "Unique visitors", "2")
    page.wait_for_function("() => !document.querySelector('.compare-card[aria-busy=true]')")
    page.screenshot(path=str(shots / f"compare-filtered-{width}-light.png"), full_page=True)
    page.locator("#period-button").click()
    page.get_by_label("From", exact=True).wait_for()
    page.screenshot(path=str(shots / f"compare-range-{width}-light.png"))
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.context.close()
