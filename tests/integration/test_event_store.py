"""The event store on ClickHouse's own engine (chDB): DDL, batch insert, read-back."""

import re
import uuid
from datetime import datetime
from decimal import Decimal

import pytest

from footfall.events.schema import EVENTS_COLUMNS, SESSIONS_COLUMNS, latest_version
from footfall.events.store import EventStoreError, migrate_events, schema_version


def _event(i: int, **overrides):
    row = dict.fromkeys(EVENTS_COLUMNS, "")
    row.update(
        timestamp=datetime(2026, 11, 1, 12, 0, i % 60),
        site_id=1,
        user_id=1000 + i % 7,
        session_id=5000 + i % 7,
        name="pageview",
        hostname="example.com",
        pathname=f"/page/{i % 13}",
        country_code="DE",
        **{"meta.key": [], "meta.value": []},
        revenue_source_amount=None,
        revenue_reporting_amount=None,
        interactive=1,
        scroll_depth=0,
        engagement_time=0,
    )
    row.update(overrides)
    return tuple(row[c] for c in EVENTS_COLUMNS)


def test_migrations_are_recorded_and_idempotent(event_store) -> None:
    assert schema_version(event_store) == latest_version()
    assert migrate_events(event_store) == []
    tables = {r[0] for r in event_store.query("SHOW TABLES FROM {db}").rows}
    assert {"events", "sessions", "schema_migrations"} <= tables


def test_a_batch_of_thousands_of_events_is_one_insert_and_reads_back(event_store) -> None:
    rows = [_event(i) for i in range(20_000)]
    rows.append(
        _event(
            99_999,
            name="Purchase",
            pathname="/checkout",
            **{"meta.key": ["plan", "coupon"], "meta.value": ["pro", "BF26"]},
            revenue_source_amount=Decimal("19.99"),
            revenue_source_currency="EUR",
        )
    )
    assert event_store.insert("events", EVENTS_COLUMNS, rows) == 20_001
    result = event_store.query(
        "SELECT count() AS events, uniq(user_id) AS visitors, uniqExact(pathname) AS pages "
        "FROM {db}.events WHERE site_id = {site:UInt64}",
        {"site": 1},
    )
    assert result.dicts() == [{"events": 20_001, "visitors": 7, "pages": 14}]
    purchase = event_store.query(
        "SELECT timestamp, `meta.key`, `meta.value`, revenue_source_amount, revenue_source_currency "
        "FROM {db}.events WHERE name = {name:String}",
        {"name": "Purchase"},
    ).rows
    assert purchase == [
        (datetime(2026, 11, 1, 12, 0, 39), ["plan", "coupon"], ["pro", "BF26"], Decimal("19.990"), "EUR")
    ]


def test_sessions_collapse_exactly_with_sign(event_store) -> None:
    base = dict.fromkeys(SESSIONS_COLUMNS, "")
    base.update(
        session_id=1,
        site_id=1,
        user_id=9,
        start=datetime(2026, 11, 1, 10, 0),
        timestamp=datetime(2026, 11, 1, 10, 0),
        pageviews=1,
        events=1,
        duration=0,
        is_bounce=1,
        **{"entry_meta.key": [], "entry_meta.value": []},
    )
    first = {**base, "sign": 1, "version": 1}
    cancel = {**first, "sign": -1}
    second = {
        **base,
        "sign": 1,
        "version": 2,
        "pageviews": 2,
        "events": 2,
        "is_bounce": 0,
        "duration": 60,
        "timestamp": datetime(2026, 11, 1, 10, 1),
    }
    event_store.insert("sessions", SESSIONS_COLUMNS, [tuple(first[c] for c in SESSIONS_COLUMNS)])
    event_store.insert(
        "sessions", SESSIONS_COLUMNS, [tuple(r[c] for c in SESSIONS_COLUMNS) for r in (cancel, second)]
    )
    totals = event_store.query(
        "SELECT sum(sign) AS visits, sum(sign * pageviews) AS pageviews, "
        "sum(sign * is_bounce) AS bounces, sum(sign * duration) AS duration FROM {db}.sessions"
    ).dicts()
    assert totals == [{"visits": 1, "pageviews": 2, "bounces": 0, "duration": 60}]


def test_values_are_bound_parameters_not_spliced_sql(event_store) -> None:
    event_store.insert("events", EVENTS_COLUMNS, [_event(1, pathname="/a'; DROP TABLE x; --")])
    found = event_store.query(
        "SELECT count() FROM {db}.events WHERE pathname = {p:String}", {"p": "/a'; DROP TABLE x; --"}
    )
    assert found.scalar() == 1


