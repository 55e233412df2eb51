"""More of the dashboard in Debian's chromium against a real `footfall serve`: the filter
dialog, a click on the map, realtime refreshing in place, the CSV export's ZIP, annotations,
a viewer who sees no settings, the "include imported data" switch, and compare sites.

One server for the module; the tests run in order and build on each other. Screenshots of
the views they change (annotations and the imports mark on the graph, the options menu, the
compare view) at 1280 and 360 px, light and dark, go to `$FOOTFALL_SCREENSHOTS` (else a
temporary folder); `docs/screenshots/` holds the ones the README shows.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import logged_in_page, new_page
from tests.e2e.harness import FootfallServer, dashboard_stat
from tests.e2e.test_dashboard_browser import IPHONE, stat_is

OWNER = "owner@more.test"
VIEWER = "viewer@more.test"
PASSWORD = "a long owner passphrase"
SITE = "more.test"
OTHER = "other.test"
STATE: dict[str, Any] = {}
TODAY = datetime.now(UTC).date()
# Ten imported days, well before the site's own first day (today): 10 visitors, 20 pageviews each.
IMPORT_FIRST, IMPORT_LAST = TODAY - timedelta(days=20), TODAY - timedelta(days=11)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, built_tracker: Path) -> Iterator[FootfallServer]:
    footfall = FootfallServer(tmp_path_factory.mktemp("dashboard-more") / "data")
    footfall.start()
    for email in (OWNER, VIEWER):
        footfall.cli("user", "create", "--email", email, "--password", PASSWORD)
    footfall.cli("site", "create", SITE, "--timezone", "Etc/UTC", "--owner", OWNER)
    footfall.cli("site", "create", OTHER, "--timezone", "Etc/UTC", "--owner", OWNER)
    yield footfall
    footfall.stop()


def log_in(browser: Any, server: FootfallServer, email: str, width: int = 1280, **options: Any) -> Any:
    return logged_in_page(browser, server.url, email, PASSWORD, width, **options)


DESKTOP = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"
)


def visit(server: FootfallServer, domain: str, address: str, path: str, user_agent: str = DESKTOP) -> None:
    """A pageview through the Events API, from `address` behind a trusted proxy (loopback):
    the data these tests read (the tracker's own path is the first browser module's test)."""
    before = server.acknowledged()
    answer = httpx.post(
        f"{server.url}/api/event",
        content=json.dumps({"n": "pageview", "u": f"https://{domain}{path}", "d": domain, "r": None}),
        headers={"Content-Type": "text/plain", "User-Agent": user_agent, "X-Forwarded-For": address},
        timeout=30,
    )
    assert answer.status_code == 202 and "x-plausible-dropped" not in answer.headers, answer.headers
    server.wait_acknowledged(before + 1, timeout=60)


def add_member(server: FootfallServer, email: str, domain: str, role: str) -> None:
    """The membership row an accepted invitation makes (invitations have their own browser test)."""
    from footfall.meta.db import make_engine, make_sessionmaker, session_scope
    from footfall.meta.models import Membership, Role, Site, User

    engine = make_engine(f"sqlite:///{server.data_dir / 'footfall.db'}")
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            user = db.query(User).filter_by(email=email).one()
            site = db.query(Site).filter_by(domain=domain).one()
            db.add(Membership(site_id=site.id, user_id=user.id, role=Role(role)))
    finally:
        engine.dispose()


def test_visits_arrive_and_the_owner_sees_them(server: FootfallServer, browser: Any) -> None:
    visit(server, SITE, "85.214.132.117", "/landing?utm_source=newsletter")
    visit(server, SITE, "85.214.132.117", "/pricing")
    visit(server, SITE, "81.2.69.142", "/pricing", user_agent=IPHONE)
    visit(server, OTHER, "81.2.69.142", "/landing")
    page = log_in(browser, server, OWNER)
    page.goto(f"{server.url}/{SITE}?period=day")
    for _ in range(20):  # the last events may still be on their way to the store
        if dashboard_stat(page, "Total pageviews") == "3":
            break
        page.wait_for_timeout(500)
        page.reload()
    assert stat_is(page, "Unique visitors", "2")
    STATE["owner"] = page


def test_the_filter_dialog_adds_a_filter_with_an_operator(server: FootfallServer) -> None:
    page = STATE["owner"]
    page.get_by_role("button", name="+ Filter").click()
    dialog = page.locator("dialog.dialog")
    dialog.wait_for()
    # A label around a select is named with the option shown too ("Property Page").
    dialog.get_by_label(re.compile("^Property")).select_option("page")
    dialog.get_by_label(re.compile("^Operator")).select_option("is_not")
    dialog.get_by_label("Value").fill("/pri")
    # Suggestions come from the data: a v2 query on event:page containing "/pri".
    suggestion = dialog.locator(".suggestions button", has_text="/pricing")
    suggestion.click()
    assert dialog.locator(".chip", has_text="/pricing").count() == 1
    dialog.get_by_role("button", name="Apply filter").click()
    page.wait_for_url(re.compile(r"[?&]f=is_not,page,/pricing"))
    chip = page.locator(".chips .chip", has_text="Page is not /pricing")
    assert chip.count() == 1
    assert stat_is(page, "Unique visitors", "1")  # only the newsletter's visitor saw another page
    chip.get_by_role("button").click()
    page.wait_for_function("() => !location.search.includes('f=')")
    assert stat_is(page, "Unique visitors", "2")


def test_a_click_on_the_map_filters_by_country(server: FootfallServer) -> None:
    page = STATE["owner"]
    germany = page.locator("section[aria-labelledby='panel-locations'] path.has-visitors[data-code='DE']")
    germany.wait_for()
    germany.click()
    page.wait_for_url(re.compile(r"[?&]f=is,country,DE"))
    assert page.locator(".chips .chip", has_text="Country is Germany").count() == 1
    assert stat_is(page, "Unique visitors", "1")
    page.go_back()
    page.wait_for_function("() => !location.search.includes('f=')")
    assert stat_is(page, "Unique visitors", "2")


def test_realtime_refreshes_in_place(server: FootfallServer) -> None:
    page = STATE["owner"]
    page.keyboard.press("r")
    page.wait_for_url(re.compile(r"[?&]period=realtime"))
    assert stat_is(page, "Pageviews (last 30 min)", "3")
    page.evaluate("window.__stillThisPage = true")
    visit(server, SITE, "85.214.132.200", "/pricing")
    # The next tick (every 10 s) re-runs the queries; the page is not reloaded.
    page.wait_for_function(
        """() => [...document.querySelectorAll('.stat')].some((el) =>
            el.querySelector('.stat-label')?.textContent.trim() === 'Pageviews (last 30 min)' &&
            el.querySelector('.stat-value')?.textContent.trim() === '4')""",
        timeout=40_000,
    )
    assert page.evaluate("window.__stillThisPage") is True
    assert dashboard_stat(page, "Unique visitors (last 30 min)") == "3"
    current = page.locator(".stat:has(.stat-label:has-text('Current visitors')) .stat-value").inner_text()
    assert current.strip() in ("1", "2", "3")  # the last five minutes' visitors


def test_the_csv_export_is_a_zip_of_the_views_numbers(server: FootfallServer) -> None:
    page = STATE["owner"]
    page.goto(f"{server.url}/{SITE}?period=day")
    assert stat_is(page, "Total pageviews", "4")
    page.get_by_role("button", name="Options").click()
    with page.expect_download() as download:
        page.locator(".menu-list").get_by_role("button", name="Export CSV (ZIP)").click()
    assert re.fullmatch(
        rf"footfall_export_{re.escape(SITE)}_\d{{4}}-\d\d-\d\d\.zip", download.value.suggested_filename
    )
    with zipfile.ZipFile(download.value.path()) as archive:
        names = set(archive.namelist())
        tables = {name: list(csv.DictReader(io.StringIO(archive.read(name).decode()))) for name in names}
    assert {
        "visitors.csv",
        "sources.csv",
        "pages.csv",
        "countries.csv",
        "browsers.csv",
        "devices.csv",
    } <= names
    assert all(name.endswith(".csv") for name in names)
    assert sum(int(row["pageviews"]) for row in tables["visitors.csv"]) == 4
    assert {row["name"]: int(row["visitors"]) for row in tables["pages.csv"]} == {
        "/pricing": 3,
        "/landing": 1,
    }
    assert {row["name"]: int(row["visitors"]) for row in tables["sources.csv"]} == {
        "Direct / None": 2,
        "newsletter": 1,
    }
    assert sum(int(row["visitors"]) for row in tables["countries.csv"]) == 3


def test_annotations_from_the_graph_are_seen_by_everyone_who_sees_the_dashboard(
    server: FootfallServer, browser: Any
) -> None:
    page = STATE["owner"]
    page.goto(f"{server.url}/{SITE}?period=30d")
    for text, day in (("Launched pricing", TODAY), ("Tpyo", TODAY - timedelta(days=2))):
        page.get_by_role("button", name="+ Note").click()
        form = page.locator("form.note-form")
        form.get_by_label("Date").fill(day.isoformat())
        form.get_by_label("Note").fill(text)
        form.get_by_role("button", name="Save note").click()
        page.locator(".notes li", has_text=text).wait_for()
    assert page.locator("svg g.note").count() == 2
    page.get_by_role("button", name="Delete note Tpyo").click()
    page.wait_for_function("() => document.querySelectorAll('.notes li').length === 1")
    assert "Launched pricing" in page.locator(".notes li").inner_text()
    assert page.locator("svg g.note").count() == 1
    # A shared link's visitor sees the note, and cannot add or delete one.
    page.goto(server.url + f"/{SITE}/settings/visibility")
    page.get_by_label("Name").fill("Notes")
    page.get_by_role("button", name="Make link").click()
    address = page.get_by_label("Address of Notes").input_value()
    guest = new_page(browser)
    guest.goto(address + "&period=30d")
    guest.locator(".notes li", has_text="Launched pricing").wait_for()
    assert guest.locator("svg g.note").count() == 1
    assert guest.get_by_role("button", name="+ Note").count() == 0
    assert guest.get_by_role("button", name=re.compile("^Delete note")).count() == 0
    guest.context.close()


def test_a_viewer_sees_the_dashboard_but_no_settings(server: FootfallServer, browser: Any) -> None:
    add_member(server, VIEWER, SITE, "viewer")
    viewer = log_in(browser, server, VIEWER)
    viewer.goto(f"{server.url}/{SITE}?period=day")
    assert stat_is(viewer, "Unique visitors", "3")
    viewer.locator(".notes li", has_text="Launched pricing").wait_for()  # notes: read-only
    assert viewer.get_by_role("button", name="+ Note").count() == 0
    assert viewer.get_by_role("button", name=re.compile("^Delete note")).count() == 0
    viewer.get_by_role("button", name="Options").click()
    menu = viewer.locator(".menu-list")
    assert menu.get_by_role("button", name="Export CSV (ZIP)").count() == 1
    assert menu.get_by_role("link", name="Site settings").count() == 0
    response = viewer.goto(f"{server.url}/{SITE}/settings/general")
    assert response is not None and response.status == 403
    response = viewer.goto(f"{server.url}/{SITE}/settings/visibility")
    assert response is not None and response.status == 403
    answer = viewer.request.post(
        f"{server.url}/api/stats/{SITE}/annotations", data={"date": TODAY.isoformat(), "text": "x"}
    )
    assert answer.status in (403, 404)
    viewer.context.close()


def test_the_include_imported_switch(server: FootfallServer, tmp_path: Path) -> None:
    table = tmp_path / f"imported_visitors_{IMPORT_FIRST:%Y%m%d}_{IMPORT_LAST:%Y%m%d}.csv"
    lines = ["date,visitors,pageviews,bounces,visits,visit_duration"]
    day = IMPORT_FIRST
    while day <= IMPORT_LAST:
        lines.append(f"{day.isoformat()},10,20,5,10,600")
        day += timedelta(days=1)
    table.write_text("\n".join(lines) + "\n")
    server.cli("import", SITE, str(table))
    page = STATE["owner"]
    page.goto(f"{server.url}/{SITE}?period=30d")
    assert stat_is(page, "Unique visitors", "103")  # 100 imported + 3 of its own, on by default
    mark = page.locator("svg g.imports-end")
    mark.wait_for()
    assert "Imported data ends" in (mark.text_content() or "")
    page.get_by_role("button", name="Options").click()
    switch = page.get_by_label("Include imported data")
    assert switch.is_checked()
    switch.uncheck()
    page.wait_for_url(re.compile(r"[?&]with_imported=false"))
    assert stat_is(page, "Unique visitors", "3")
    assert page.locator("svg g.imports-end").count() == 0
    page.go_back()
    page.wait_for_function("() => !location.search.includes('with_imported')")
    assert stat_is(page, "Unique visitors", "103")
    # A filter no imported table holds: the answer leaves imports out, and the graph says why.
    page.goto(f"{server.url}/{SITE}?period=30d&f=is,source,newsletter&f=is,page,/landing")
    note = page.locator(".imports-note")
    note.wait_for()
    assert "Imported data is not included" in note.inner_text()
    assert stat_is(page, "Unique visitors", "1")


def test_compare_sites_shows_each_sites_top_stats(server: FootfallServer) -> None:
    page = STATE["owner"]
    page.goto(f"{server.url}/sites")
    page.get_by_role("link", name="Compare sites").click()
    page.wait_for_url("**/sites/compare")
    page.locator("#period-button").click()
    page.locator(".menu-list").get_by_role("button", name=re.compile("^Today")).click()
    page.wait_for_url(re.compile(r"/sites/compare\?period=day"))

    def stat(domain: str, label: str) -> str:
        value = page.locator(
            f"section[aria-label='{domain}'] .compare-stat:has(dt:text-is('{label}')) .stat-value"
        )
        page.wait_for_function("el => el.textContent.trim() !== '\\u2013'", arg=value.element_handle())
        return value.inner_text().strip()

    assert [s.strip() for s in page.locator(".compare-card h2").all_inner_texts()] == [SITE, OTHER]
    assert stat(SITE, "Unique visitors") == "3" and stat(SITE, "Total pageviews") == "4"
    assert stat(OTHER, "Unique visitors") == "1" and stat(OTHER, "Total pageviews") == "1"
    page.get_by_role("link", name=OTHER).click()
    page.wait_for_url(re.compile(rf"/{re.escape(OTHER)}\?period=day"))
    assert stat_is(page, "Unique visitors", "1")


def test_a_saved_segment_is_edited_from_the_segment_menu(server: FootfallServer) -> None:
    page = STATE["owner"]
    page.goto(f"{server.url}/{SITE}?period=day&f=is,source,newsletter")
    page.get_by_role("button", name="Segments ▾").click()
    page.get_by_label("Segment name").fill("Newsletter readers")
    with page.expect_navigation():  # saved, the page reloads with the new segment
        page.get_by_role("button", name="Save", exact=True).click()
    page.goto(f"{server.url}/{SITE}?period=day&f=is,page,/pricing")
    page.get_by_role("button", name="Segments ▾").click()
    page.get_by_role("button", name="Edit segment Newsletter readers").click()
    editor = page.locator("form.segment-editor")
    assert editor.locator(".chip span").all_inner_texts() == ["Source is newsletter"]
    editor.get_by_label("Name").fill("Saw pricing")
    editor.get_by_label("Use the dashboard's current filters instead").check()
    assert editor.locator(".chip span").all_inner_texts() == ["Page is /pricing"]
    with page.expect_navigation():
        editor.get_by_role("button", name="Update segment").click()
    page.goto(f"{server.url}/{SITE}?period=day")
    page.get_by_role("button", name="Segments ▾").click()
    page.locator(".menu-list").get_by_role("button", name=re.compile("^Saw pricing")).click()
    page.wait_for_url(re.compile(r"[?&]f=is,segment,\d+"))
    assert page.locator(".chips .chip", has_text="Segment is Saw pricing").count() == 1
    assert stat_is(page, "Unique visitors", "3")  # every visitor of the day saw /pricing
    page.goto(f"{server.url}/{SITE}?period=day&f=is,source,newsletter")
    page.get_by_role("button", name="Segments ▾").click()
    page.get_by_role("button", name="Edit segment Saw pricing").click()
    editor.get_by_role("button", name="Remove Page is /pricing from the segment").click()
    editor.get_by_role("button", name="Update segment").click()
    assert editor.get_by_role("alert").inner_text() == "A segment needs at least one filter."


VIEWS = [
    ("dashboard-notes", f"/{SITE}?period=30d", None),
    ("dashboard-options", f"/{SITE}?period=30d", "options"),
    ("compare", "/sites/compare?period=day", None),
    ("dashboard-segment-editor", f"/{SITE}?period=30d&f=is,page,/landing", "segment"),
]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", [1280, 360])
def test_screenshots_of_the_changed_views_fit_the_screen(
    server: FootfallServer, browser: Any, shots: Path, width: int, scheme: str
) -> None:
    page = new_page(browser, width, color_scheme=scheme)
    page.context.add_cookies(STATE["owner"].context.cookies())
    too_wide = []
    for name, path, action in VIEWS:
        page.goto(server.url + path)
        if name == "compare":
            page.locator(".compare-card .stat-value").first.wait_for()
            page.wait_for_function("() => !document.querySelector('.compare-card[aria-busy=true]')")
        else:
            dashboard_stat(page, "Unique visitors")
            page.locator(".notes li").first.wait_for()
            page.wait_for_function("() => !document.querySelector('[aria-busy=true]')")
        if action == "options":
            page.get_by_role("button", name="Options").click()
        if action == "segment":
            page.get_by_role("button", name="Segments ▾").click()
            page.get_by_role("button", name="Edit segment Saw pricing").click()
        page.wait_for_timeout(300)  # the map's shapes
        page.screenshot(path=str(shots / f"{name}-{width}-{scheme}.png"), full_page=action is None)
        scroll = page.evaluate("document.documentElement.scrollWidth")
        if scroll > width:
            too_wide.append(f"{name}: {scroll} px")
    assert not too_wide, f"wider than {width} px: {too_wide}"
    page.context.close()
