"""Deleting one site's rows from the event store: every table that has a `site_id` column
(events, sessions, the hourly rollups, the daily counts, imported tables), found in the
store's own catalogue so a table added later is covered too; and, for a site's own
retention (footfall.ops.retention), its rows older than a cutoff in every table of native
rows (imported tables are left alone: an import is kept until it is deleted)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from footfall.events.store import EventStore

# The time column of every table holding a site's native rows: what a site's retention
# deletes by. A table with a `site_id` column must be here or in IMPORTED_PREFIX
# (tests/ops/test_ops_site_retention.py checks it, so a table added later is not forgotten).
RETENTION_TIME_COLUMNS: dict[str, str] = {
    "events": "timestamp",
    "sessions": "start",
    "events_hourly": "hour",
    "sessions_hourly": "hour",
    "visitors_hourly": "hour",
    "daily_events": "day",
    "daily_sessions": "day",
    "daily_marks": "day",
    "daily_filtered_events": "day",
    "daily_filtered_sessions": "day",
}
IMPORTED_PREFIX = "imported_"


def site_tables(store: EventStore) -> list[str]:
    rows = store.query(
        "SELECT t.name FROM system.tables AS t INNER JOIN system.columns AS c "
        "ON c.database = t.database AND c.table = t.name "
        "WHERE t.database = {database:String} AND c.name = 'site_id' "
        "AND t.engine NOT IN ('MaterializedView', 'View') ORDER BY t.name",
        {"database": store.database},  # type: ignore[attr-defined]
    ).rows
    return [row[0] for row in rows]


def delete_site_events(store: EventStore, site_id: int) -> list[str]:
    """Delete every row of `site_id`, waiting until the deletions are done; the tables touched."""
    tables = site_tables(store)
    for table in tables:
        store.command(
            f"ALTER TABLE {{db}}.`{table}` DELETE WHERE site_id = {{site:UInt64}} "
            "SETTINGS mutations_sync = 2",
            {"site": site_id},
        )
    return tables


def delete_site_events_before(store: EventStore, site_id: int, cutoff: datetime) -> list[str]:
    """Delete `site_id`'s rows older than `cutoff` (a UTC midnight, so hours and days are
    whole) from every table of native rows, waiting until done; the tables that had any.
    A table without such rows is only looked at (through its primary key), not rewritten."""
    moment = cutoff.astimezone(UTC).replace(tzinfo=None) if cutoff.tzinfo else cutoff
    present = set(site_tables(store))
    touched = []
    for table, column in RETENTION_TIME_COLUMNS.items():
        if table not in present:
            continue
        cast = "toDate" if column == "day" else "toDateTime"
        condition = f"site_id = {{site:UInt64}} AND {column} < {cast}({{cutoff:DateTime('UTC')}})"
        old = store.query(
            f"SELECT 1 FROM {{db}}.`{table}` WHERE {condition} LIMIT 1",
            {"site": site_id, "cutoff": moment},
        ).rows
        if not old:
            continue
        store.command(
            f"ALTER TABLE {{db}}.`{table}` DELETE WHERE {condition} SETTINGS mutations_sync = 2",
            {"site": site_id, "cutoff": moment},
        )
        touched.append(table)
    return touched


DAILY_TABLES = tuple(table for table, column in RETENTION_TIME_COLUMNS.items() if column == "day")


def delete_days_before(store: EventStore, first_kept: date) -> list[str]:
    """Every site's daily counts and marks of days before `first_kept`, the daily tables
    having no time partitions for the instance's retention to drop; the tables that had any.
    A table without such rows is only looked at, not rewritten."""
    present = set(site_tables(store))
    touched = []
    for table in DAILY_TABLES:
        if table not in present:
            continue
        condition = "day < {first:Date}"
        if not store.query(
            f"SELECT 1 FROM {{db}}.`{table}` WHERE {condition} LIMIT 1", {"first": first_kept}
        ).rows:
            continue
        store.command(
            f"ALTER TABLE {{db}}.`{table}` DELETE WHERE {condition} SETTINGS mutations_sync = 2",
            {"first": first_kept},
        )
        touched.append(table)
    return touched
