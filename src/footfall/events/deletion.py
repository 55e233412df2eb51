"""Deleting one site's rows from the event store: every table that has a `site_id` column
(events, sessions, the hourly rollups, the daily counts, imported tables), found in the
store's own catalogue so a table added later is covered too."""

from __future__ import annotations

from footfall.events.store import EventStore


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
