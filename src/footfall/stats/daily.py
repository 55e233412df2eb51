"""Exact daily counts of sealed UTC days: what makes an unfiltered dashboard fast.

Why counts of days add up
-------------------------
A visitor id is a keyed hash with the salt of one UTC day (`footfall.ingest.identity`). A visit
keeps the id it started with (`footfall.ingest.sessions`), and a visit that starts on another
day gets another id (the previous day's salt only finds a visit still going after midnight).
Hence:

* Visits that start on different UTC days carry disjoint sets of ids, so the unique visitors of
  any set of visits is the sum, over their start days, of each day's unique visitors. The
  session figures of a sealed day (visitors, visits, bounces, duration, pageviews, events) are
  stored as plain numbers per property value in `daily_sessions`, and summed.
* An event carries the id of its own UTC day's salt (a visit keeps the id it started with,
  its events after midnight carry the new day's), so events of different UTC days carry
  disjoint ids too: `daily_events` holds each day's figures per page, event name and goal.

Whatever a range holds besides whole counted days (today, days not sealed yet, the edges of a
range in a site's time zone, days changed after they were counted) is read from the raw tables
within the same statement, with the same arithmetic, so the answer is exact whatever the mix:
distinct ids counted exactly (`uniqExact`), where queries the daily counts cannot answer use
`uniq`, Plausible's function, which estimates above 65,536 visitors per row.

Sealing and staleness
---------------------
A day is counted once it has been over for `SEAL_AFTER`, by `refresh` (a background thread of
`footfall serve`). A write that lands later about an older day (a visit still going, a replayed
write-ahead log) calls `note_written`, which marks the day dirty in `daily_marks`; a dirty day is
read from the raw tables until it is counted again. Marks carry the engine's clock, and a count's
mark carries the time the count *began*, so a write that lands during a count leaves the day
dirty. Each count is a new `generation`; queries read only the generation of the latest mark.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from footfall.events.schema import EVENTS_COLUMNS, SESSIONS_COLUMNS
from footfall.events.store import EventStore
from footfall.stats.query import GoalSpec, Query, is_time
from footfall.stats.sql import (
    HIDE_EMPTY,
    VISIT_COLUMNS,
    Compiled,
    Params,
    _labelled,
    _order_by,
    goal_condition,
)

log = logging.getLogger("footfall.stats")

SEAL_AFTER = timedelta(hours=1)
_EVENT_SITE, _EVENT_TIME = EVENTS_COLUMNS.index("site_id"), EVENTS_COLUMNS.index("timestamp")
_SESSION_SITE, _SESSION_START = SESSIONS_COLUMNS.index("site_id"), SESSIONS_COLUMNS.index("start")
COMPUTED, DIRTY = 1, 2
UTC_ZONES = frozenset(
    {"UTC", "Etc/UTC", "Etc/UCT", "UCT", "GMT", "Etc/GMT", "Etc/Universal", "Universal", "Zulu"}
)

# Stats API dimension -> sessions column; "all" (no dimension) is stored with an empty value.
SESSION_KINDS: dict[str, str] = {
    "visit:source": "referrer_source",
    "visit:referrer": "referrer",
    "visit:channel": "channel",
    "visit:utm_source": "utm_source",
    "visit:utm_medium": "utm_medium",
    "visit:utm_campaign": "utm_campaign",
    "visit:utm_content": "utm_content",
    "visit:utm_term": "utm_term",
    "visit:entry_page": "entry_page",
    "visit:exit_page": "exit_page",
    "visit:country": "country_code",
    "visit:region": "region",
    "visit:city": "city",
    "visit:device": "screen_size",
    "visit:browser": "browser",
    "visit:os": "operating_system",
}
EVENT_KINDS: dict[str, str] = {"event:page": "pathname", "event:name": "name"}
SESSION_METRICS = frozenset(
    {
        "visitors",
        "visits",
        "bounce_rate",
        "visit_duration",
        "views_per_visit",
        "pageviews",
        "events",
        "percentage",
    }
)
EVENT_METRICS = frozenset({"visitors", "pageviews", "events", "percentage", "conversion_rate"})
DAY_DIMENSIONS = frozenset({"time:day", "time:week", "time:month"})


def goal_key(goal: GoalSpec) -> str:
    return f"event:{goal.event_name}" if goal.event_name is not None else f"page:{goal.page_path or ''}"


class _GoalContext:
    """What `goal_condition` needs: somewhere to bind values."""

    def __init__(self, params: Params) -> None:
        self.params = params


# --- counting ------------------------------------------------------------------------------------


def _session_kinds_array() -> str:
    pairs = ["('all', '')"] + [f"('{kind}', {column})" for kind, column in SESSION_KINDS.items()]
    return "[" + ", ".join(pairs) + "]"


def _event_kinds_array(params: Params, goals: tuple[GoalSpec, ...]) -> str:
    pairs = ["('all', '')"] + [f"('{kind}', {column})" for kind, column in EVENT_KINDS.items()]
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


def _mark(
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
    _wrote_marks()


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
    store.command(
        "INSERT INTO {db}.daily_sessions SELECT site_id, {day:Date}, {generation:UInt64}, kv.1, kv.2, "
        "uniqExactIf(user_id, live > 0), sum(live), sum(b), sum(d), sum(p), sum(e) FROM ("
        "SELECT site_id, user_id, session_id, "
        + ", ".join(sorted(set(SESSION_KINDS.values())))
        + ", sum(sign) AS live, sum(sign * is_bounce) AS b, sum(sign * duration) AS d, "
        "sum(sign * pageviews) AS p, sum(sign * events) AS e FROM {db}.sessions "
        "WHERE site_id = {site:UInt64} AND start >= toDateTime({day:Date}, 'UTC') "
        "AND start < toDateTime({next:Date}, 'UTC') GROUP BY site_id, user_id, session_id, "
        + ", ".join(sorted(set(SESSION_KINDS.values())))
        + f") ARRAY JOIN {_session_kinds_array()} AS kv GROUP BY site_id, kv.1, kv.2",
        values,
    )
    store.command(
        "INSERT INTO {db}.daily_events SELECT site_id, {day:Date}, {generation:UInt64}, kv.1, kv.2, "
        "uniqExact(user_id), countIf(name = 'pageview'), count() FROM {db}.events "
        f"ARRAY JOIN {kinds} AS kv "
        "WHERE site_id = {site:UInt64} AND timestamp >= toDateTime({day:Date}, 'UTC') "
        "AND timestamp < toDateTime({next:Date}, 'UTC') AND name != 'engagement' "
        "GROUP BY site_id, kv.1, kv.2",
        values,
    )
    _mark(store, site_id, day, "rows", COMPUTED, generation, sorted(goal_key(g) for g in goals), at)
    _drop_old_generations(store, site_id, day, generation)


def _drop_old_generations(store: EventStore, site_id: int, day: date, current: int) -> None:
    """Delete the rows of the day's earlier counts once they are an hour old: no query still
    reads them by then (a query picks its generations moments before it runs)."""
    stale = min(current, (int(datetime.now(UTC).timestamp() * 1_000_000) - 3_600_000_000) * 1000)
    for table in ("daily_sessions", "daily_events"):
        store.command(
            f"DELETE FROM {{db}}.{table} WHERE site_id = {{site:UInt64}} AND day = {{day:Date}} "
            "AND generation < {stale:UInt64}",
            {"site": site_id, "day": day.isoformat(), "stale": stale},
        )


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


def _wrote_marks() -> None:
    global _written
    with _states_lock:
        _written += 1
        _states.clear()


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


def sealed_through(now: datetime) -> date:
    """The last UTC day that has been over for SEAL_AFTER."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return (now.astimezone(UTC) - SEAL_AFTER).date() - timedelta(days=1)


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
        days = [
            row[0] if isinstance(row[0], date) else date.fromisoformat(str(row[0]))
            # The days with events other than engagement pings: every visit starts with one, so
            # these are also the days visits start on. Read from the small hourly rollup, not
            # from the raw tables, since this runs every minute.
            for row in store.query(
                "SELECT DISTINCT toDate(hour) FROM {db}.visitors_hourly WHERE site_id = {site:UInt64} "
                "AND hour < toDateTime({end:Date}, 'UTC')",
                {"site": site_id, "end": (last + timedelta(days=1)).isoformat()},
            ).rows
        ]
        if not days:
            continue
        present = set(days)
        states = day_states(store, site_id, min(days), last)
        for day in sorted(present):
            current = states.get((day, "rows"))
            if current is None or current.state != COMPUTED or current.goals != keys:
                if stopping():
                    return made
                count_day(store, site_id, day, goals)
                made += 1
    return made


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
    _wrote_marks()


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
    for table in ("daily_marks", "daily_sessions", "daily_events"):
        store.command(f"DELETE FROM {{db}}.{table} WHERE site_id = {{site:UInt64}}", {"site": site_id})
    _wrote_marks()


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
        self._thread: threading.Thread | None = None

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
                refresh(self.store, self.sites(), datetime.now(UTC), stopping=self._stop.is_set)
            except Exception:  # the next round tries again; queries read raw tables meanwhile
                log.exception("cannot count sealed days")


