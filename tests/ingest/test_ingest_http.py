"""POST /api/event over HTTP, as browsers and Plausible's clients use it."""

import time

from footfall.meta.db import session_scope
from footfall.meta.models import Site
from footfall.sites.sites import create_site
from tests.ingest.conftest import CHROME_MAC, METRICS_TOKEN

PAGEVIEW = {"n": "pageview", "u": "https://example.com/", "d": "example.com", "r": "https://www.google.com/"}


def test_the_done_when_request_is_stored_with_its_visit(server) -> None:
    response = server.post(PAGEVIEW, headers={"X-Forwarded-For": "85.214.132.117"}, peer="127.0.0.1")
    assert (response.status_code, response.text) == (202, "ok")
    assert response.headers["access-control-allow-origin"] == "*"
    assert "x-plausible-dropped" not in response.headers
    events = server.rows(
        "SELECT name, hostname, pathname, referrer_source, channel, browser, operating_system, screen_size, "
        "country_code FROM {db}.events"
    )
    assert events == [
        {
            "name": "pageview",
            "hostname": "example.com",
            "pathname": "/",
            "referrer_source": "Google",
            "channel": "Organic Search",
            "browser": "Chrome",
            "operating_system": "Mac",
            "screen_size": "Desktop",
            "country_code": "DE",
        }
    ]
    sessions = server.rows(
        "SELECT entry_page, pageviews, is_bounce, referrer_source, country_code FROM {db}.sessions"
    )
    assert sessions == [
        {"entry_page": "/", "pageviews": 1, "is_bounce": 1, "referrer_source": "Google", "country_code": "DE"}
    ]


def test_json_content_type_props_revenue_and_several_domains(server) -> None:
    body = {
        "name": "Purchase",
        "url": "https://example.com/checkout",
        "domain": "example.com,blog.example.org",
        "props": '{"plan":"pro"}',
        "revenue": {"amount": 12.5, "currency": "EUR"},
    }
    response = server.post(body, headers={"Content-Type": "application/json"})
    assert response.status_code == 202
    stored = server.rows(
        "SELECT site_id, name, `meta.key` AS k, `meta.value` AS v, "
        "toString(revenue_source_amount) AS amount, revenue_source_currency AS currency "
        "FROM {db}.events ORDER BY site_id"
    )
    assert [(r["site_id"], r["name"], r["k"], r["v"], r["amount"], r["currency"]) for r in stored] == [
        (1, "Purchase", ["plan"], ["pro"], "12.5", "EUR"),
        (2, "Purchase", ["plan"], ["pro"], "12.5", "EUR"),
    ]


def test_engagement_is_answered_and_stored_for_time_on_page(server) -> None:
    server.post({"n": "pageview", "u": "https://example.com/a", "d": "example.com"})
    response = server.post(
        {"n": "engagement", "u": "https://example.com/a", "d": "example.com", "sd": 55, "e": 4200}
    )
    assert response.status_code == 202
    stored = server.rows("SELECT name, scroll_depth, engagement_time FROM {db}.events ORDER BY name")
    assert stored == [
        {"name": "engagement", "scroll_depth": 55, "engagement_time": 4200},
        {"name": "pageview", "scroll_depth": 0, "engagement_time": 0},
    ]


