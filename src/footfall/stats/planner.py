"""The planner: which source answers which part of a query, decided from inputs alone.

`plan(query, day_states, rollups)` reads nothing from a database: the engine reads the daily
marks it needs first (`daily_window` says which days; none when the daily counts cannot answer
the query's shape) and passes them in. The plan is one of:

- daily counts: the counted (sealed, clean) days from `daily_sessions` / `daily_events` (or,
  for a query with one filter they keep, `daily_filtered_sessions` / `_events`: `daily_filter`),
  the rest of the range (edges in the site's zone, today, dirty days) from the raw tables, summed
  part by part before each metric's formula is applied (`footfall.stats.daily_sql`);
- an hourly rollup (`sessions_hourly`, `events_hourly`) for unfiltered queries over whole hours;
- the raw tables, as up to four parts joined on the dimensions (`footfall.stats.sql`).

Which source may give which metric comes from the catalogue (`footfall.stats.catalogue`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from footfall.events.daily_marks import COMPUTED, DayState
from footfall.stats import catalogue as cat
from footfall.stats.query import DateRange, GoalSpec, Leaf, Query, QueryError, filters_on, is_time, walk

# Metrics each source can answer, from the catalogue's parts.
SESSIONS_TABLE_METRICS = cat.metrics_of(cat.RAW_SESSIONS) - {"conversion_rate", "group_conversion_rate"}
EVENT_METRICS = frozenset({"visitors", "pageviews", "events", "total_revenue", "average_revenue"})
ENGAGEMENT_METRICS = cat.metrics_of(cat.ENGAGEMENT)
ROLLUP_EVENT_METRICS = cat.metrics_of(cat.EVENTS_HOURLY) - {"group_conversion_rate"}
DAILY_SESSION_METRICS = cat.metrics_of(cat.DAILY_SESSIONS) - {"conversion_rate", "group_conversion_rate"}
DAILY_EVENT_METRICS = cat.metrics_of(cat.DAILY_EVENTS) - {"group_conversion_rate"}
# Session metrics asked of the sessions table when it is joined with the events table.
_SESSION_RATIOS = ("bounce_rate", "visit_duration", "views_per_visit")

UTC_ZONES = frozenset(
    {"UTC", "Etc/UTC", "Etc/UCT", "UCT", "GMT", "Etc/GMT", "Etc/Universal", "Universal", "Zulu"}
)
# Longer ranges read the raw tables rather than check every year's offsets.
ROLLUP_MAX_YEARS = 30


# The mark a count writes next to its "rows" mark, with the same generation, once the filtered
# counts of the day are written too: a day counted before they existed (or dirty since) has no
# current one, and filtered queries read that day's raw rows until it is counted again.
FILTERED = "filtered"


def filtered(states: Mapping[tuple[date, str], DayState], day: date) -> bool:
    """Whether the day's current count has its filtered counts (same generation)."""
    rows, with_filters = states.get((day, "rows")), states.get((day, FILTERED))
    return (
        rows is not None
        and with_filters is not None
        and rows.state == with_filters.state == COMPUTED
        and rows.generation == with_filters.generation
    )


def goal_key(goal: GoalSpec) -> str:
    """How the daily counts name a goal: `event:Signup`, `page:/pricing`."""
    return f"event:{goal.event_name}" if goal.event_name is not None else f"page:{goal.page_path or ''}"


@dataclass(frozen=True)
class Part:
    """One subquery of a raw or rollup plan: its kind (`events`, `sessions`, `session_visitors`,
    `live_visitors_and_visits`, `engagement`, `sessions_hourly`, `events_hourly`) and metrics."""

    kind: str
    metrics: tuple[str, ...]


@dataclass(frozen=True)
class DailyPlan:
    """The daily counts answer: `table` ("sessions" or "events"), the `kind` of rows, the range
    as naive UTC datetimes, and the counted days with the generation to read of each."""

    table: str
    kind: str
    start: datetime
    end: datetime
    days: Mapping[date, int]
    # The one filter (dimension, value) the counts are read for: `daily_filtered_*`.
    filter: tuple[str, str] | None = None


