"""Custom property keys seen on a site in a date range, most visitors first: what the
dashboard's Properties tab and its filter dialog offer (Plausible's property suggestions).

The range's filters are not applied: the keys offered are those of the whole site in the range.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from footfall.events.store import EventStore
from footfall.stats.query import Query

MAX_KEYS = 100


def keys_in_range(store: EventStore, query: Query) -> list[str]:
    rng = query.date_range
    return _keys(store, query.site.id, rng.start, rng.end)


def recent_keys(store: EventStore, site_id: int, days: int = 30, now: datetime | None = None) -> list[str]:
    """The keys seen on the site in the last `days` days (most visitors first): what the
    Properties settings page suggests for its allow-list."""
    end = (now or datetime.now(UTC)).replace(tzinfo=None)
    return _keys(store, site_id, end - timedelta(days=days), end + timedelta(seconds=1))


def _keys(store: EventStore, site_id: int, start: datetime, end: datetime) -> list[str]:
    sql = (
        "SELECT key, uniq(user_id) AS visitors FROM {db}.events ARRAY JOIN `meta.key` AS key "
        "WHERE site_id = {site:UInt64} AND timestamp >= {start:DateTime('UTC')} "
        "AND timestamp < {end:DateTime('UTC')} AND name != 'engagement' "
        f"GROUP BY key ORDER BY visitors DESC, key LIMIT {MAX_KEYS}"
    )
    params = {
        "site": site_id,
        "start": start.strftime("%Y-%m-%d %H:%M:%S"),
        "end": end.strftime("%Y-%m-%d %H:%M:%S"),
    }
    return [str(row[0]) for row in store.query(sql, params).rows]
