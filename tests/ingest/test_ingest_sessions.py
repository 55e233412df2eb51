"""Visits across several visitors, with the in-process and the Redis session cache."""

from datetime import datetime, timedelta

import pytest

from footfall.ingest.api import DropReason, Hit, record_hits
from footfall.ingest.ingestion import ingestion_for
from footfall.ingest.sessions import RedisSessionCache
from tests.ingest.conftest import CHROME_MAC, FIREFOX_LINUX, SAFARI_IPHONE, rows, run_async

T0 = datetime(2026, 3, 2, 10, 0, 0)
ANNA = (CHROME_MAC, "85.214.132.117")
BEN = (SAFARI_IPHONE, "81.2.69.142")
CARA = (FIREFOX_LINUX, "8.8.8.8")

VISITS_SQL = """
    SELECT user_id, session_id, min(start) AS start, argMax(entry_page, version) AS entry,
           argMax(exit_page, version) AS exit, sum(sign * pageviews) AS pageviews,
           sum(sign * events) AS events, sum(sign * duration) AS duration,
           sum(sign * is_bounce) AS bounce, any(referrer_source) AS source, any(browser) AS browser,
           any(country_code) AS country
    FROM {db}.sessions GROUP BY user_id, session_id HAVING sum(sign) > 0 ORDER BY start, browser
"""


@pytest.fixture(params=["memory", "redis"])
def backend(request, services, make_settings):
    if request.param == "redis":
        redis_url = request.getfixturevalue("redis_url")
        services.settings = make_settings(DATABASE_URL=services.settings.database_url, REDIS_URL=redis_url)
        assert isinstance(ingestion_for(services).session_cache, RedisSessionCache)
    return services


def hit(who, at: timedelta, path: str = "/", name: str = "pageview", **kwargs) -> Hit:
    ua, ip = who
    return Hit(name, f"https://example.com{path}", "example.com", ua, ip, T0 + at, **kwargs)


def test_visits_of_three_visitors(backend) -> None:
    m = timedelta(minutes=1)
    outcomes = record_hits(
        backend,
        [
            hit(ANNA, 0 * m, "/", referrer="https://www.google.com/"),
            hit(BEN, 0 * m, "/pricing"),
            hit(ANNA, 2 * m, "/docs"),
            hit(CARA, 3 * m, "/", name="Signup", props={"plan": "pro"}),
            hit(ANNA, 5 * m, "/docs/install"),
            hit(
                ANNA,
                5 * m + timedelta(seconds=30),
                "/docs/install",
                name="engagement",
                engagement_time=20_000,
            ),
            # 31 minutes of silence: Anna's next pageview starts a second visit.
            hit(ANNA, 36 * m + timedelta(seconds=31), "/blog"),
        ],
    )
    assert all(o.accepted for o in outcomes)
    visits = [
        (
            v["browser"],
            v["entry"],
            v["exit"],
            v["pageviews"],
            v["events"],
            v["duration"],
            v["bounce"],
            v["source"],
        )
        for v in rows(backend, VISITS_SQL)
    ]
    assert visits == [
        ("Chrome", "/", "/docs/install", 3, 3, 300, 0, "Google"),
        ("Safari", "/pricing", "/pricing", 1, 1, 0, 1, ""),
        ("Firefox", "", "", 0, 1, 0, 1, ""),
        ("Chrome", "/blog", "/blog", 1, 1, 0, 1, ""),
    ]
    events = rows(
        backend,
        "SELECT name, pathname, referrer_source, engagement_time, session_id FROM {db}.events "
        "ORDER BY timestamp, name",
    )
    engagement = next(e for e in events if e["name"] == "engagement")
    first_visit = next(e for e in events if e["pathname"] == "/docs/install" and e["name"] == "pageview")
    assert engagement["engagement_time"] == 20_000
    assert engagement["session_id"] == first_visit["session_id"]
    # Events carry their visit's source, as Plausible's do.
    assert [e["referrer_source"] for e in events if e["session_id"] == first_visit["session_id"]] == [
        "Google"
    ] * 4


def test_an_interactive_custom_event_ends_a_bounce_and_a_non_interactive_one_does_not(backend) -> None:
    s = timedelta(seconds=1)
    record_hits(
        backend,
        [
            hit(ANNA, 0 * s, "/"),
            hit(ANNA, 10 * s, "/", name="Scroll", interactive=False),
            hit(BEN, 0 * s, "/"),
            hit(BEN, 20 * s, "/", name="Download"),
        ],
    )
    by_browser = {v["browser"]: v for v in rows(backend, VISITS_SQL)}
    assert (by_browser["Chrome"]["bounce"], by_browser["Chrome"]["events"]) == (1, 2)
    assert (by_browser["Safari"]["bounce"], by_browser["Safari"]["duration"]) == (0, 20)