# --- reading ------------------------------------------------------------------------------------


def _plan(query: Query) -> tuple[str, str] | None:
    """("sessions" | "events", kind) when the daily counts can answer this query, else None."""
    rng = query.date_range
    if query.filters or rng.period in ("realtime", "30m"):
        return None
    dims = query.resolved_dimensions()
    metrics = set(query.metrics)
    if len(dims) > 1:
        return None
    dim = dims[0] if dims else None
    if dim is None or dim in DAY_DIMENSIONS:
        if dim is not None and query.timezone not in UTC_ZONES:
            return None
        if metrics <= SESSION_METRICS:
            return "sessions", "all"
        return None
    if is_time(dim):
        return None
    if dim in SESSION_KINDS:
        return ("sessions", dim) if metrics <= SESSION_METRICS else None
    if dim in EVENT_KINDS or dim == "event:goal":
        if not metrics <= EVENT_METRICS:
            return None
        return "events", ("goal" if dim == "event:goal" else dim)
    return None


def _day(value: datetime) -> datetime:
    return value.replace(tzinfo=None) if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)


def compile_daily(store: EventStore, query: Query) -> Compiled | None:
    """The query answered from daily counts plus raw rows, or None when it cannot be."""
    plan = _plan(query)
    if plan is None:
        return None
    table, kind = plan
    rng = query.date_range
    start, end = _day(rng.start), _day(rng.end)
    midnight = datetime.min.time()
    first = start.date() if start.time() == midnight else start.date() + timedelta(days=1)  # first whole day
    last = end.date() - timedelta(days=1)  # the last whole day ends at or before `end`
    if last < first:
        return None
    states = day_states(store, query.site.id, first, last)
    wanted_goals = {goal_key(g) for g in query.site.goals} if kind == "goal" else set()

    def counted(day: date, part: str) -> DayState | None:
        state = states.get((day, part))
        if state is None or state.state != COMPUTED or not wanted_goals <= set(state.goals):
            return None
        return state

    days = {}
    day = first
    while day <= last:
        state = counted(day, "rows")
        if state is not None:
            days[day] = state.generation
        day += timedelta(days=1)
    if not days:
        return None
    if table == "sessions":
        return _sessions_sql(query, kind, start, end, days)
    return _events_sql(query, kind, start, end, days)