def test_dropped_events_get_202_with_the_dropped_header(server) -> None:
    cases = [
        ({**PAGEVIEW, "d": "unknown.example.net"}, {}),
        (
            PAGEVIEW,
            {"User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"},
        ),
        ({**PAGEVIEW, "r": "http://semalt.semalt.com/crawler.php?u=x"}, {}),
    ]
    for body, headers in cases:
        response = server.post(body, headers=headers)
        assert (response.status_code, response.text, response.headers["x-plausible-dropped"]) == (
            202,
            "ok",
            "1",
        )
    with session_scope(server.services.sessions) as db:
        db.query(Site).filter(Site.domain == "blog.example.org").update({"ingest_enabled": False})
    server.app.state.ingestion.pipeline.sites._cache.clear()  # instead of waiting out its second
    response = server.post({**PAGEVIEW, "d": "blog.example.org"})
    assert response.headers["x-plausible-dropped"] == "1"
    assert server.rows("SELECT count() AS n FROM {db}.events") == [{"n": 0}]
    metrics = server.request("GET", "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
    for reason in ("unknown_site", "bot", "spam_referrer", "ingest_disabled"):
        assert f'footfall_ingest_events_total{{outcome="dropped",reason="{reason}"}}' in metrics


def test_a_site_created_while_running_receives_events_within_a_second(server, monkeypatch) -> None:
    import footfall.ingest.pipeline as pipeline

    body = {"n": "pageview", "u": "https://new.example.net/", "d": "new.example.net"}
    assert server.post(body).headers.get("x-plausible-dropped") == "1"
    with session_scope(server.services.sessions) as db:
        create_site(db, "new.example.net")
    later = time.monotonic() + 1.0
    monkeypatch.setattr(pipeline.time, "monotonic", lambda: later)
    response = server.post(body)
    assert "x-plausible-dropped" not in response.headers
    assert server.rows("SELECT count() AS n FROM {db}.events") == [{"n": 1}]


def test_invalid_requests_get_400_naming_the_field(server) -> None:
    response = server.post('{"n":"pageview","d":"example.com"}')
    assert response.status_code == 400
    assert response.json() == {"errors": {"url": ["is required"]}}
    assert response.headers["access-control-allow-origin"] == "*"
    assert server.post("{nope").json() == {"errors": {"request": ["Unable to parse request body as json"]}}


def test_bodies_over_the_limit_get_413(server) -> None:
    limit = server.services.settings.max_body_bytes
    body = '{"n":"pageview","u":"https://example.com/","d":"example.com","x":"' + "a" * limit + '"}'
    response = server.post(body)
    assert response.status_code == 413
    assert "errors" in response.json()


def test_cors_preflight_and_other_methods(server) -> None:
    preflight = server.request(
        "OPTIONS",
        "/api/event",
        headers={"Origin": "https://example.com", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert server.request("GET", "/api/event").status_code == 405


def test_unknown_fields_and_null_referrer_are_accepted(server) -> None:
    body = {
        "n": "pageview",
        "u": "https://example.com:8443/x",
        "d": "example.com",
        "r": None,
        "v": 3,
        "w": 390,
    }
    assert server.post(body, headers={"User-Agent": CHROME_MAC}).status_code == 202
    assert server.rows("SELECT hostname, pathname, channel FROM {db}.events") == [
        {"hostname": "example.com", "pathname": "/x", "channel": "Direct"}
    ]


def test_a_full_write_ahead_log_answers_503_with_retry_after(server, monkeypatch) -> None:
    monkeypatch.setattr(server.app.state.ingestion.buffer, "has_room", lambda: False)
    response = server.post(PAGEVIEW)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "10"
    assert response.headers["access-control-allow-origin"] == "*"
    assert "errors" in response.json()


def test_store_down_fills_the_log_to_its_limit_then_503_and_everything_acknowledged_is_stored_later(
    services_with, event_store
) -> None:
    """End to end through the app: the event store refuses inserts, tracker posts go on being
    acknowledged into the write-ahead log until WAL_MAX_BYTES, then 503 with Retry-After;
    once the store is back, every acknowledged event is stored, and posts are accepted again."""
    from footfall.ingest.buffer import ensure_deduplication
    from tests.ingest.conftest import Server
    from tests.ingest.test_ingest_buffer import FlakyStore

    ensure_deduplication(event_store)
    flaky = FlakyStore(event_store)
    flaky.down = True
    services = services_with(events=flaky, WAL_MAX_BYTES=str(1024 * 1024), FLUSH_INTERVAL_MS="20")
    acknowledged = 0
    with Server(services) as server:
        while True:
            body = {**PAGEVIEW, "u": f"https://example.com/{acknowledged}", "p": {"padding": "x" * 500}}
            response = server.post(body, headers={"X-Forwarded-For": f"85.214.{acknowledged % 250}.7"})
            if response.status_code != 202:
                break
            acknowledged += 1
        assert response.status_code == 503
        assert response.headers["retry-after"] == "10"
        full = "the event store is unreachable and the write-ahead log is full; retry later"
        assert response.json() == {"errors": {"request": [full]}}
        assert 300 < acknowledged < 1500  # a mebibyte of records of about 2 KB (props twice: event, visit)
        assert event_store.query("SELECT count() FROM {db}.events").scalar() == 0
        flaky.down = False
        server.flush()
        assert event_store.query("SELECT count() FROM {db}.events").scalar() == acknowledged
        assert server.post({**PAGEVIEW, "u": "https://example.com/after"}).status_code == 202
        server.flush()
        assert event_store.query("SELECT count() FROM {db}.events").scalar() == acknowledged + 1


def test_the_same_body_from_two_visitors_records_two_visits_with_their_own_devices(server) -> None:
    body = {"n": "pageview", "u": "https://example.com/same", "d": "example.com", "r": "https://t.co/x"}
    firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
    for address, agent in (("85.214.132.117", None), ("81.2.69.160", firefox)):
        headers = {"X-Forwarded-For": address, **({"User-Agent": agent} if agent else {})}
        assert server.post(body, headers=headers, peer="127.0.0.1").status_code == 202
    assert server.post({**body, "u": "https://example.com/other"}).status_code == 202
    events = server.rows(
        "SELECT pathname, referrer_source, browser, country_code FROM {db}.events ORDER BY browser, pathname"
    )
    assert events == [
        {"pathname": "/other", "referrer_source": "Twitter", "browser": "Chrome", "country_code": ""},
        {"pathname": "/same", "referrer_source": "Twitter", "browser": "Chrome", "country_code": "DE"},
        {"pathname": "/same", "referrer_source": "Twitter", "browser": "Firefox", "country_code": "GB"},
    ]
    assert server.rows("SELECT uniqExact(user_id) AS visitors FROM {db}.events") == [{"visitors": 3}]


def _step_samples(metrics: str) -> dict[str, tuple[float, float]]:
    """footfall_ingest_step_seconds from /metrics: step -> (count, sum)."""
    found: dict[str, list[float]] = {}
    for line in metrics.splitlines():
        for suffix, index in (("_count", 0), ("_sum", 1)):
            prefix = f"footfall_ingest_step_seconds{suffix}{{"
            if line.startswith(prefix):
                step = line[len(prefix) :].split('"')[1]
                found.setdefault(step, [0.0, 0.0])[index] = float(line.rsplit(" ", 1)[1])
    return {step: (count, total) for step, (count, total) in found.items()}


def test_every_step_of_the_pipeline_is_timed_for_a_sample_of_events(server) -> None:
    from footfall.ingest.pipeline import TIME_EVERY

    def samples() -> dict[str, tuple[float, float]]:
        return _step_samples(
            server.request("GET", "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
        )

    before = samples()
    for number in range(TIME_EVERY * 3):
        assert server.post({**PAGEVIEW, "u": f"https://example.com/page/{number}"}).status_code == 202
    after = samples()
    steps = [name for name, _ in server.app.state.ingestion.pipeline.steps]
    assert "register_session" in steps and "find_site" in steps
    for name in steps:
        count, total = after[name]
        earlier_count, earlier_total = before.get(name, (0.0, 0.0))
        # Every accepted event ran every step; one in TIME_EVERY of them was timed.
        assert count - earlier_count == 3, name
        assert total > earlier_total, name


def test_a_body_the_parser_fails_on_is_a_400_not_a_server_error(server, monkeypatch, caplog) -> None:
    import footfall.ingest.request as request_module

    class Broken:
        """Stands in for the body decoder with a bug (a module global: compiled code reads it too)."""

        def decode(self, body: bytes) -> dict:
            raise RuntimeError("a parsing bug")

    monkeypatch.setattr(request_module, "_decoder", Broken())
    response = server.post({**PAGEVIEW, "u": "https://example.com/never-parsed"})
    assert response.status_code == 400
    assert response.json() == {"errors": {"request": ["the body could not be read as an event"]}}
    assert "cannot parse an event body" in caplog.text
