"""Custom property keys seen on a site in a date range, most visitors first: what the
dashboard's Properties tab and its filter dialog offer (Plausible's property suggestions).

The range's filters are not applied: the keys offered are those of the whole site in the range.
"""

from __future__ import annotations

from footfall.events.store import EventStore
from footfall.stats.query import Query

MAX_KEYS = 100


def keys_in_range(store: EventStore, query: Query) -> list[str]:
    rng = query.date_range
    sql = (
        "SELECT key, uniq(user_id) AS visitors FROM {db}.events ARRAY JOIN `meta.key` AS key "
        "WHERE site_id = {site:UInt64} AND timestamp >= {start:DateTime('UTC')} "
        "AND timestamp < {end:DateTime('UTC')} AND name != 'engagement' "
        f"GROUP BY key ORDER BY visitors DESC, key LIMIT {MAX_KEYS}"
    )
    params = {
        "site": query.site.id,
        "start": rng.start.strftime("%Y-%m-%d %H:%M:%S"),
        "end": rng.end.strftime("%Y-%m-%d %H:%M:%S"),
    }
    return [str(row[0]) for row in store.query(sql, params).rows]
