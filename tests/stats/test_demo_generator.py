"""The demo generator (footfall demo, bench/query) writes events and visits that agree with each other."""

from __future__ import annotations

from datetime import date

from footfall.demo import generate


def test_generated_events_and_visits_agree(event_store) -> None:
    result = generate(event_store, 5, "demo.example", events=20_000, days=3, last_day=date(2026, 3, 10))
    assert result.first_day == date(2026, 3, 8)
    assert 15_000 < result.events < 25_000
    sessions = event_store.query(
        "SELECT sum(sign), sum(sign * pageviews), sum(sign * events), uniq(user_id), "
        "min(start), max(start) FROM {db}.sessions WHERE site_id = 5"
    ).rows[0]
    events = event_store.query(
        "SELECT countIf(name = 'pageview'), countIf(name != 'engagement'), uniq(session_id), "
        "uniqIf(session_id, name = 'pageview') FROM {db}.events WHERE site_id = 5"
    ).rows[0]
    visits, pageviews, counted_events, _visitors, first_start, last_start = sessions
    assert visits == result.visits == events[2] == events[3]
    assert pageviews == events[0]
    assert counted_events == events[1]
    assert first_start.date() >= date(2026, 3, 8)
    assert last_start.date() <= date(2026, 3, 10)
    # Every visit's entry page is the page of its first pageview.
    mismatched = event_store.query(
        "SELECT count() FROM (SELECT session_id, argMin(pathname, timestamp) AS first_page FROM {db}.events "
        "WHERE name = 'pageview' GROUP BY session_id) AS e "
        "JOIN (SELECT session_id, any(entry_page) AS entry_page FROM {db}.sessions GROUP BY session_id) AS s "
        "USING (session_id) WHERE first_page != entry_page"
    ).scalar()
    assert mismatched == 0