def test_an_engagement_without_a_visit_is_dropped(backend) -> None:
    outcomes = record_hits(backend, [hit(ANNA, timedelta(0), name="engagement", scroll_depth=40)])
    assert [(o.accepted, o.drop_reason) for o in outcomes] == [(False, DropReason.no_session_for_engagement)]
    assert rows(backend, "SELECT count() AS n FROM {db}.events") == [{"n": 0}]


def test_a_visit_spanning_midnight_stays_one_visit(backend) -> None:
    late = datetime(2026, 3, 2, 23, 50)
    ua, ip = ANNA
    record_hits(
        backend,
        [
            Hit("pageview", "https://example.com/a", "example.com", ua, ip, late),
            Hit("pageview", "https://example.com/b", "example.com", ua, ip, late + timedelta(minutes=20)),
        ],
    )
    visits = rows(backend, VISITS_SQL)
    assert [(v["entry"], v["exit"], v["pageviews"], v["duration"]) for v in visits] == [("/a", "/b", 2, 1200)]
    # Each event carries the id of its own day's salt; the visit keeps the id it started with,
    # so visits that start on different days never share a visitor id (footfall.stats.daily).
    ids = rows(backend, "SELECT DISTINCT user_id FROM {db}.events")
    assert len(ids) == 2
    first_id = rows(backend, "SELECT user_id FROM {db}.events ORDER BY timestamp LIMIT 1")
    assert rows(backend, "SELECT DISTINCT user_id FROM {db}.sessions") == first_id


def test_sessions_are_exact_by_sign_before_and_after_collapsing(backend) -> None:
    # Two separate writes, so the store holds the cancel rows until it merges the parts.
    record_hits(backend, [hit(ANNA, timedelta(seconds=i * 10), f"/p{i}") for i in range(3)])
    record_hits(backend, [hit(ANNA, timedelta(seconds=30 + i * 10), f"/q{i}") for i in range(2)])
    raw = rows(backend, "SELECT sign, version, pageviews FROM {db}.sessions ORDER BY version, sign")
    assert (-1, 3, 3) in [(r["sign"], r["version"], r["pageviews"]) for r in raw]
    totals = rows(
        backend, "SELECT sum(sign) AS visits, sum(sign * pageviews) AS pageviews FROM {db}.sessions"
    )
    assert totals == [{"visits": 1, "pageviews": 5}]
    final = rows(backend, "SELECT pageviews, version, exit_page FROM {db}.sessions FINAL")
    assert final == [{"pageviews": 5, "version": 5, "exit_page": "/q1"}]


def test_with_visits_in_redis_the_http_handler_waits_for_them_off_the_event_loop(
    services, make_settings, redis_url
) -> None:
    """Concurrent posts from two visitors, their visits kept in Redis by worker threads: each
    visit has every pageview, and the counters (kept by the web loop) count every event."""
    import asyncio
    import json

    import httpx

    from footfall.app import create_app
    from footfall.ingest import metrics
    from tests.ingest.conftest import SAFARI_IPHONE

    services.settings = make_settings(DATABASE_URL=services.settings.database_url, REDIS_URL=redis_url)
    app = create_app(services.settings, services)
    before = metrics.EVENTS.counts.get(("accepted", "pageview"), 0)

    async def post_all() -> list[int]:
        transport = httpx.ASGITransport(app=app, client=("198.51.100.1", 50000))
        async with app.router.lifespan_context(app):
            assert ingestion_for(services).executor is not None
            async with httpx.AsyncClient(transport=transport, base_url="http://footfall") as client:

                async def post(ua: str, _ip: str, path: str) -> int:
                    body = json.dumps(
                        {"n": "pageview", "u": f"https://example.com{path}", "d": "example.com"}
                    )
                    headers = {"User-Agent": ua, "Content-Type": "text/plain"}
                    response = await client.post("/api/event", content=body, headers=headers)
                    return response.status_code

                first = [post(ANNA[0], ANNA[1], "/"), post(SAFARI_IPHONE, "89.160.20.112", "/")]
                statuses = await asyncio.gather(*first)
                rest = [post(ANNA[0], ANNA[1], f"/a{i}") for i in range(5)]
                rest += [post(SAFARI_IPHONE, "89.160.20.112", f"/b{i}") for i in range(3)]
                for task in rest:  # one visitor's events in order, the two visitors interleaved
                    statuses.append(await task)
                assert ingestion_for(services).buffer.flush(timeout=30)
                return statuses

    # The peer (198.51.100.1) is no trusted proxy, so both visitors have its address and
    # differ by their user agents.
    assert run_async(post_all()) == [202] * 10
    visits = rows(services, VISITS_SQL)
    assert sorted(v["pageviews"] for v in visits) == [4, 6]
    assert metrics.EVENTS.counts[("accepted", "pageview")] - before == 10
