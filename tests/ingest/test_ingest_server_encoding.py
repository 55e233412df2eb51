"""The ClickHouse server transport's inserts, read back by ClickHouse's own parser.

No ClickHouse server runs on the development machines, but its engine does (chDB). Rows
the write path made from real posts are inserted twice: into the embedded store as the
flusher inserts them (`insert_msgpack`), and, as `ClickHouseServerStore.insert_msgpack`
sends them to a server, decoded and encoded by clickhouse-connect into its Native block
(column types as a server describes the same tables), which the engine then reads into a
copy of each table. Both copies must hold the same rows, column for column.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
from clickhouse_connect.datatypes.registry import get_from_name
from clickhouse_connect.driver.insert import InsertContext
from clickhouse_connect.driver.transform import NativeTransform

from footfall.events.clickhouse_store import decode_rows
from footfall.events.schema import EVENTS_COLUMNS, SESSIONS_COLUMNS
from footfall.ingest.request import decode_body, parse_event
from tests.ingest.conftest import CHROME_MAC, FIREFOX_LINUX, SAFARI_IPHONE

POSTS = [
    (
        {
            "n": "pageview",
            "u": "https://example.com/?utm_source=news&utm_medium=email",
            "d": "example.com",
            "r": "https://www.google.com/",
        },
        CHROME_MAC,
        "85.214.132.117",
        1_764_000_000,
    ),
    (
        {
            "n": "Signup",
            "u": "https://example.com/pricing",
            "d": "example.com",
            "p": {"plan": "pro", "ü": "ß"},
            "$": {"amount": "19.99", "currency": "EUR"},
        },
        CHROME_MAC,
        "85.214.132.117",
        1_764_000_030,
    ),
    (
        {"n": "pageview", "u": "https://example.com/docs#x", "d": "example.com,blog.example.org", "h": 1},
        SAFARI_IPHONE,
        "2001:db8::7",
        1_764_000_040,
    ),
    (
        {"n": "engagement", "u": "https://example.com/docs", "d": "example.com", "sd": 40, "e": 5200},
        SAFARI_IPHONE,
        "2001:db8::7",
        1_764_000_090,
    ),
    (
        {"n": "pageview", "u": "https://example.com/", "d": "example.com"},
        FIREFOX_LINUX,
        "81.2.69.160",
        1_764_000_100,
    ),
]


def _native_block(store, table: str, columns: tuple[str, ...], data: bytes, rows: int) -> bytes:
    """What clickhouse-connect sends a server for this insert: a Native block of the rows as
    `ClickHouseServerStore.insert_msgpack` decodes them, typed as the server reports them."""
    described = dict(
        store.query(
            f"SELECT name, type FROM system.columns WHERE database = '{store.database}' AND table = '{table}'"
        ).rows
    )
    types = [get_from_name(described[name]) for name in columns]
    context = InsertContext(f"{store.database}.{table}", list(columns), types, decode_rows(data, rows))
    body = b"".join(NativeTransform.build_insert(context))
    # The HTTP body is the INSERT statement, then the Native data.
    statement, _, native = body.partition(b" FORMAT Native\n")
    assert statement.startswith(f"INSERT INTO {store.database}.{table} (".encode())
    return native


def test_rows_sent_to_a_server_arrive_as_the_embedded_store_keeps_them(server, tmp_path: Path) -> None:
    store = server.services.events
    pipeline = server.app.state.ingestion.pipeline
    encode = msgspec.msgpack.Encoder().encode
    events: list = []
    sessions: list = []
    for body, agent, address, at in POSTS:
        request = parse_event(decode_body(msgspec.json.encode(body)))
        _, rows = pipeline.process(request.arrived(address, agent, at))
        events += rows.events
        sessions += rows.sessions
    assert len(events) == 6 and len(sessions) >= 6  # two sites for one post; a visit updated
    for table, columns, rows in (
        ("events", EVENTS_COLUMNS, events),
        ("sessions", SESSIONS_COLUMNS, sessions),
    ):
        # Plain copies of the table's columns: `sessions` itself collapses a visit's -1/+1 pairs.
        for copy in ("kept", "sent"):
            store.command(
                f"CREATE TABLE {{db}}.{table}_{copy} ENGINE = MergeTree ORDER BY tuple() "
                f"AS SELECT * FROM {{db}}.{table} WHERE 0"
            )
        data = b"".join(encode(row) for row in rows)
        store.insert_msgpack(f"{table}_kept", columns, data, len(rows))
        block = tmp_path / f"{table}.native"
        block.write_bytes(_native_block(store, table, tuple(columns), data, len(rows)))
        listed = ", ".join(f"`{c}`" for c in columns)
        store.command(
            f"INSERT INTO {{db}}.{table}_sent ({listed}) SELECT {listed} FROM file('{block}', 'Native')"
        )
        kept = store.query(f"SELECT {listed} FROM {{db}}.{table}_kept ORDER BY {listed}").rows
        sent = store.query(f"SELECT {listed} FROM {{db}}.{table}_sent ORDER BY {listed}").rows
        assert len(kept) == len(rows)
        assert sent == kept, table
    revenue = store.query(
        "SELECT toString(revenue_source_amount), revenue_source_currency, meta.key, meta.value "
        "FROM {db}.events_sent WHERE name = 'Signup'"
    ).rows
    assert revenue == [("19.99", "EUR", ["plan", "ü"], ["pro", "ß"])]
