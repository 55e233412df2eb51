"""A site's own retention (`sites.retention_days`): its rows older than its cutoff go from
every table of native rows, other sites keep theirs, imported tables are left alone, a site
with nothing that old is not rewritten, and DATA_RETENTION_DAYS still drops old partitions.
Events in chDB; metadata in SQLite and in PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from footfall.events.deletion import IMPORTED_PREFIX, RETENTION_TIME_COLUMNS, site_tables
from footfall.events.schema import EVENTS_COLUMNS, SESSIONS_COLUMNS
from footfall.meta.db import make_engine, make_sessionmaker, migrate, session_scope
from footfall.meta.models import Site
from footfall.ops.admin import Job
from footfall.ops.retention import apply_site_retention, retention_command
from footfall.services import Services
from footfall.sites.sites import create_site

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
OLD = (NOW - timedelta(days=40)).replace(tzinfo=None)  # 27 October
RECENT = (NOW - timedelta(days=5)).replace(tzinfo=None)  # 1 December


def event(site_id: int, when: datetime) -> tuple:
    row = dict.fromkeys(EVENTS_COLUMNS, "")
    row.update(
        timestamp=when,
        site_id=site_id,
        user_id=7,
        session_id=11,
        name="pageview",
        pathname="/",
        **{"meta.key": [], "meta.value": []},
        revenue_source_amount=None,
        revenue_reporting_amount=None,
        interactive=1,
        scroll_depth=0,
        engagement_time=0,
    )
    return tuple(row[c] for c in EVENTS_COLUMNS)


def session(site_id: int, when: datetime) -> tuple:
    row = dict.fromkeys(SESSIONS_COLUMNS, "")
    row.update(
        session_id=11,
        sign=1,
        version=1,
        site_id=site_id,
        user_id=7,
        start=when,
        timestamp=when,
        pageviews=1,
        events=1,
        duration=0,
        is_bounce=1,
        **{"entry_meta.key": [], "entry_meta.value": []},
    )
    return tuple(row[c] for c in SESSIONS_COLUMNS)


def seed(store, site_id: int, old: datetime = OLD, recent: datetime = RECENT) -> None:
    """One old and one recent row of `site_id` in every kind of table."""
    store.insert("events", EVENTS_COLUMNS, [event(site_id, old), event(site_id, recent)])
    store.insert("sessions", SESSIONS_COLUMNS, [session(site_id, old), session(site_id, recent)])
    for when in (old, recent):
        day = when.date()
        store.command(
            "INSERT INTO {db}.daily_events (site_id, day, generation, kind, value, visitors, pageviews, "
            "events) VALUES ({s:UInt64}, {d:Date}, 1, 'page', '/', 1, 1, 1)",
            {"s": site_id, "d": day},
        )
        store.command(
            "INSERT INTO {db}.daily_filtered_events (site_id, day, generation, filter, fvalue, kind, "
            "value, visitors, pageviews, events) "
            "VALUES ({s:UInt64}, {d:Date}, 1, 'country', 'DE', 'page', '/', 1, 1, 1)",
            {"s": site_id, "d": day},
        )
        store.command(
            "INSERT INTO {db}.daily_marks (site_id, day, part, state, generation, goals, at) "
            "VALUES ({s:UInt64}, {d:Date}, 'events', 1, 1, [], now64())",
            {"s": site_id, "d": day},
        )
        store.command(
            "INSERT INTO {db}.imported_pages (site_id, import_id, date, hostname, page, visits, "
            "visitors, pageviews) VALUES ({s:UInt64}, 1, {d:Date}, '', '/', 1, 1, 1)",
            {"s": site_id, "d": day},
        )


def days_of(store, table: str, site_id: int) -> set[date]:
    column = RETENTION_TIME_COLUMNS.get(table, "date")
    rows = store.query(
        f"SELECT DISTINCT toDate({column}) FROM {{db}}.{table} WHERE site_id = {{s:UInt64}}", {"s": site_id}
    ).rows
    return {row[0] for row in rows}


@pytest.fixture
def services(metadata_url, event_store, make_settings) -> Iterator[Services]:
    engine = make_engine(metadata_url)
    migrate(engine)
    made = Services(
        settings=make_settings(DATABASE_URL=metadata_url, DATA_RETENTION_DAYS="400"),
        engine=engine,
        sessions=make_sessionmaker(engine),
        events=event_store,
    )
    yield made
    engine.dispose()


def add_site(services: Services, domain: str, retention_days: int | None) -> int:
    with session_scope(services.sessions) as db:
        site = create_site(db, domain)
        site.retention_days = retention_days
        db.flush()
        return site.id


def mutations(store) -> int:
    return store.query(
        "SELECT count() FROM system.mutations WHERE database = {d:String}", {"d": store.database}
    ).rows[0][0]


def test_every_table_of_site_rows_is_covered_by_retention_or_is_an_imported_table(event_store) -> None:
    tables = site_tables(event_store)
    assert [t for t in tables if t not in RETENTION_TIME_COLUMNS and not t.startswith(IMPORTED_PREFIX)] == []
    assert set(RETENTION_TIME_COLUMNS) <= set(tables)


def test_a_site_with_30_days_loses_its_40_day_old_rows_and_another_site_keeps_them(services) -> None:
    store = services.events
    short = add_site(services, "short.example", 30)
    other = add_site(services, "other.example", None)
    patient = add_site(services, "patient.example", 365)  # nothing of it is that old
    for site_id in (short, other, patient):
        seed(store, site_id)
    native = [t for t in RETENTION_TIME_COLUMNS if t != "daily_sessions" and t != "daily_filtered_sessions"]
    for table in native:
        assert days_of(store, table, short) == {OLD.date(), RECENT.date()}, table

    before = mutations(store)
    done = apply_site_retention(services, 400, NOW)
    assert set(done) == {"short.example", "patient.example"}
    assert done["patient.example"] == []  # nothing older than a year: looked at, not rewritten
    assert set(done["short.example"]) == set(native)
    assert mutations(store) - before == len(native)  # one delete per table that had old rows
    for table in native:
        assert days_of(store, table, short) == {RECENT.date()}, table
        assert days_of(store, table, other) == {OLD.date(), RECENT.date()}, table
        assert days_of(store, table, patient) == {OLD.date(), RECENT.date()}, table
    # Imported statistics are not touched by retention.
    assert days_of(store, "imported_pages", short) == {OLD.date(), RECENT.date()}

    # At most once a day: the same day's run looks at nobody; the next day's does again.
    assert apply_site_retention(services, 400, NOW + timedelta(hours=3)) == {}
    assert mutations(store) - before == len(native)
    later = apply_site_retention(services, 400, NOW + timedelta(days=1))
    assert later == {"short.example": [], "patient.example": []}
    assert mutations(store) - before == len(native)

    # A shorter global limit caps a site's own: 365 days with DATA_RETENTION_DAYS=20.
    capped = apply_site_retention(services, 20, NOW + timedelta(days=1))
    assert "events" in capped["patient.example"]
    assert days_of(store, "events", patient) == {RECENT.date()}


def test_the_retention_command_applies_the_global_limit_and_the_sites_own(services) -> None:
    store = services.events
    now = datetime.now(UTC).replace(tzinfo=None)  # the command runs at the real time
    old, recent, ancient = now - timedelta(days=40), now - timedelta(days=5), now - timedelta(days=500)
    short = add_site(services, "short.example", 30)
    other = add_site(services, "other.example", None)
    seed(store, short, old, recent)
    seed(store, other, old, recent)
    store.insert("events", EVENTS_COLUMNS, [event(other, ancient)])
    assert ancient.date() in days_of(store, "events", other)

    result = retention_command(Job(services=services, via="direct"), {})
    assert result["days"] == 400
    assert f"events/{ancient:%Y%m}" in result["dropped"]  # the global limit drops the old month
    assert "events" in result["sites"]["short.example"]
    assert days_of(store, "events", other) == {old.date(), recent.date()}
    assert days_of(store, "events", short) == {recent.date()}
    with session_scope(services.sessions) as db:
        assert db.get(Site, short).retention_days == 30