@dataclass(frozen=True)
class Plan:
    query: Query
    dims: tuple[str, ...]
    parts: tuple[Part, ...] = ()
    daily: DailyPlan | None = None
    from_sessions: bool = False  # the sessions table alone answers
    mutable: bool = False  # a dimension or filter changes as a visit goes on (exit pages)
    hourly: bool = False  # the range is whole hours: totals may come from `visitors_hourly`
    wanted: tuple[str, ...] = field(default=())


def plan(query: Query, day_states: Mapping[tuple[date, str], DayState], rollups: bool = True) -> Plan:
    """The plan for `query`, given the daily marks `daily_window` asked for (`{}`: none)."""
    daily = _daily_plan(query, day_states) if day_states else None
    if daily is not None:
        return Plan(query, query.resolved_dimensions(), daily=daily)
    return _table_plan(query, rollups)


# --- daily counts ---------------------------------------------------------------------------------


def daily_filter(query: Query) -> tuple[str, str] | None:
    """(dimension, value) when the query's filters are one the daily counts keep figures for:
    a single value, `is`, case-sensitive (the Stats API's default), of a `DAILY_FILTERS` property."""
    if len(query.filters) != 1 or not isinstance(query.filters[0], Leaf):
        return None
    leaf = query.filters[0]
    if leaf.operator != "is" or len(leaf.values) != 1 or not leaf.case_sensitive:
        return None
    return (leaf.dimension, str(leaf.values[0])) if leaf.dimension in cat.DAILY_FILTERS else None


def daily_shape(query: Query) -> tuple[str, str] | None:
    """("sessions" | "events", kind) when the daily counts can answer this query's shape."""
    rng = query.date_range
    if rng.period in ("realtime", "30m"):
        return None
    if query.filters:
        found = daily_filter(query)
        if found is None:
            return None
        if found[0] == cat.PAGE_FILTER:
            return _page_filter_shape(query)
    dims = query.resolved_dimensions()
    metrics = set(query.metrics)
    if len(dims) > 1:
        return None
    dim = dims[0] if dims else None
    if dim is None or dim in cat.DAILY_TIME_DIMENSIONS:
        if dim is not None and query.timezone not in UTC_ZONES:
            return None
        return ("sessions", "all") if metrics <= DAILY_SESSION_METRICS else None
    if is_time(dim):
        return None
    if dim in cat.DAILY_SESSION_KINDS:
        return ("sessions", dim) if metrics <= DAILY_SESSION_METRICS else None
    if dim in cat.DAILY_EVENT_KINDS or dim == "event:goal":
        if not metrics <= DAILY_EVENT_METRICS:
            return None
        return "events", ("goal" if dim == "event:goal" else dim)
    return None


def _page_filter_shape(query: Query) -> tuple[str, str] | None:
    """Under a page filter the events table answers alone (the raw plan has only an events
    part) when every metric is one of the events' and no dimension is kept by visits only."""
    dims = query.resolved_dimensions()
    if len(dims) > 1 or not set(query.metrics) <= DAILY_EVENT_METRICS:
        return None
    dim = dims[0] if dims else None
    if dim is None or dim in cat.DAILY_TIME_DIMENSIONS:
        if dim is not None and query.timezone not in UTC_ZONES:
            return None
        return "events", "all"
    if dim == "event:goal":
        return "events", "goal"
    return ("events", dim) if dim in cat.DAILY_PAGE_FILTER_KINDS else None


def _utc_naive(value: datetime) -> datetime:
    return value.replace(tzinfo=None) if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)