def test_bad_sql_raises_a_one_line_store_error(event_store) -> None:
    with pytest.raises(EventStoreError) as raised:
        event_store.query("SELECT nope FROM {db}.events")
    assert "\n" not in str(raised.value) and "nope" in str(raised.value)


def test_rows_encoded_as_messagepack_are_inserted_with_every_column_type(event_store) -> None:
    """What the write buffer sends: each row a MessagePack array, times as unix seconds and
    decimals as text; the engine casts them to the table's types."""
    import msgspec

    encode = msgspec.msgpack.Encoder().encode
    at = 1_793_611_805  # 2026-11-02 09:30:05 UTC
    purchase = dict(zip(EVENTS_COLUMNS, _event(1), strict=True))
    purchase.update(
        timestamp=at,
        name="Purchase",
        pathname="/checkout?a='b'",
        **{"meta.key": ["plan", "coupon"], "meta.value": ["pro", "ünïcode ✓"]},
        revenue_source_amount="19.99",
        revenue_source_currency="EUR",
        revenue_reporting_amount=None,
        engagement_time=4_000_000_000,
    )
    plain = {**purchase, "name": "pageview", "revenue_source_amount": None, "meta.key": [], "meta.value": []}
    data = b"".join(encode([row[c] for c in EVENTS_COLUMNS]) for row in (purchase, plain))
    assert event_store.insert_msgpack("events", EVENTS_COLUMNS, data, 2) == 2
    stored = event_store.query(
        "SELECT name, timestamp, pathname, `meta.key`, `meta.value`, revenue_source_amount, "
        "revenue_reporting_amount, engagement_time FROM {db}.events ORDER BY name"
    ).rows
    assert stored == [
        (
            "Purchase",
            datetime(2026, 11, 2, 9, 30, 5),
            "/checkout?a='b'",
            ["plan", "coupon"],
            ["pro", "ünïcode ✓"],
            Decimal("19.990"),
            None,
            4_000_000_000,
        ),
        ("pageview", datetime(2026, 11, 2, 9, 30, 5), "/checkout?a='b'", [], [], None, None, 4_000_000_000),
    ]
    session = dict.fromkeys(SESSIONS_COLUMNS, "")
    session.update(
        session_id=2**63 - 1,
        sign=-1,
        version=3,
        site_id=1,
        user_id=2**64 - 1,
        start=at,
        timestamp=at + 60,
        pageviews=2,
        events=3,
        duration=60,
        is_bounce=0,
        **{"entry_meta.key": ["k"], "entry_meta.value": ["v"]},
    )
    encoded = encode([session[c] for c in SESSIONS_COLUMNS])
    assert event_store.insert_msgpack("sessions", SESSIONS_COLUMNS, encoded, 1) == 1
    assert event_store.query(
        "SELECT session_id, sign, user_id, start, timestamp, `entry_meta.value` FROM {db}.sessions"
    ).rows == [
        (2**63 - 1, -1, 2**64 - 1, datetime(2026, 11, 2, 9, 30, 5), datetime(2026, 11, 2, 9, 31, 5), ["v"])
    ]


def test_a_messagepack_row_that_does_not_fit_the_table_is_a_store_error(event_store) -> None:
    import msgspec

    with pytest.raises(EventStoreError) as raised:
        event_store.insert_msgpack("events", EVENTS_COLUMNS, msgspec.msgpack.encode(["not", "a", "row"]), 1)
    assert "\n" not in str(raised.value)
    assert event_store.query("SELECT count() FROM {db}.events").scalar() == 0


