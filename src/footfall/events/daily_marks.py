"""Which sealed days the daily counts hold, and which are dirty: the `daily_marks` table.

It lives with the event store because every writer of events marks the days it changes (the
write buffer's default "rows written" callback is `note_rows`), and the ingestion path does not
import the read path (`footfall.stats`), which reads the marks.

A count of a day writes a COMPUTED mark (`footfall.stats.daily_job`); a write that lands later
about an older day (a visit still going after midnight, a replayed write-ahead log) marks that
day DIRTY through `note_rows`, which `footfall serve` hands the write buffer as its "rows
written" callback. Marks carry the engine's clock, and a count's mark carries the time the count
*began*, so a write that lands during a count leaves the day dirty. Each count is a new
`generation`; queries read only the generation of the latest mark (`day_states`, read by the
engine before planning, so that planning itself reads nothing).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from footfall.events.schema import EVENTS_COLUMNS, SESSIONS_COLUMNS
from footfall.events.store import EventStore

COMPUTED, DIRTY = 1, 2
_EVENT_SITE, _EVENT_TIME = EVENTS_COLUMNS.index("site_id"), EVENTS_COLUMNS.index("timestamp")
_SESSION_SITE, _SESSION_START = SESSIONS_COLUMNS.index("site_id"), SESSIONS_COLUMNS.index("start")


@dataclass(frozen=True)
class DayState:
    state: int
    generation: int
    goals: tuple[str, ...]


# Marks this process has written; with a single-writer store (embedded chDB) nothing else writes
# marks, so a site's states stay valid in `_states` until this changes.
_written = 0
_states: dict[tuple[int, str, int], tuple[int, dict[tuple[date, str], DayState]]] = {}
_states_lock = threading.Lock()


def wrote_marks() -> None:
    """Forget the cached states: a mark was just written."""
    global _written
    with _states_lock:
        _written += 1
        _states.clear()


def mark(
    store: EventStore,
    site_id: int,
    day: date,
    part: str,
    state: int,
    generation: int,
    goals: list[str],
    at: str | None = None,
) -> None:
    at_sql = "toDateTime64({at:String}, 6, 'UTC')" if at is not None else "now64(6, 'UTC')"
    names = {f"g{i}": goal for i, goal in enumerate(goals)}
    array = "CAST([" + ", ".join(f"{{{name}:String}}" for name in names) + "], 'Array(String)')"
    store.command(
        "INSERT INTO {db}.daily_marks (site_id, day, part, state, generation, goals, at) "
        "SELECT {site:UInt64}, {day:Date}, {part:String}, {state:UInt8}, {generation:UInt64}, "
        f"{array}, {at_sql}",
        {
            "site": site_id,
            "day": day.isoformat(),
            "part": part,
            "state": state,
            "generation": generation,
            **names,
            **({"at": at} if at is not None else {}),
        },
    )
    wrote_marks()


def day_states(store: EventStore, site_id: int, first: date, last: date) -> dict[tuple[date, str], DayState]:
    """The latest mark of each (day, part) between `first` and `last` (a dirty mark wins a tie)."""
    key = (id(store), store.database, site_id)
    cacheable = getattr(store, "single_writer", False)
    if cacheable:
        with _states_lock:
            cached = _states.get(key)
            if cached is not None and cached[0] == _written:
                return {k: v for k, v in cached[1].items() if first <= k[0] <= last}
            seen = _written
    answer = store.query(
        "SELECT day, part, argMax(state, (at, state)), argMax(generation, (at, state)), "
        "argMax(goals, (at, state)) FROM {db}.daily_marks WHERE site_id = {site:UInt64} GROUP BY day, part",
        {"site": site_id},
    )
    states = {}
    for day, part, state, generation, goals in answer.rows:
        when = day if isinstance(day, date) else date.fromisoformat(str(day))
        states[(when, str(part))] = DayState(int(state), int(generation), tuple(goals))
    if cacheable:
        with _states_lock:
            if seen == _written:  # no mark written meanwhile
                _states[key] = (seen, states)
    return {k: v for k, v in states.items() if first <= k[0] <= last}


def note_written(store: EventStore, touched: Iterable[tuple[int, int]], now: datetime | None = None) -> None:
    """Mark dirty the days before today that rows just written belong to, given (site id, unix
    time of a visit's start or of an event) pairs. Today is never counted, so needs no mark."""
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    today = now.astimezone(UTC).date()
    days: set[tuple[int, date]] = set()
    for site_id, moment in touched:
        day = datetime.fromtimestamp(moment, UTC).date()
        if day < today:
            days.add((int(site_id), day))
    if not days:
        return
    selects, params = [], {}
    for i, (site_id, day) in enumerate(sorted(days)):
        params[f"s{i}"], params[f"d{i}"] = site_id, day.isoformat()
        selects.append(
            f"SELECT {{s{i}:UInt64}}, {{d{i}:Date}}, 'rows', {DIRTY}, 0, CAST([], 'Array(String)'), "
            "now64(6, 'UTC')"
        )
    store.command(
        "INSERT INTO {db}.daily_marks (site_id, day, part, state, generation, goals, at) "
        + " UNION ALL ".join(selects),
        params,
    )
    wrote_marks()


def note_rows(store: EventStore, events: list[Any], sessions: list[Any], now: datetime | None = None) -> None:
    """`note_written` for rows in EVENTS_COLUMNS / SESSIONS_COLUMNS order (a flushed batch)."""
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    midnight = datetime.combine(now.astimezone(UTC).date(), datetime.min.time(), tzinfo=UTC).timestamp()
    # A flushed batch is almost always all today's: pick out the older rows first, cheaply.
    touched = {
        (row[_EVENT_SITE], unix(row[_EVENT_TIME])) for row in events if unix(row[_EVENT_TIME]) < midnight
    }
    touched.update(
        (row[_SESSION_SITE], unix(row[_SESSION_START]))
        for row in sessions
        if unix(row[_SESSION_START]) < midnight
    )
    if touched:
        note_written(store, touched, now)


def unix(moment: Any) -> int:
    """Unix seconds of a datetime (naive = UTC) or a number."""
    if isinstance(moment, datetime):
        return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())
    return int(moment)


def forget_site(store: EventStore, site_id: int) -> None:
    """Drop a site's counts (its events are being deleted or rewritten)."""
    for table in (
        "daily_marks",
        "daily_sessions",
        "daily_events",
        "daily_filtered_sessions",
        "daily_filtered_events",
    ):
        store.command(f"DELETE FROM {{db}}.{table} WHERE site_id = {{site:UInt64}}", {"site": site_id})
    wrote_marks()