def daily_window(query: Query) -> tuple[date, date] | None:
    """The whole UTC days of the range whose daily marks the plan needs, or None when the daily
    counts cannot answer the query (then no marks need reading)."""
    if daily_shape(query) is None:
        return None
    start, end = _utc_naive(query.date_range.start), _utc_naive(query.date_range.end)
    midnight = datetime.min.time()
    first = start.date() if start.time() == midnight else start.date() + timedelta(days=1)
    last = end.date() - timedelta(days=1)  # the last whole day ends at or before `end`
    return (first, last) if first <= last else None


def _daily_plan(query: Query, states: Mapping[tuple[date, str], DayState]) -> DailyPlan | None:
    shape, window = daily_shape(query), daily_window(query)
    if shape is None or window is None:
        return None
    table, kind = shape
    chosen = daily_filter(query) if query.filters else None
    wanted_goals = {goal_key(g) for g in query.site.goals} if kind == "goal" else set()
    days: dict[date, int] = {}
    day, last = window
    while day <= last:
        state = states.get((day, "rows"))
        if (
            state is not None
            and state.state == COMPUTED
            and wanted_goals <= set(state.goals)
            and (chosen is None or filtered(states, day))
        ):
            days[day] = state.generation
        day += timedelta(days=1)
    if not days:
        return None
    rng = query.date_range
    return DailyPlan(table, kind, _utc_naive(rng.start), _utc_naive(rng.end), days, chosen)


# --- hourly rollups and raw tables ----------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _whole_hour_offsets(timezone: str, year: int) -> bool:
    """The zone's offset from UTC is a whole number of hours all through the (UTC) year,
    checked twice a day: no zone keeps an odd offset for less than that."""
    zone = ZoneInfo(timezone)
    moment = datetime(year, 1, 1, tzinfo=UTC)
    while moment.year == year:
        offset = moment.astimezone(zone).utcoffset()
        if offset is None or offset.total_seconds() % 3600:
            return False
        moment += timedelta(hours=12)
    return True


def whole_hours(rng: DateRange) -> bool:
    """True when every hourly bucket of the range lies in one local date and hour of the site's
    zone: the range starts and ends on whole UTC hours, and the zone's offset is a whole number
    of hours throughout."""
    if any(t.minute or t.second or t.microsecond for t in (rng.start, rng.end)):
        return False
    if rng.end.year - rng.start.year > ROLLUP_MAX_YEARS:
        return False
    return all(_whole_hour_offsets(rng.timezone, y) for y in range(rng.start.year, rng.end.year + 1))


def rollup_table(query: Query, dims: tuple[str, ...], from_sessions: bool, mutable: bool) -> str | None:
    """The hourly rollup that answers this query exactly, or None for the raw tables."""
    if query.filters or query.date_range.period in ("realtime", "30m"):
        return None
    plain = [d for d in dims if d not in cat.HOURLY_TIME_DIMENSIONS]
    if len(plain) > 1 or any(is_time(d) for d in plain):
        return None
    metrics = set(query.metrics)
    if from_sessions:
        if mutable or not metrics <= SESSIONS_TABLE_METRICS:
            return None
        if not plain or plain[0] not in cat.SESSIONS_HOURLY_DIMENSIONS:
            return None
        table = cat.SESSIONS_HOURLY
    else:
        if not plain or plain[0] not in cat.EVENTS_HOURLY_DIMENSIONS or not metrics <= ROLLUP_EVENT_METRICS:
            return None
        table = cat.EVENTS_HOURLY
    return table if whole_hours(query.date_range) else None


def _check_dimensions(query: Query, dims: tuple[str, ...]) -> None:
    session_only = any(d in cat.SESSION_ONLY_DIMENSIONS for d in dims)
    if session_only and any(d.startswith("event:") for d in dims):
        raise QueryError("Invalid dimensions: entry and exit pages cannot be combined with event dimensions.")
    if session_only and any(m in ENGAGEMENT_METRICS for m in query.metrics):
        raise QueryError("Metrics `time_on_page` and `scroll_depth` cannot be split by entry or exit page.")