def _generations(days: dict[date, int]) -> str:
    """The counted days' rows: each count's generation (a microsecond clock reading, one per
    site and day) picks its rows. Written as integer literals, not bound parameters: they are
    numbers read back from the engine (DayState), never a user's text, and chDB takes about
    60 µs to substitute each bound parameter: 29 of them made a 30-day dashboard query 1.5-2 ms
    slower (17.5 ms over the nine queries of bench/query at 10M events)."""
    if not days:
        return "0"
    values = ", ".join(str(int(generation)) for _, generation in sorted(days.items()))
    return f"generation IN ({values})"


def _strings(params: Params, values: list[str]) -> str:
    return "CAST([" + ", ".join(params.bind(v) for v in values) + "], 'Array(String)')"


def _value_label(query: Query, kind: str, params: Params) -> str:
    if kind == "goal":
        goals = query.site.goals
        keys = _strings(params, [goal_key(g) for g in goals])
        names = _strings(params, [g.display_name for g in goals])
        return f"transform(value, {keys}, {names}, '')"
    label = VISIT_COLUMNS[kind][1] if kind in VISIT_COLUMNS else None
    return _labelled("value", label)


def _time_expr(dim: str, column: str, first: str) -> str:
    if dim == "time:day":
        return column
    if dim == "time:week":
        return f"greatest(toMonday({column}), {first})"
    return f"toStartOfMonth({column})"


