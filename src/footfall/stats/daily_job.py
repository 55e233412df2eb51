"""The daily counting job: counts each sealed UTC day of each site into `daily_sessions` and
`daily_events`, once it has been over for `SEAL_AFTER` (`footfall serve` runs a `Refresher`).

Why counts of days add up is explained in `footfall.stats.daily`; which counts are current, in
`footfall.events.daily_marks`. The figures kept are the parts of the metric catalogue
(`footfall.stats.catalogue`): visitors, visits, bounces, duration, pageviews and events per
value of each `DAILY_SESSION_KINDS` and `DAILY_EVENT_KINDS` dimension, and per goal.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta

from footfall.events.daily_marks import COMPUTED, day_states, mark
from footfall.events.store import EventStore
from footfall.stats.catalogue import (
    DAILY_EVENT_KINDS,
    DAILY_FILTERS,
    DAILY_PAGE_FILTER_KINDS,
    DAILY_SESSION_KINDS,
    DAILY_VISIT_FILTERS,
    PAGE_FILTER,
    SESSION_SUMS,
    signed_sum,
)
from footfall.stats.planner import FILTERED, filtered, goal_key
from footfall.stats.query import GoalSpec
from footfall.stats.sql import Params, goal_condition

log = logging.getLogger("footfall.stats")

SEAL_AFTER = timedelta(hours=1)


class _GoalContext:
    """What `goal_condition` needs: somewhere to bind values."""

    def __init__(self, params: Params) -> None:
        self.params = params


def _session_kinds_array() -> str:
    pairs = ["('all', '')"] + [f"('{kind}', {column})" for kind, column in DAILY_SESSION_KINDS.items()]
    return "[" + ", ".join(pairs) + "]"


def _filters_array(names: tuple[str, ...]) -> str:
    return "[" + ", ".join(f"('{name}', {DAILY_FILTERS[name]})" for name in names) + "]"


def _event_kinds_array(
    params: Params, goals: tuple[GoalSpec, ...], kinds: dict[str, str] = DAILY_EVENT_KINDS
) -> str:
    pairs = ["('all', '')"] + [f"('{kind}', {column})" for kind, column in kinds.items()]
    base = "[" + ", ".join(pairs) + "]"
    if not goals:
        return base
    ctx = _GoalContext(params)
    branches = ", ".join(
        f"if({goal_condition(ctx, goal)}, {params.bind(goal_key(goal))}, '')"  # type: ignore[arg-type]
        for goal in goals
    )
    return f"arrayConcat({base}, arrayMap(k -> ('goal', k), arrayFilter(k -> k != '', [{branches}])))"


def _now(store: EventStore) -> tuple[str, int]:
    """The engine's clock as a DateTime64 literal, and a new generation number: its microseconds
    and three random digits (two replicas counting the same day never share one)."""
    row = store.query("SELECT toString(now64(6, 'UTC')), toUnixTimestamp64Micro(now64(6, 'UTC'))").rows[0]
    return str(row[0]), int(row[1]) * 1000 + secrets.randbelow(1000)


def _sessions_count_sql() -> str:
    """One day's visits: per visit its live sum and stored parts, then per kind and value."""
    columns = ", ".join(sorted(set(DAILY_SESSION_KINDS.values())))
    sums = ", ".join(f"{signed_sum(column)} AS {part}_sum" for part, column in SESSION_SUMS.items())
    return (
        "INSERT INTO {db}.daily_sessions SELECT site_id, {day:Date}, {generation:UInt64}, kv.1, kv.2, "
        "uniqExactIf(user_id, visits_sum > 0), sum(visits_sum), sum(bounces_sum), sum(duration_sum), "
        "sum(pageviews_sum), sum(events_sum) FROM ("
        f"SELECT site_id, user_id, session_id, {columns}, {sums} FROM {{db}}.sessions "
        "WHERE site_id = {site:UInt64} AND start >= toDateTime({day:Date}, 'UTC') "
        f"AND start < toDateTime({{next:Date}}, 'UTC') GROUP BY site_id, user_id, session_id, {columns}"
        f") ARRAY JOIN {_session_kinds_array()} AS kv GROUP BY site_id, kv.1, kv.2"
    )