def _wanted(query: Query) -> tuple[str, ...]:
    """The metrics to compute: those asked, and `visitors` when a share of visitors is asked."""
    wanted = list(query.metrics)
    if any(m in cat.SHARE_METRICS for m in wanted) and "visitors" not in wanted:
        wanted.append("visitors")
    return tuple(wanted)


def _table_plan(query: Query, rollups: bool) -> Plan:
    dims = query.resolved_dimensions()
    _check_dimensions(query, dims)
    wanted = _wanted(query)
    filters = query.filters
    mutable = any(d in cat.MUTABLE_DIMENSIONS for d in dims) or any(
        leaf.dimension in cat.MUTABLE_DIMENSIONS for leaf, _ in walk(filters)
    )
    # With neither event dimensions nor event filters, the sessions table alone answers:
    # a fifth of the rows of the events table, and no join.
    from_sessions = any(d in cat.SESSION_ONLY_DIMENSIONS for d in dims) or (
        not any(d.startswith("event:") for d in dims)
        and not filters_on(filters, "event:")
        and set(wanted) <= SESSIONS_TABLE_METRICS
    )
    rollup = rollup_table(query, dims, from_sessions, mutable) if rollups else None
    hourly = rollups and query.date_range.period not in ("realtime", "30m") and whole_hours(query.date_range)
    if rollup == cat.SESSIONS_HOURLY:
        parts = (Part(rollup, tuple(m for m in wanted if m != "percentage")),)
    elif rollup == cat.EVENTS_HOURLY:
        parts = (Part(rollup, tuple(m for m in wanted if m in EVENT_METRICS)),)
    elif from_sessions:
        parts = _sessions_parts(wanted, mutable)
    else:
        parts = _joined_parts(wanted, dims)
    if not parts:
        raise QueryError("Please provide at least one metric.")
    return Plan(query, dims, parts, None, from_sessions, mutable, hourly, wanted)


def _sessions_parts(wanted: tuple[str, ...], mutable: bool) -> tuple[Part, ...]:
    """The parts of a query the sessions table answers alone."""
    session_metrics = [
        m for m in wanted if m in SESSIONS_TABLE_METRICS and m not in ("visitors", "percentage")
    ]
    parts: list[Part] = []
    if "visitors" in wanted and mutable and session_metrics == ["visits"]:
        # The exit pages breakdown: one scan instead of two joined.
        return (Part("live_visitors_and_visits", ("visitors", "visits")),)
    if "visitors" in wanted:
        if mutable:
            parts.append(Part("session_visitors", ("visitors",)))
        else:
            # Every row of a visit carries the same visitor and the same immutable properties.
            session_metrics.insert(0, "visitors")
    if session_metrics:
        parts.append(Part("sessions", tuple(session_metrics)))
    return tuple(parts)


def _joined_parts(wanted: tuple[str, ...], dims: tuple[str, ...]) -> tuple[Part, ...]:
    """The parts of a query that needs the events table: events, sessions, engagement."""
    event_dimension = any(d.startswith("event:") for d in dims)
    event_metrics = [m for m in wanted if m in EVENT_METRICS or (m == "visits" and event_dimension)]
    session_metrics = [m for m in wanted if m in _SESSION_RATIOS or (m == "visits" and not event_dimension)]
    engagement_metrics = [m for m in wanted if m in ENGAGEMENT_METRICS]
    if engagement_metrics and dims and not event_metrics and not session_metrics:
        # The groups come from the pages people viewed, engaged with or not.
        event_metrics = ["visitors"]
    parts = []
    if event_metrics:
        parts.append(Part("events", tuple(event_metrics)))
    if session_metrics:
        parts.append(Part("sessions", tuple(session_metrics)))
    if engagement_metrics:
        parts.append(Part("engagement", tuple(engagement_metrics)))
    return tuple(parts)
