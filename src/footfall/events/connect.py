"""Opens the event store the settings ask for: a ClickHouse server, or chDB under DATA_DIR.

The connectors are imported when asked for, so a command that never opens the event store
does not load pyarrow or clickhouse-connect.
"""

from __future__ import annotations

from footfall.config import Settings
from footfall.events.store import EventStore


def open_event_store(settings: Settings) -> EventStore:
    """The store the settings ask for: a ClickHouse server, or chDB under DATA_DIR."""
    if settings.clickhouse_url:
        from footfall.events.clickhouse_store import ClickHouseServerStore

        return ClickHouseServerStore(settings.clickhouse_url)
    from footfall.events.chdb_store import ChdbStore

    return ChdbStore(settings.events_dir)