def _filtered_sessions_count_sql(filters: str) -> str:
    """`_sessions_count_sql` per value of each filter in `filters`: the day's visits with that value."""
    columns = ", ".join(sorted(set(DAILY_SESSION_KINDS.values())))
    sums = ", ".join(f"{signed_sum(column)} AS {part}_sum" for part, column in SESSION_SUMS.items())
    return (
        "INSERT INTO {db}.daily_filtered_sessions SELECT site_id, {day:Date}, {generation:UInt64}, "
        "fv.1, fv.2, kv.1, kv.2, uniqExactIf(user_id, visits_sum > 0), sum(visits_sum), sum(bounces_sum), "
        "sum(duration_sum), sum(pageviews_sum), sum(events_sum) FROM ("
        f"SELECT site_id, user_id, session_id, {columns}, {sums} FROM {{db}}.sessions "
        "WHERE site_id = {site:UInt64} AND start >= toDateTime({day:Date}, 'UTC') "
        f"AND start < toDateTime({{next:Date}}, 'UTC') GROUP BY site_id, user_id, session_id, {columns}"
        f") ARRAY JOIN {filters} AS fv ARRAY JOIN {_session_kinds_array()} AS kv "
        "GROUP BY site_id, fv.1, fv.2, kv.1, kv.2"
    )


def _filtered_events_count_sql(filters: str, kinds: str) -> str:
    """The day's events per value of each filter in `filters` and of each kind in `kinds`; the
    events are first summed per visitor and distinct columns, which the arrays then repeat."""
    columns = ", ".join(sorted({"name", "pathname", *DAILY_PAGE_FILTER_KINDS.values()}))
    return (
        "INSERT INTO {db}.daily_filtered_events SELECT site_id, {day:Date}, {generation:UInt64}, "
        "fv.1, fv.2, kv.1, kv.2, uniqExact(user_id), sum(pv), sum(n) FROM ("
        f"SELECT site_id, user_id, {columns}, countIf(name = 'pageview') AS pv, count() AS n "
        "FROM {db}.events WHERE site_id = {site:UInt64} AND timestamp >= toDateTime({day:Date}, 'UTC') "
        "AND timestamp < toDateTime({next:Date}, 'UTC') AND name != 'engagement' "
        f"GROUP BY site_id, user_id, {columns}"
        f") ARRAY JOIN {filters} AS fv ARRAY JOIN {kinds} AS kv GROUP BY site_id, fv.1, fv.2, kv.1, kv.2"
    )


def count_day(store: EventStore, site_id: int, day: date, goals: tuple[GoalSpec, ...]) -> None:
    """Count one sealed day's visits and events (a new generation)."""
    at, generation = _now(store)
    params = Params()
    kinds = _event_kinds_array(params, goals)
    values = {
        **params.values,
        "site": site_id,
        "day": day.isoformat(),
        "next": (day + timedelta(days=1)).isoformat(),
        "generation": generation,
    }
    store.command(_sessions_count_sql(), values)
    store.command(
        "INSERT INTO {db}.daily_events SELECT site_id, {day:Date}, {generation:UInt64}, kv.1, kv.2, "
        "uniqExact(user_id), countIf(name = 'pageview'), count() FROM {db}.events "
        f"ARRAY JOIN {kinds} AS kv "
        "WHERE site_id = {site:UInt64} AND timestamp >= toDateTime({day:Date}, 'UTC') "
        "AND timestamp < toDateTime({next:Date}, 'UTC') AND name != 'engagement' "
        "GROUP BY site_id, kv.1, kv.2",
        values,
    )
    # The filtered counts are the day's work many times over (every filter's values by every
    # kind: 15 s for 400,000 events on a busy machine in one statement each), and a statement
    # holds the embedded engine's lock, which queries and flushes wait for: so a few statements
    # of a second or two each. The visits' are cheapest one filter at a time; the events' sum
    # the day's events per visitor first, a cost each statement pays, so four filters each.
    for name in DAILY_VISIT_FILTERS:
        store.command(_filtered_sessions_count_sql(_filters_array((name,))), values)
    # Under a visit filter the events give the event kinds; under a page filter, every kind
    # the events carry (the events table answers those queries alone).
    page_params = Params()
    page_kinds = _event_kinds_array(page_params, goals, DAILY_PAGE_FILTER_KINDS)
    visit_filter_groups = [DAILY_VISIT_FILTERS[i : i + 4] for i in range(0, len(DAILY_VISIT_FILTERS), 4)]
    for filters, filtered_kinds, bound in (
        *((_filters_array(group), kinds, params.values) for group in visit_filter_groups),
        (_filters_array((PAGE_FILTER,)), page_kinds, page_params.values),
    ):
        store.command(_filtered_events_count_sql(filters, filtered_kinds), {**values, **bound})
    keys = sorted(goal_key(g) for g in goals)
    mark(store, site_id, day, "rows", COMPUTED, generation, keys, at)
    mark(store, site_id, day, FILTERED, COMPUTED, generation, keys, at)
    _drop_old_generations(store, site_id, day, generation)


