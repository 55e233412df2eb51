"""Plausible's official npm trackers, unchanged and pointed at footfall, record events.

`@plausible-analytics/tracker` (the current one: JSON props, engagement events, a `v`
version field) and `plausible-tracker` (the earlier one: props as a string of JSON, sent
with XMLHttpRequest) are pinned in tests/e2e/npm-trackers and bundled with esbuild for a
test page, as a site's build would bundle them.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import NPM_TRACKERS, make_footfall
from tests.e2e.harness import FootfallServer, PageServer, html, sorted_keys, with_callback
from tests.e2e.test_tracker_browser import SITE, event, pageview


@pytest.fixture(scope="module")
def bundles(npm_esbuild: Path, tmp_path_factory: pytest.TempPathFactory, pages: PageServer) -> None:
    out = tmp_path_factory.mktemp("npm-bundles")
    for entry in ("official.js", "legacy.js"):
        subprocess.run(
            [
                str(npm_esbuild),
                entry,
                "--bundle",
                "--format=iife",
                "--log-level=warning",
                f"--outfile={out / entry}",
            ],
            cwd=NPM_TRACKERS,
            check=True,
            timeout=120,
        )
        pages.add(f"/npm/{entry}", (out / entry).read_bytes(), "application/javascript")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    footfall = make_footfall(tmp_path_factory, (SITE,))
    yield footfall
    footfall.stop()


@pytest.fixture
def footfall(server: FootfallServer, bundles: None) -> FootfallServer:
    server.start()
    return server


def test_the_current_npm_tracker_records_pageviews_events_and_engagement(
    footfall: FootfallServer, pages: PageServer, page: Any
) -> None:
    host = "official.npm.test"
    setup = (
        '<script src="/npm/official.js"></script>'
        f"<script>officialTracker.init({{domain: '{SITE}', endpoint: '{footfall.url}/api/event'}})</script>"
    )
    pages.add("/npm/official", html(head=setup))
    before = footfall.acknowledged()
    page.goto(pages.url(host, "/npm/official"))
    footfall.wait_acknowledged(before + 1)
    result = with_callback(
        page,
        """officialTracker.track('Signup', {
            props: {tier: 'startup'}, callback: resolve,
        })""",
    )
    assert result == {"status": 202}
    page.evaluate("history.pushState({}, '', '/npm/next')")
    # The pageview of the new page, after the engagement event of the one left.
    footfall.wait_acknowledged(before + 4)
    rows = footfall.rows_of(host, SITE, engagement=True)
    assert sorted_keys(r for r in rows if r.name != "engagement") == sorted(
        [
            pageview(host, "/npm/official"),
            event("Signup", host, "/npm/official", tier="startup"),
            pageview(host, "/npm/next"),
        ]
    )
    assert [r.pathname for r in rows if r.name == "engagement"] == ["/npm/official"]


def test_the_earlier_npm_tracker_records_pageviews_and_events_with_string_props(
    footfall: FootfallServer, pages: PageServer, page: Any
) -> None:
    host = "legacy.npm.test"
    setup = (
        '<script src="/npm/legacy.js"></script>'
        f"<script>window.legacy = legacyTracker({{domain: '{SITE}', apiHost: '{footfall.url}'}})</script>"
    )
    pages.add("/npm/legacy", html(head=setup))
    before = footfall.acknowledged()
    page.goto(pages.url(host, "/npm/legacy"))
    with_callback(page, "legacy.trackPageview({}, {callback: resolve})")
    # trackEvent(name, {props, callback}, eventData): the callback goes with the props.
    with_callback(page, "legacy.trackEvent('Download', {props: {format: 'pdf'}, callback: resolve})")
    with_callback(page, f"legacy.trackPageview({{url: 'http://{host}/virtual/page'}}, {{callback: resolve}})")
    footfall.wait_acknowledged(before + 3)
    assert sorted_keys(footfall.rows_of(host, SITE)) == sorted(
        [
            pageview(host, "/npm/legacy"),
            event("Download", host, "/npm/legacy", format="pdf"),
            pageview(host, "/virtual/page"),
        ]
    )
