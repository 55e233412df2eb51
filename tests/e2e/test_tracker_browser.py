"""footfall's tracker in a real browser: each behaviour a site owner relies on ends as
exactly the expected rows in the event store (name, hostname, pathname, props).

Pages are served on 127.0.0.1 under `*.test` host names (the browser maps them here);
each test uses its own host, `<behaviour>.e2e.test`, so its rows are told apart from the
other tests'. The script and `/api/event` come from a real `footfall serve`.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.e2e.conftest import EventLog, make_footfall
from tests.e2e.harness import (
    FootfallServer,
    PageServer,
    html,
    mouse_click,
    sorted_keys,
    wait_until,
    with_callback,
)

SITE = "e2e.test"
SECOND_SITE = "second.test"

QUEUE_SNIPPET = (
    "<script>window.plausible = window.plausible || function () "
    "{ (window.plausible.q = window.plausible.q || []).push(arguments) }</script>"
)
TALL = '<div style="height: 4000px">a long page</div>'


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, built_tracker: Any) -> Any:
    footfall = make_footfall(tmp_path_factory, (SITE, SECOND_SITE))
    yield footfall
    footfall.stop()


@pytest.fixture
def footfall(server: FootfallServer) -> FootfallServer:
    server.start()
    return server


def tag(footfall: FootfallServer, variant: str = "script.js", domain: str = SITE, **attributes: str) -> str:
    """The snippet a site owner pastes, with extra attributes (data_exclude -> data-exclude)."""
    extra = "".join(f' {name.replace("_", "-")}="{value}"' for name, value in attributes.items())
    return f'<script defer data-domain="{domain}" src="{footfall.url}/js/{variant}"{extra}></script>'


Row = tuple[str, str, str, tuple[tuple[str, str], ...]]


def pageview(host: str, path: str, /, **props: str) -> Row:
    return event("pageview", host, path, **props)


def event(name: str, host: str, path: str, /, **props: str) -> Row:
    return (name, host, path, tuple(sorted(props.items())))


def test_a_pageview_is_recorded_when_a_page_loads(
    footfall: FootfallServer, pages: PageServer, page: Any
) -> None:
    host = "load.e2e.test"
    # The tag exactly as `footfall site snippet` prints it for the site owner.
    snippet = footfall.cli("site", "snippet", SITE).strip()
    assert snippet == tag(footfall)
    pages.add("/articles/first", html(head=snippet))
    before = footfall.acknowledged()
    # Arriving from a search: the browser's document.referrer goes out as `r`.
    page.goto(pages.url(host, "/articles/first?page=2"), referer="https://www.google.com/")
    footfall.wait_acknowledged(before + 1)
    rows = footfall.rows_of(host, SITE)
    assert sorted_keys(rows) == [pageview(host, "/articles/first")]
    assert rows[0].referrer_source == "Google"


def test_single_page_app_navigation_counts_push_state_and_popstate(
    footfall: FootfallServer, pages: PageServer, page: Any
) -> None:
    host = "spa.e2e.test"
    pages.add("/spa/", html(head=tag(footfall)))
    before = footfall.acknowledged()
    page.goto(pages.url(host, "/spa/"))
    footfall.wait_acknowledged(before + 1)
    page.evaluate("history.pushState({}, '', '/spa/pricing')")
    page.evaluate("history.pushState({}, '', '/spa/pricing?plan=pro')")  # same page: not counted
    page.evaluate("history.pushState({}, '', '/spa/about')")
    page.evaluate("history.back()")  # popstate back to /spa/pricing?plan=pro
    # Each new page: the engagement event of the page left, then the pageview.
    footfall.wait_acknowledged(before + 7)
    assert sorted_keys(footfall.rows_of(host, SITE)) == sorted(
        [
            pageview(host, "/spa/"),
            pageview(host, "/spa/pricing"),
            pageview(host, "/spa/about"),
            pageview(host, "/spa/pricing"),
        ]
    )
    engaged = footfall.rows_of(host, SITE, engagement=True)
    assert sorted(r.pathname for r in engaged if r.name == "engagement") == [
        "/spa/",
        "/spa/about",
        "/spa/pricing",
    ]


def test_hash_routing_counts_every_hash_change(
    footfall: FootfallServer, pages: PageServer, page: Any
) -> None:
    host = "hash.e2e.test"
    # The plausible.* names serve the same scripts as script.*.
    pages.add("/app", html(head=tag(footfall, "plausible.hash.js")))
    before = footfall.acknowledged()
    page.goto(pages.url(host, "/app"))
    footfall.wait_acknowledged(before + 1)
    page.evaluate("location.hash = '#/pricing'")
    footfall.wait_acknowledged(before + 3)
    page.evaluate("location.hash = '#/about'")
    footfall.wait_acknowledged(before + 5)
    assert sorted_keys(footfall.rows_of(host, SITE)) == sorted(
        [pageview(host, "/app"), pageview(host, "/app#/pricing"), pageview(host, "/app#/about")]
    )


def test_several_domains_record_the_pageview_in_each_site(
    footfall: FootfallServer, pages: PageServer, page: Any
) -> None:
    host = "multi.e2e.test"
    pages.add("/both", html(head=tag(footfall, domain=f"{SITE},{SECOND_SITE}")))
    before = footfall.acknowledged()
    page.goto(pages.url(host, "/both"))
    footfall.wait_acknowledged(before + 1)
    assert sorted_keys(footfall.rows_of(host, SITE)) == [pageview(host, "/both")]
    assert sorted_keys(footfall.rows_of(host, SECOND_SITE)) == [pageview(host, "/both")]


def test_data_api_sends_events_to_the_configured_endpoint(
    footfall: FootfallServer, pages: PageServer, page: Any, built_tracker: Any, events: EventLog
) -> None:
    host = "api.e2e.test"
    # The site serves its own copy of the script; without data-api it would post to itself.
    pages.add("/assets/a.js", (built_tracker / "script.js").read_bytes(), "application/javascript")
    snippet = (
        f'<script defer data-domain="{SITE}" data-api="{footfall.url}/api/event" src="/assets/a.js"></script>'
    )
    pages.add("/custom-endpoint", html(head=snippet))
    before = footfall.acknowledged()
    page.goto(pages.url(host, "/custom-endpoint"))
    footfall.wait_acknowledged(before + 1)
    assert [e.url for e in events.sent] == [f"{footfall.url}/api/event"]
    assert sorted_keys(footfall.rows_of(host, SITE)) == [pageview(host, "/custom-endpoint")]


def test_exclusions_skip_excluded_pages_and_pages_not_included(
    footfall: FootfallServer, pages: PageServer, context: Any, events: EventLog
) -> None:
    host = "exclusions.e2e.test"
    excluding = html(head=tag(footfall, "script.exclusions.js", data_exclude="/admin/**, /drafts/*"))
    including = html(head=tag(footfall, "script.exclusions.js", data_include="/docs/**"))
    for path in ("/admin/users/7", "/drafts/one", "/drafts/one/two", "/blog/post"):
        pages.add(path, excluding)
    for path in ("/docs/guide/install", "/pricing"):
        pages.add(path, including)
    before = footfall.acknowledged()
    # One tab per page: leaving a page would add its engagement event.
    for path in (
        "/admin/users/7",
        "/drafts/one",
        "/drafts/one/two",
        "/blog/post",
        "/docs/guide/install",
        "/pricing",
    ):
        context.new_page().goto(pages.url(host, path))
    events.wait_console("Ignoring Event: exclusion rule", count=3)
    footfall.wait_acknowledged(before + 3)
    assert sorted_keys(footfall.rows_of(host, SITE)) == sorted(
        [
            pageview(host, "/drafts/one/two"),
            pageview(host, "/blog/post"),
            pageview(host, "/docs/guide/install"),
        ]
    )


def test_custom_events_carry_props_revenue_and_call_back(
    footfall: FootfallServer, pages: PageServer, page: Any
) -> None:
    host = "shop.e2e.test"
    pages.add("/checkout", html(head=tag(footfall, "script.revenue.js")))
    before = footfall.acknowledged()
    page.goto(pages.url(host, "/checkout"))
    page.wait_for_function("window.plausible && window.plausible.l")
    result = with_callback(
        page,
        """plausible('Purchase', {
            props: {plan: 'pro', seats: '3'},
            revenue: {amount: 29.99, currency: 'EUR'},
            callback: resolve,
        })""",
    )
    assert result == {"status": 202}
    with_callback(page, "plausible('Autoplay', {interactive: false, callback: resolve})")
    footfall.wait_acknowledged(before + 3)
    rows = footfall.rows_of(host, SITE)
    assert sorted_keys(rows) == sorted(
        [
            pageview(host, "/checkout"),
            event("Purchase", host, "/checkout", plan="pro", seats="3"),
            event("Autoplay", host, "/checkout"),
        ]
    )
    purchase = next(r for r in rows if r.name == "Purchase")
    assert (purchase.revenue_amount, purchase.revenue_currency) == ("29.99", "EUR")
    assert {r.name: r.interactive for r in rows} == {"pageview": 1, "Purchase": 1, "Autoplay": 0}


def test_calls_queued_before_the_script_loads_are_sent(
    footfall: FootfallServer, pages: PageServer, page: Any
) -> None:
    host = "queue.e2e.test"
    early_call = "<script>plausible('Early Signup', {props: {step: 'hero'}})</script>"
    pages.add("/landing", html(head=QUEUE_SNIPPET + early_call + tag(footfall)))
    before = footfall.acknowledged()
    page.goto(pages.url(host, "/landing"))
    footfall.wait_acknowledged(before + 2)
    assert sorted_keys(footfall.rows_of(host, SITE)) == sorted(
        [pageview(host, "/landing"), event("Early Signup", host, "/landing", step="hero")]
    )


def test_an_outbound_link_click_is_recorded_although_the_page_navigates_away(
    footfall: FootfallServer, pages: PageServer, page: Any
) -> None:
    host = "outbound.e2e.test"
    target = pages.url("elsewhere.test", "/landing?from=footfall")
    pages.add(
        "/links",
        html(
            head=tag(footfall, "script.outbound-links.js"),
            body=f'<a id="out" href="{target}">go</a><a id="in" href="/links#top">stay</a>',
        ),
    )
    pages.add("/landing", html(body="another site"))
    before = footfall.acknowledged()
    page.goto(pages.url(host, "/links"))
    footfall.wait_acknowledged(before + 1)
    page.click("#in")  # a link to the same host is no outbound link
    mouse_click(page, "#out")
    page.wait_for_url("http://elsewhere.test:*/landing*")
    # The pageview, the click, and the engagement event sent as the page was hidden.
    footfall.wait_acknowledged(before + 3)
    assert sorted_keys(footfall.rows_of(host, SITE)) == sorted(
        [pageview(host, "/links"), event("Outbound Link: Click", host, "/links", url=target)]
    )


def test_the_compat_script_holds_an_outbound_navigation_until_the_event_is_sent(
    footfall: FootfallServer, pages: PageServer, page: Any
) -> None:
    host = "compat.e2e.test"
    target = pages.url("elsewhere.test", "/landing?from=compat")
    # The tag exactly as `footfall site snippet --extension compat,outbound-links` prints it.
    printed = footfall.cli("site", "snippet", SITE, "--extension", "compat,outbound-links").strip()
    assert ' id="plausible" ' in printed
    pages.add("/old-browser", html(head=printed, body=f'<a id="out" href="{target}">go</a>'))
    pages.add("/landing", html(body="another site"))
    before = footfall.acknowledged()
    page.goto(pages.url(host, "/old-browser"))
    footfall.wait_acknowledged(before + 1)
    mouse_click(page, "#out")
    page.wait_for_url("http://elsewhere.test:*/landing*")
    footfall.wait_acknowledged(before + 2)
    assert sorted_keys(footfall.rows_of(host, SITE)) == sorted(
        [pageview(host, "/old-browser"), event("Outbound Link: Click", host, "/old-browser", url=target)]
    )


def test_file_downloads_are_recorded_without_the_query(
    footfall: FootfallServer, pages: PageServer, page: Any
) -> None:
    host = "downloads.e2e.test"
    links = (
        '<a id="pdf" href="/files/report.pdf?version=2">report</a>'
        '<a id="epub" href="/files/book.epub">book</a>'
        '<a id="page" href="/about.html">about</a>'
    )
    pages.add(
        "/downloads", html(head=tag(footfall, "script.file-downloads.js", add_file_types="epub"), body=links)
    )
    for path in ("/files/report.pdf", "/files/book.epub"):
        pages.add(
            path, b"%PDF-1.4 not really", "application/octet-stream", **{"Content-Disposition": "attachment"}
        )
    pages.add("/about.html", html(body="about us"))
    before = footfall.acknowledged()
    page.goto(pages.url(host, "/downloads"))
    footfall.wait_acknowledged(before + 1)
    for link in ("#pdf", "#epub"):
        with page.expect_download():
            page.click(link)
    mouse_click(page, "#page")  # no file: no event; the page is left, its engagement is sent
    page.wait_for_url("**/about.html")
    footfall.wait_acknowledged(before + 4)
    assert sorted_keys(footfall.rows_of(host, SITE)) == sorted(
        [
            pageview(host, "/downloads"),
            event("File Download", host, "/downloads", url=pages.url(host, "/files/report.pdf")),
            event("File Download", host, "/downloads", url=pages.url(host, "/files/book.epub")),
        ]
    )


def test_tagged_links_buttons_and_forms_send_their_events(
    footfall: FootfallServer, pages: PageServer, context: Any
) -> None:
    host = "tagged.e2e.test"
    body = (
        '<button id="play" class="big plausible-event-name=Play+Video plausible-event-video=intro">'
        "Play</button>"
        '<a id="signup" class="plausible-event-name=Signup+Click plausible-event-plan=pro" href="/signup">'
        "Sign up</a>"
        '<form id="newsletter" class="plausible-event-name=Newsletter plausible-event-list=weekly"'
        ' action="/thanks" method="post"><input name="email" value="a@example.com">'
        '<button id="subscribe" type="submit">Subscribe</button></form>'
    )
    pages.add("/plans", html(head=tag(footfall, "script.tagged-events.js"), body=body))
    pages.add("/signup", html(body="signed up"))
    pages.add("/thanks", html(body="thanks"))
    before = footfall.acknowledged()
    first = context.new_page()
    first.goto(pages.url(host, "/plans"))
    first.click("#play")
    mouse_click(first, "#signup")
    first.wait_for_url("**/signup")
    second = context.new_page()
    second.goto(pages.url(host, "/plans"))
    mouse_click(second, "#subscribe")  # a click inside a form: only the submission counts
    second.wait_for_url("**/thanks")
    # Two pageviews, three tagged events, and two engagement events (both pages were left).
    footfall.wait_acknowledged(before + 7)
    assert sorted_keys(footfall.rows_of(host, SITE)) == sorted(
        [
            pageview(host, "/plans"),
            pageview(host, "/plans"),
            event("Play Video", host, "/plans", video="intro"),
            event("Signup Click", host, "/plans", plan="pro", url=pages.url(host, "/signup")),
            event("Newsletter", host, "/plans", list="weekly"),
        ]
    )


def test_pageview_props_from_script_attributes_go_with_every_event(
    footfall: FootfallServer, pages: PageServer, page: Any
) -> None:
    host = "props.e2e.test"
    snippet = tag(footfall, "script.pageview-props.js", event_author="Ada Lovelace", event_section="essays")
    pages.add("/essays/engines", html(head=snippet))
    before = footfall.acknowledged()
    page.goto(pages.url(host, "/essays/engines"))
    page.wait_for_function("window.plausible && window.plausible.l")
    page.evaluate("plausible('Share', {props: {section: 'footer'}})")  # explicit props win
    footfall.wait_acknowledged(before + 2)
    assert sorted_keys(footfall.rows_of(host, SITE)) == sorted(
        [
            pageview(host, "/essays/engines", author="Ada Lovelace", section="essays"),
            event("Share", host, "/essays/engines", author="Ada Lovelace", section="footer"),
        ]
    )


def test_manual_pageviews_report_the_url_the_page_chooses(
    footfall: FootfallServer, pages: PageServer, page: Any
) -> None:
    host = "manual.e2e.test"
    pages.add("/users/8127/settings", html(head=tag(footfall, "script.manual.js")))
    before = footfall.acknowledged()
    page.goto(pages.url(host, "/users/8127/settings"))
    page.wait_for_function("window.plausible && window.plausible.l")
    result = with_callback(
        page,
        """plausible('pageview', {
            u: location.origin + '/users/:id/settings', callback: resolve,
        })""",
    )
    assert result == {"status": 202}
    footfall.wait_acknowledged(before + 1)
    # No automatic pageview of the real address.
    assert sorted_keys(footfall.rows_of(host, SITE)) == [pageview(host, "/users/:id/settings")]


def test_the_404_helper_records_the_missing_path(
    footfall: FootfallServer, pages: PageServer, page: Any
) -> None:
    host = "notfound.e2e.test"
    # As Plausible's documentation shows it, on the site's error page.
    helper = (
        "<script>document.addEventListener('DOMContentLoaded', function () "
        "{ plausible('404', { props: { path: document.location.pathname } }) })</script>"
    )
    pages.add(
        "/no/such/page",
        html(head=QUEUE_SNIPPET + tag(footfall) + helper, body="Not found"),
        **{"X-Status": "404"},
    )
    before = footfall.acknowledged()
    response = page.goto(pages.url(host, "/no/such/page"))
    assert response is not None and response.status == 404
    footfall.wait_acknowledged(before + 2)
    assert sorted_keys(footfall.rows_of(host, SITE)) == sorted(
        [pageview(host, "/no/such/page"), event("404", host, "/no/such/page", path="/no/such/page")]
    )


def test_localhost_and_127_0_0_1_are_ignored_unless_the_script_is_local(
    footfall: FootfallServer, pages: PageServer, context: Any, events: EventLog
) -> None:
    pages.add("/dev/plain", html(head=tag(footfall)))
    pages.add("/dev/local", html(head=tag(footfall, "script.local.js")))
    before = footfall.acknowledged()
    # The tracker treats every 127.x address like localhost: a developer's machine.
    context.new_page().goto(f"http://localhost:{pages.port}/dev/plain")
    context.new_page().goto(f"http://127.0.0.1:{pages.port}/dev/plain")
    events.wait_console("Ignoring Event: localhost", count=2)
    context.new_page().goto(f"http://localhost:{pages.port}/dev/local")
    footfall.wait_acknowledged(before + 1)
    assert [e.body["u"] for e in events.sent] == [f"http://localhost:{pages.port}/dev/local"]
    assert sorted_keys(footfall.rows_of("localhost", SITE)) == [pageview("localhost", "/dev/local")]
    assert footfall.rows_of("127.0.0.1") == []


def test_the_plausible_ignore_flag_in_local_storage_opts_a_browser_out(
    footfall: FootfallServer, pages: PageServer, page: Any, events: EventLog
) -> None:
    host = "optout.e2e.test"
    pages.add("/blank", html())
    pages.add("/tracked", html(head=tag(footfall)))
    page.goto(pages.url(host, "/blank"))
    page.evaluate("localStorage.plausible_ignore = 'true'")
    before = footfall.acknowledged()
    page.goto(pages.url(host, "/tracked"))
    events.wait_console("Ignoring Event: localStorage flag")
    # A call that is ignored still calls back, with no result.
    assert with_callback(page, "plausible('Signup', {callback: resolve})") is None
    assert events.sent == []
    page.evaluate("localStorage.removeItem('plausible_ignore')")
    page.reload()
    footfall.wait_acknowledged(before + 1)
    assert sorted_keys(footfall.rows_of(host, SITE)) == [pageview(host, "/tracked")]


def test_engagement_records_scroll_depth_and_engaged_time_when_the_page_is_hidden(
    footfall: FootfallServer, pages: PageServer, page: Any
) -> None:
    host = "engagement.e2e.test"
    pages.add("/long-read", html(head=tag(footfall), body=TALL))
    pages.add("/next", html(body="next"))
    before = footfall.acknowledged()
    started = time.monotonic()
    page.goto(pages.url(host, "/long-read"))
    footfall.wait_acknowledged(before + 1)
    page.evaluate("window.scrollTo(0, 2000)")
    wait_until(lambda: page.evaluate("pageYOffset") >= 2000, "the page to scroll")
    document_height = page.evaluate("document.documentElement.scrollHeight")
    page.wait_for_timeout(300)  # some engaged time to report
    page.goto(pages.url(host, "/next"))  # leaving hides the page: the engagement event goes out
    footfall.wait_acknowledged(before + 2)
    elapsed_ms = (time.monotonic() - started) * 1000
    rows = footfall.rows_of(host, SITE, engagement=True)
    assert sorted_keys(r for r in rows if r.name == "pageview") == [pageview(host, "/long-read")]
    engagement = [r for r in rows if r.name == "engagement"]
    assert [(r.pathname, r.props) for r in engagement] == [("/long-read", {})]
    # The deepest point seen: the bottom of the viewport, as % of the document's height.
    viewport = page.viewport_size["height"]
    assert abs(engagement[0].scroll_depth - (2000 + viewport) * 100 / document_height) <= 1
    assert 300 <= engagement[0].engagement_time <= elapsed_ms