def _drop_old_generations(store: EventStore, site_id: int, day: date, current: int) -> None:
    """Delete the rows of the day's earlier counts once they are an hour old: no query still
    reads them by then (a query picks its generations moments before it runs)."""
    stale = min(current, (int(datetime.now(UTC).timestamp() * 1_000_000) - 3_600_000_000) * 1000)
    for table in ("daily_sessions", "daily_events", "daily_filtered_sessions", "daily_filtered_events"):
        store.command(
            f"DELETE FROM {{db}}.{table} WHERE site_id = {{site:UInt64}} AND day = {{day:Date}} "
            "AND generation < {stale:UInt64}",
            {"site": site_id, "day": day.isoformat(), "stale": stale},
        )


def sealed_through(now: datetime) -> date:
    """The last UTC day that has been over for SEAL_AFTER."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return (now.astimezone(UTC) - SEAL_AFTER).date() - timedelta(days=1)


def _days_with_visits(store: EventStore, site_id: int, last: date) -> list[date]:
    """The days with events other than engagement pings: every visit starts with one, so these
    are also the days visits start on. Read from the small hourly rollup, not from the raw
    tables, since this runs every minute."""
    rows = store.query(
        "SELECT DISTINCT toDate(hour) FROM {db}.visitors_hourly WHERE site_id = {site:UInt64} "
        "AND hour < toDateTime({end:Date}, 'UTC')",
        {"site": site_id, "end": (last + timedelta(days=1)).isoformat()},
    ).rows
    return [row[0] if isinstance(row[0], date) else date.fromisoformat(str(row[0])) for row in rows]


def refresh(
    store: EventStore,
    sites: Iterable[tuple[int, tuple[GoalSpec, ...]]],
    now: datetime,
    stopping: Callable[[], bool] = lambda: False,
) -> int:
    """Count every sealed day that is not counted, is dirty, or was counted with other goals
    (until `stopping()`). Returns how many counts were made."""
    last = sealed_through(now)
    made = 0
    for site_id, goals in sites:
        keys = tuple(sorted(goal_key(g) for g in goals))
        days = _days_with_visits(store, site_id, last)
        if not days:
            continue
        states = day_states(store, site_id, min(days), last)
        # Newest first: after an upgrade or a first start, the ranges people look at most
        # (the last days and weeks) are counted first.
        for day in sorted(set(days), reverse=True):
            current = states.get((day, "rows"))
            if (
                current is None
                or current.state != COMPUTED
                or current.goals != keys
                or not filtered(states, day)
            ):
                if stopping():
                    return made
                count_day(store, site_id, day, goals)
                made += 1
    return made


class Refresher:
    """Runs `refresh` a second after `start` and then every `interval` seconds, in a daemon
    thread (`footfall serve` starts one); `stop` ends it between two counts."""

    def __init__(
        self,
        store: EventStore,
        sites: Callable[[], Iterable[tuple[int, tuple[GoalSpec, ...]]]],
        interval: float = 60.0,
    ) -> None:
        self.store = store
        self.sites = sites
        self.interval = interval
        self._stop = threading.Event()
        self._pausing = threading.Event()
        self._counting = threading.Lock()
        self._thread: threading.Thread | None = None

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """No day is counted while this is held (a running round ends after its current day):
        `footfall migrate-store` copies the daily tables at one point."""
        self._pausing.set()
        try:
            with self._counting:
                yield
        finally:
            self._pausing.clear()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="footfall-daily", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        wait = 1.0
        while not self._stop.wait(wait):
            wait = self.interval
            try:
                with self._counting:
                    refresh(
                        self.store,
                        self.sites(),
                        datetime.now(UTC),
                        stopping=lambda: self._stop.is_set() or self._pausing.is_set(),
                    )
            except Exception:  # the next round tries again; queries read raw tables meanwhile
                log.exception("cannot count sealed days")
