"""Browser fixtures: one Debian Chromium for the session, a fresh context per test.

Chromium runs headless through Playwright for Python, never a downloaded browser:
`executable_path=/usr/bin/chromium` (Debian's package; `make test` installs it when
missing). Under CI=true a missing browser, nginx or npm install fails the tests instead
of skipping them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from footfall.web.tracker import DEFAULT_STATIC_DIR
from tests.conftest import unavailable
from tests.e2e.harness import FootfallServer, PageServer, wait_until

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    # Every *.test host is this machine: test pages get real-looking host names
    # (spa.test, shop.test) instead of 127.0.0.1, which the tracker treats as localhost.
    "--host-resolver-rules=MAP *.test 127.0.0.1",
]
NPM_TRACKERS = Path(__file__).parent / "npm-trackers"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent:
            item.add_marker(pytest.mark.browser)
            # A hung browser fails its own test, not the whole session.
            item.add_marker(pytest.mark.timeout(240))


# Why each failed browser test failed, by test name: a test that builds on an earlier one's
# state fails naming the earlier failure instead of with a bare KeyError.
FAILURES: dict[str, str] = {}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    report = yield
    if report.failed and item.name not in FAILURES:
        crash = getattr(report.longrepr, "reprcrash", None)
        FAILURES[item.name] = crash.message if crash is not None else str(report.longrepr).splitlines()[-1]
    return report


@pytest.fixture(scope="session")
def built_tracker() -> Path:
    if not (DEFAULT_STATIC_DIR / "script.js").is_file():
        unavailable(
            "the built tracker", FileNotFoundError(f"no {DEFAULT_STATIC_DIR}/script.js; run make tracker")
        )
    return DEFAULT_STATIC_DIR


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as error:
        unavailable("Playwright for Python (pip install -e '.[test]')", error)
    if not os.access(CHROMIUM, os.X_OK):
        unavailable("Debian chromium", FileNotFoundError(f"{CHROMIUM} (apt-get install chromium)"))
    with sync_playwright() as driver:
        yield driver


def visitor_user_agent() -> str:
    """Chromium's user agent without "Headless". Ingestion drops headless browsers as bots,
    as Plausible does, and these tests play a real visitor. It is a launch flag, not a
    per-context override: requests that outlive their page (keepalive, as a page is left)
    carry only the browser-wide user agent."""
    version = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=30).stdout
    match = re.search(r"(\d+)\.\d+\.\d+\.\d+", version)
    major = match.group(1) if match else "130"
    return (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{major}.0.0.0 Safari/537.36"
    )


@pytest.fixture(scope="session")
def browser(playwright_driver: Any) -> Iterator[Any]:
    chromium = playwright_driver.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[*CHROMIUM_ARGS, f"--user-agent={visitor_user_agent()}"],
    )
    yield chromium
    chromium.close()


@pytest.fixture(scope="session")
def pages() -> Iterator[PageServer]:
    server = PageServer()
    yield server
    server.close()


@dataclass
class SentEvent:
    url: str
    body: dict[str, Any]


@dataclass
class EventLog:
    """What the page sent to an `/api/event` endpoint, and what it logged to the console.

    Whether an event arrived is read from footfall's access log instead
    (`FootfallServer.wait_acknowledged`): a page that navigates away reports its
    keepalive requests as aborted although the server got them. Handlers here never call
    back into Playwright (a blocking call from an event handler can deadlock the sync API)."""

    sent: list[SentEvent] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_console(self, pattern: str, count: int = 1, timeout: float = 20) -> None:
        wait_until(
            lambda: len([m for m in self.console if re.search(pattern, m)]) >= count,
            f"{count} console message(s) matching {pattern!r}; got {self.console}",
            timeout,
        )


@pytest.fixture
def events() -> EventLog:
    return EventLog()


# Automated browsers set navigator.webdriver, and Plausible's tracker and ours then drop
# every event silently (bots run headless browsers too). A site's own browser tests opt in
# with window.__plausible, exactly as Plausible's tests do; it is set before any script
# of the page runs.
OPT_IN_SCRIPT = "window.__plausible = true"


def new_page(browser: Any, width: int = 1280, **options: Any) -> Any:
    """A page in a fresh browser profile `width` px wide, opted in to the tracker."""
    context = browser.new_context(viewport={"width": width, "height": 900}, **options)
    context.set_default_timeout(30_000)
    context.add_init_script(OPT_IN_SCRIPT)
    return context.new_page()


def log_in(page: Any, base_url: str, email: str, password: str) -> None:
    """Fills in and sends the login form; the caller waits for what should follow."""
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def logged_in_page(
    browser: Any, base_url: str, email: str, password: str, width: int = 1280, **options: Any
) -> Any:
    """A fresh page (see `new_page`) logged in as `email`, on the sites list."""
    page = new_page(browser, width, **options)
    log_in(page, base_url, email, password)
    page.wait_for_url("**/sites")
    return page


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where a module's screenshots go: `$FOOTFALL_SCREENSHOTS`, else a temporary folder."""
    folder = Path(os.environ.get("FOOTFALL_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def context(browser: Any, events: EventLog) -> Iterator[Any]:
    """A fresh browser profile (empty localStorage and cache) that records tracker traffic."""
    ctx = browser.new_context()
    # Fail a stuck wait in seconds, well inside the test's own timeout.
    ctx.set_default_timeout(30_000)
    ctx.set_default_navigation_timeout(30_000)
    ctx.add_init_script(OPT_IN_SCRIPT)

    def on_request(request: Any) -> None:
        if request.method == "POST" and request.url.split("?")[0].endswith("/api/event"):
            try:
                body = json.loads(request.post_data or "{}")
            except ValueError:
                body = {"unparsed": request.post_data}
            with events.lock:
                events.sent.append(SentEvent(request.url, body))

    ctx.on("request", on_request)
    ctx.on("console", lambda message: events.console.append(message.text))
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()


def _npm_installed() -> Path:
    esbuild = NPM_TRACKERS / "node_modules" / ".bin" / "esbuild"
    if not esbuild.exists():
        unavailable(
            "the official npm trackers",
            FileNotFoundError(f"{esbuild}; run `npm --prefix {NPM_TRACKERS} ci` (make test does)"),
        )
    return esbuild


@pytest.fixture(scope="session")
def npm_esbuild() -> Path:
    return _npm_installed()


@pytest.fixture(scope="session")
def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if not found:
        unavailable("Debian nginx", FileNotFoundError("nginx (apt-get install nginx-light)"))
    return found


def make_footfall(
    tmp_path_factory: pytest.TempPathFactory, sites: tuple[str, ...], **env: str
) -> FootfallServer:
    server = FootfallServer(tmp_path_factory.mktemp("footfall") / "data", env=env)
    server.data_dir.mkdir(parents=True)
    server.create_sites(*sites)
    return server