def _sessions_sql(query: Query, kind: str, start: datetime, end: datetime, days: dict[date, int]) -> Compiled:
    params = Params()
    site, a, b, gens, uncounted = _range_params(params, query, "start", start, end, days)
    first = params.bind(query.date_range.first.isoformat(), "Date")
    dims = query.resolved_dimensions()
    dim = dims[0] if dims else None
    kind_param = params.bind(kind)
    if dim is None:
        stored_d, raw_d = "", ""
    elif dim in DAY_DIMENSIONS:
        stored_d = f"{_time_expr(dim, 'day', first)} AS d0, "
        raw_d = f"{_time_expr(dim, 'toDate(start)', first)} AS d0, "
    else:
        stored_d = f"{_value_label(query, kind, params)} AS d0, "
        column = SESSION_KINDS[kind]
        raw_d = f"{_labelled(column, VISIT_COLUMNS[kind][1] if kind in VISIT_COLUMNS else None)} AS d0, "
    hide_stored = " AND value != ''" if dim in HIDE_EMPTY else ""
    hide_raw = f" AND {SESSION_KINDS[dim]} != ''" if dim in HIDE_EMPTY else ""
    stored = (
        f"SELECT {stored_d}toInt64(visitors) AS visitors, visits, bounces, duration, pageviews, events "
        "FROM {db}.daily_sessions "
        f"WHERE site_id = {site} AND kind = {kind_param} AND {gens}{hide_stored}"
    )
    inner_group = "d0, sday, user_id, session_id" if dim else "sday, user_id, session_id"
    raw = (
        f"SELECT {'d0, ' if dim else ''}toInt64(uniqExactIf(user_id, live > 0)) AS visitors, "
        "sum(live) AS visits, sum(b) AS bounces, sum(du) AS duration, sum(p) AS pageviews, "
        "sum(e) AS events FROM ("
        f"SELECT {raw_d}toDate(start) AS sday, user_id, session_id, sum(sign) AS live, "
        "sum(sign * is_bounce) AS b, sum(sign * duration) AS du, sum(sign * s.pageviews) AS p, "
        f"sum(sign * s.events) AS e FROM {{db}}.sessions AS s WHERE site_id = {site} AND start >= {a} "
        f"AND start < {b} AND ({uncounted}){hide_raw} GROUP BY {inner_group}) "
        f"GROUP BY {'d0, ' if dim else ''}sday"
    )
    totals = (
        "SELECT sum(visitors) AS vis, sum(visits) AS vst, sum(bounces) AS bnc, "
        "sum(duration) AS dur, sum(pageviews) AS pvs, sum(events) AS evs"
    )
    body = f"{totals}{', d0' if dim else ''} FROM ({stored} UNION ALL {raw})"
    if dim:
        body += " GROUP BY d0 HAVING vst > 0 OR vis > 0"
    total = None
    if "percentage" in query.metrics:
        total_gens = gens
        total = (
            "(SELECT sum(visitors) FROM (SELECT toInt64(visitors) AS visitors FROM {db}.daily_sessions "
            f"WHERE site_id = {site} AND kind = 'all' AND {total_gens} UNION ALL "
            "SELECT toInt64(uniqExact(user_id)) FROM {db}.sessions "
            f"WHERE site_id = {site} AND start >= {a} AND start < {b} AND ({uncounted}) "
            "GROUP BY toDate(start)))"
        )
    finals = []
    for metric in query.metrics:
        finals.append(_session_metric(metric, total))
    return _finish(query, params, body, finals, dims)


def _session_metric(metric: str, total: str | None) -> str:
    return {
        "visitors": "toUInt64(vis) AS visitors",
        "visits": "toUInt64(greatest(vst, 0)) AS visits",
        "bounce_rate": "toUInt32(ifNotFinite(round(bnc / vst * 100), 0)) AS bounce_rate",
        "visit_duration": "toUInt32(ifNotFinite(round(dur / vst), 0)) AS visit_duration",
        "views_per_visit": "ifNotFinite(round(pvs / vst, 2), 0) AS views_per_visit",
        "pageviews": "toUInt64(greatest(pvs, 0)) AS pageviews",
        "events": "toUInt64(greatest(evs, 0)) AS events",
        "percentage": f"round(vis / nullIf({total}, 0) * 100, 1) AS percentage",
    }[metric]


def _events_sql(query: Query, kind: str, start: datetime, end: datetime, days: dict[date, int]) -> Compiled:
    params = Params()
    site, a, b, gens, uncounted = _range_params(params, query, "timestamp", start, end, days)
    dims = query.resolved_dimensions()
    dim = dims[0] if dims else None
    body = _events_union(query, params, kind, dim, site, (a, b, gens, uncounted))
    total = None
    if "percentage" in query.metrics or "conversion_rate" in query.metrics:
        everyone = _events_union(query, params, "all", None, site, (a, b, gens, uncounted))
        total = f"(SELECT vis FROM ({everyone}))"
    finals = [
        {
            "visitors": "toUInt64(vis) AS visitors",
            "pageviews": "toUInt64(pvs) AS pageviews",
            "events": "toUInt64(evs) AS events",
            "percentage": f"round(vis / nullIf({total}, 0) * 100, 1) AS percentage",
            "conversion_rate": f"ifNull(round(vis / nullIf({total}, 0) * 100, 1), 0) AS conversion_rate",
        }[metric]
        for metric in query.metrics
    ]
    return _finish(query, params, body, finals, dims)


