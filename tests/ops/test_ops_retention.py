"""DATA_RETENTION_DAYS drops whole old partitions; the embedded engine keeps no system logs;
the ClickHouse server configuration shipped for deploy bounds the server's logs."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

from footfall.events.schema import EVENTS_COLUMNS
from footfall.ops.retention import apply_retention

CONFIG = (
    Path(__file__).resolve().parents[2]
    / "deploy/kubernetes/overlays/cluster/clickhouse/footfall-system-logs.xml"
)


def event(when: datetime, path: str) -> tuple:
    row = dict.fromkeys(EVENTS_COLUMNS, "")
    row.update(
        timestamp=when,
        site_id=1,
        user_id=2,
        session_id=3,
        name="pageview",
        pathname=path,
        **{"meta.key": [], "meta.value": []},
        revenue_source_amount=None,
        revenue_reporting_amount=None,
        interactive=1,
        scroll_depth=0,
        engagement_time=0,
    )
    return tuple(row[c] for c in EVENTS_COLUMNS)


def test_partitions_older_than_the_limit_are_dropped_in_every_table_and_younger_ones_kept(
    event_store,
) -> None:
    now = datetime(2026, 12, 6, 12, tzinfo=UTC)
    rows = [event(datetime(2025, 1, 10, 8), "/old")] * 3 + [event(datetime(2026, 11, 20, 8), "/recent")] * 2
    event_store.insert("events", EVENTS_COLUMNS, rows)

    def by_month(table: str) -> dict[str, int]:
        result = event_store.query(
            f"SELECT toString(toYYYYMM(timestamp)) AS m, count() FROM {{db}}.{table} GROUP BY m"
            if table == "events"
            else f"SELECT toString(toYYYYMM(hour)) AS m, count() FROM {{db}}.{table} GROUP BY m"
        )
        return dict(result.rows)

    assert by_month("events") == {"202501": 3, "202611": 2}
    assert set(by_month("events_hourly")) == {"202501", "202611"}
    dropped = apply_retention(event_store, 90, now)
    assert ("events", "202501") in dropped and ("events_hourly", "202501") in dropped
    assert all(partition == "202501" for _, partition in dropped)
    assert by_month("events") == {"202611": 2}
    assert set(by_month("events_hourly")) == {"202611"}
    assert apply_retention(event_store, 90, now) == []  # nothing left to drop
    # A month with any row younger than the limit is kept whole (20 November is 16 days back).
    assert apply_retention(event_store, 20, now) == []
    assert {partition for _, partition in apply_retention(event_store, 10, now)} == {"202611"}
    assert by_month("events") == {}


def test_the_embedded_engine_keeps_no_system_logs_on_disk(event_store) -> None:
    logs = event_store.query(
        "SELECT name FROM system.tables WHERE database = 'system' AND name LIKE '%\\_log' "
        "AND engine LIKE '%MergeTree%'"
    ).rows
    assert logs == []


def test_the_server_configuration_keeps_query_log_30_days_and_no_other_system_log() -> None:
    root = ET.parse(CONFIG).getroot()
    kept = [child for child in root if child.get("remove") != "remove"]
    assert [child.tag for child in kept] == ["query_log"]
    assert kept[0].findtext("ttl") == "event_date + INTERVAL 30 DAY DELETE"
    off = {child.tag for child in root if child.get("remove") == "remove"}
    assert off >= {
        "metric_log",
        "trace_log",
        "text_log",
        "session_log",
        "part_log",
        "asynchronous_metric_log",
    }


def test_the_daily_counts_go_with_the_months_whose_events_were_dropped(event_store) -> None:
    """The daily tables are not partitioned by time: the instance's limit deletes their days
    once the events of those days are gone, and keeps every day whose month is still held."""
    now = datetime(2026, 12, 6, 12, tzinfo=UTC)
    rows = [event(datetime(2025, 1, 10, 8), "/old"), event(datetime(2026, 11, 20, 8), "/recent")]
    event_store.insert("events", EVENTS_COLUMNS, rows)
    for day in ("2025-01-10", "2026-11-02", "2026-11-20"):
        event_store.command(
            "INSERT INTO {db}.daily_events (site_id, day, generation, kind, value, visitors, pageviews, "
            "events) VALUES (1, {d:Date}, 1, 'page', '/', 1, 1, 1)",
            {"d": day},
        )
        event_store.command(
            "INSERT INTO {db}.daily_marks (site_id, day, part, state, generation, goals, at) "
            "VALUES (1, {d:Date}, 'events', 1, 1, [], now64())",
            {"d": day},
        )

    def days(table: str) -> list[str]:
        return [
            str(r[0]) for r in event_store.query(f"SELECT DISTINCT day FROM {{db}}.{table} ORDER BY day").rows
        ]

    apply_retention(event_store, 30, now)
    # January 2025 is dropped from events, so its daily counts go; 2 November is past the
    # 30-day limit but its month is still held in events, so it stays with them.
    assert days("daily_events") == ["2026-11-02", "2026-11-20"]
    assert days("daily_marks") == ["2026-11-02", "2026-11-20"]
    apply_retention(event_store, 10, now)  # November's events dropped too: its days go
    assert days("daily_events") == [] and days("daily_marks") == []
