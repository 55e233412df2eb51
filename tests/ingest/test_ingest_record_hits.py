"""record_hits: the Python entry point fixtures and imports use, end to end into the store."""

from datetime import datetime, timedelta

from footfall.ingest.api import Hit, record_hits
from tests.ingest.conftest import CHROME_MAC, SAFARI_IPHONE, rows

T0 = datetime(2026, 3, 2, 10, 0, 0)


def test_record_hits_stores_event_and_session(services) -> None:
    outcomes = record_hits(
        services,
        [
            Hit(
                "pageview",
                "https://example.com/",
                "example.com",
                CHROME_MAC,
                "85.214.132.117",
                T0,
                referrer="https://www.google.com/",
            ),
            Hit(
                "pageview",
                "https://example.com/pricing",
                "example.com",
                CHROME_MAC,
                "85.214.132.117",
                T0 + timedelta(seconds=40),
            ),
            Hit("pageview", "https://www.example.com/", "example.com", SAFARI_IPHONE, "81.2.69.142", T0),
        ],
    )
    assert [o.accepted for o in outcomes] == [True, True, True]
    events = rows(services, "SELECT * FROM {db}.events ORDER BY timestamp, browser")
    assert len(events) == 3
    print(events[0])
    sessions = rows(
        services,
        "SELECT session_id, any(entry_page) e, sum(sign * pageviews) pv, sum(sign * duration) d, "
        "sum(sign * is_bounce) b, any(referrer_source) src, any(channel) ch, any(browser) br "
        "FROM {db}.sessions GROUP BY session_id HAVING sum(sign) > 0 ORDER BY br",
    )
    print(sessions)
    assert [(s["pv"], s["d"], s["b"], s["src"], s["ch"], s["br"]) for s in sessions] == [
        (2, 40, 0, "Google", "Organic Search", "Chrome"),
        (1, 0, 1, "", "Direct", "Safari"),
    ]


def test_record_hits_rejects_what_the_endpoint_would_answer_400(services) -> None:
    import pytest

    from footfall.ingest.api import RequestInvalid

    with pytest.raises(RequestInvalid) as caught:
        record_hits(services, [Hit("pageview", "data:text/html,x", "example.com", CHROME_MAC, "1.2.3.4", T0)])
    assert caught.value.errors == {"url": ["scheme is not allowed"]}