def _events_union(
    query: Query, params: Params, kind: str, dim: str | None, site: str, where: tuple[str, str, str, str]
) -> str:
    """Per value: visitors, pageviews, events over [a, b) = the counted days' figures plus each
    other UTC day's, from the raw rows."""
    a, b, gens, uncounted = where
    kind_param = params.bind(kind)
    stored_d = f"{_value_label(query, kind, params)} AS d0, " if dim else ""
    only = ""
    if dim is None:
        raw_d = ""
    elif kind == "goal":
        ctx = _GoalContext(params)
        goals = query.site.goals
        branches = ", ".join(
            f"if({goal_condition(ctx, g)}, {params.bind(g.display_name)}, '')"  # type: ignore[arg-type]
            for g in goals
        )
        raw_d = f"arrayJoin(arrayFilter(x -> x != '', [{branches}])) AS d0, " if goals else "'' AS d0, "
        only = "" if goals else " AND 0"
    else:
        raw_d = f"{EVENT_KINDS[kind]} AS d0, "
    stored = (
        f"SELECT {stored_d}toInt64(visitors) AS visitors, toInt64(pageviews) AS pageviews, "
        f"toInt64(events) AS events FROM {{db}}.daily_events "
        f"WHERE site_id = {site} AND kind = {kind_param} AND {gens}"
    )
    group = "d0, eday" if dim else "eday"
    raw = (
        f"SELECT {'d0, ' if dim else ''}toInt64(uniqExact(user_id)) AS visitors, "
        "toInt64(countIf(name = 'pageview')) AS pageviews, toInt64(count()) AS events FROM ("
        f"SELECT {raw_d}toDate(timestamp) AS eday, user_id, name FROM {{db}}.events "
        f"WHERE site_id = {site} AND name != 'engagement' AND timestamp >= {a} AND timestamp < {b} "
        f"AND ({uncounted}){only}) GROUP BY {group}"
    )
    select = "SELECT sum(visitors) AS vis, sum(pageviews) AS pvs, sum(events) AS evs"
    if dim:
        return f"{select}, d0 FROM ({stored} UNION ALL {raw}) GROUP BY d0 HAVING vis > 0 OR evs > 0"
    return f"{select} FROM ({stored} UNION ALL {raw})"


def _range_params(
    params: Params, query: Query, column: str, start: datetime, end: datetime, days: dict[date, int]
) -> tuple[str, str, str, str, str]:
    """What both statements bind first: the site, the range's ends, the counted days'
    generations, and the condition on `column` for the rows of the days not counted."""
    site = params.bind(query.site.id, "UInt64")
    a = params.bind(start.strftime("%Y-%m-%d %H:%M:%S"), "DateTime('UTC')")
    b = params.bind(end.strftime("%Y-%m-%d %H:%M:%S"), "DateTime('UTC')")
    return site, a, b, _generations(days), _uncounted(params, column, start, end, days)


def _uncounted(params: Params, column: str, start: datetime, end: datetime, days: dict[date, int]) -> str:
    """[start, end) less the counted days, as intervals on `column` (the primary key narrows the scan)."""
    pieces, cursor = [], start
    for day in sorted(days):
        midnight = datetime(day.year, day.month, day.day)
        if cursor < midnight:
            pieces.append((cursor, midnight))
        cursor = max(cursor, _midnight_after(day))
    if cursor < end:
        pieces.append((cursor, end))
    utc = "DateTime('UTC')"
    conditions = [
        f"({column} >= {params.bind(x.strftime('%Y-%m-%d %H:%M:%S'), utc)} "
        f"AND {column} < {params.bind(y.strftime('%Y-%m-%d %H:%M:%S'), utc)})"
        for x, y in pieces
    ]
    return " OR ".join(conditions) or "0"


def _midnight_after(day: date) -> datetime:
    following = day + timedelta(days=1)
    return datetime(following.year, following.month, following.day)


def _finish(query: Query, params: Params, body: str, finals: list[str], dims: tuple[str, ...]) -> Compiled:
    dim_names = [f"d{i}" for i in range(len(dims))]
    select = ", ".join(dim_names + finals)
    if query.total_rows:
        select += ", count() OVER () AS __total_rows"
    sql = (
        f"SELECT {select} FROM ({body}) AS body ORDER BY {_order_by(query, dims)}"
        f" LIMIT {params.bind(query.limit, 'UInt64')} OFFSET {params.bind(query.offset, 'UInt64')}"
    )
    return Compiled(sql=sql, params=params.values, dimensions=dims, metrics=query.metrics)