def test_messagepack_batches_go_through_a_data_dir_with_a_quote_in_its_name(tmp_path) -> None:
    """The batch file's path is written into the statement: a quote in DATA_DIR must not
    break it, and batch files a crashed process left behind are removed on open."""
    import subprocess
    import sys

    script = (
        "import msgspec, sys\n"
        "from pathlib import Path\n"
        "from footfall.events.chdb_store import ChdbStore\n"
        "from footfall.events.store import migrate_events\n"
        "from footfall.events.schema import SESSIONS_COLUMNS\n"
        "path = Path(sys.argv[1])\n"
        "(path.parent / f'.{path.name}-inserts').mkdir(parents=True)\n"
        "(path.parent / f'.{path.name}-inserts' / 'left-1.msgpack').write_bytes(b'x')\n"
        "store = ChdbStore(path)\n"
        "assert not list((path.parent / f'.{path.name}-inserts').glob('*.msgpack'))\n"
        "migrate_events(store)\n"
        "row = dict.fromkeys(SESSIONS_COLUMNS, '')\n"
        "row.update(session_id=1, sign=1, version=1, site_id=1, user_id=2, start=1_793_611_805,\n"
        "           timestamp=1_793_611_805, pageviews=1, events=1, duration=0, is_bounce=1,\n"
        "           **{'entry_meta.key': [], 'entry_meta.value': []})\n"
        "data = msgspec.msgpack.encode([row[c] for c in SESSIONS_COLUMNS])\n"
        "store.insert_msgpack('sessions', SESSIONS_COLUMNS, data, 1)\n"
        "print(store.query('SELECT count() FROM {db}.sessions').scalar())\n"
    )
    directory = tmp_path / "it's data" / "events"
    done = subprocess.run(
        [sys.executable, "-c", script, str(directory)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "1"


def _sorting_key(store) -> str:
    return store.query(
        "SELECT sorting_key FROM system.tables WHERE database = {d:String} AND name = 'events'",
        {"d": store.database},
    ).scalar()


def test_migration_7_orders_events_by_page_keeping_every_row_and_the_views(chdb_engine) -> None:
    from footfall.events.schema import MIGRATIONS

    store = chdb_engine.scoped(f"test_{uuid.uuid4().hex[:12]}")
    try:
        migrate_events(store, [m for m in MIGRATIONS if m.version < 7])
        assert "pathname" not in _sorting_key(store)
        store.insert("events", EVENTS_COLUMNS, [_event(i) for i in range(5_000)])
        before = store.query("SELECT count(), sum(user_id), uniqExact(pathname) FROM {db}.events").rows
        hourly = store.query("SELECT sum(events_count) FROM {db}.events_hourly").scalar()

        assert migrate_events(store) == [7]
        assert _sorting_key(store) == "site_id, toDate(timestamp), name, pathname, user_id, timestamp"
        assert (
            store.query("SELECT count(), sum(user_id), uniqExact(pathname) FROM {db}.events").rows == before
        )
        tables = {r[0] for r in store.query("SHOW TABLES FROM {db}").rows}
        assert "events_v7" not in tables
        assert store.query("SELECT sum(events_count) FROM {db}.events_hourly").scalar() == hourly

        # The views fill from the new table; nothing counts twice.
        store.insert("events", EVENTS_COLUMNS, [_event(i, user_id=77) for i in range(10)])
        assert store.query("SELECT sum(events_count) FROM {db}.events_hourly").scalar() == hourly + 10

        # Interrupted after the exchange and run again from the start: still every row, new key.
        (seven,) = [m for m in MIGRATIONS if m.version == 7]
        for statement in seven.statements:
            store.command(statement)
        assert store.query("SELECT count() FROM {db}.events").scalar() == 5_010
        assert _sorting_key(store) == "site_id, toDate(timestamp), name, pathname, user_id, timestamp"
        store.insert("events", EVENTS_COLUMNS, [_event(1, user_id=78)])
        assert store.query("SELECT sum(events_count) FROM {db}.events_hourly").scalar() == hourly + 11
    finally:
        store.command("DROP DATABASE IF EXISTS {db}")


def test_a_page_filter_reads_only_that_pages_granules(event_store) -> None:
    # 13 pages over 200,000 events of one day: the key narrows `pathname = ...` to about a
    # thirteenth of the granules instead of every one.
    rows = [_event(i) for i in range(200_000)]
    event_store.insert("events", EVENTS_COLUMNS, rows)
    event_store.command("OPTIMIZE TABLE {db}.events FINAL")
    plan = "\n".join(
        str(r[0])
        for r in event_store.query(
            "EXPLAIN indexes = 1 SELECT count() FROM {db}.events WHERE site_id = 1 "
            "AND timestamp >= '2026-11-01 00:00:00' AND timestamp < '2026-11-02 00:00:00' "
            "AND name != 'engagement' AND pathname = '/page/3'"
        ).rows
    )
    primary = plan[plan.index("PrimaryKey") :]
    selected, total = (int(x) for x in re.search(r"Granules: (\d+)/(\d+)", primary).groups())
    assert total >= 24 and selected <= total // 4, plan
