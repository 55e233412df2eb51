"""Runs queries on the event store and shapes the rows: dimensions as labels, metrics as values,
comparisons against another period, funnels.

Every call here is blocking (chDB runs in-process); HTTP handlers call it in a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from footfall.events.daily_marks import day_states
from footfall.events.store import EventStore
from footfall.stats import imported_sql, planner
from footfall.stats import metrics as metric_defs
from footfall.stats.compiler import compile_query
from footfall.stats.query import (
    DateRange,
    Filter,
    GoalSpec,
    Leaf,
    Query,
    QueryError,
    SiteSpec,
    comparison_range,
    is_time,
    metric_change,
    time_labels,
    walk,
)
from footfall.stats.sql import Compiled, Params, _Context, compile_filters, goal_condition


@dataclass
class Row:
    dimensions: list[Any]
    metrics: dict[str, Any]
    comparison: Row | None = None
    change: dict[str, Any] = field(default_factory=dict)


@dataclass
class Result:
    query: Query
    rows: list[Row]
    total_rows: int | None = None
    labels: list[str] | None = None
    comparison_range: DateRange | None = None
    warnings: dict[str, Any] = field(default_factory=dict)
    imports: imported_sql.Decision | None = None  # asked for with include_imports


def label(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return value


def revenue_currency(query: Query) -> str | None:
    """The one currency of the revenue goals a query is about, or None."""
    names: set[str] = set()
    for leaf, _ in walk(query.filters):
        if leaf.dimension == "event:goal" and leaf.operator in ("is", "contains"):
            for goal in query.site.goals:
                if any(
                    (goal.display_name == v) if leaf.operator == "is" else (v in goal.display_name)
                    for v in leaf.values
                ):
                    names.add(goal.display_name)
    if not names and "event:goal" in query.dimensions:
        names = {g.display_name for g in query.site.goals if g.currency}
    currencies = {g.currency for g in query.site.goals if g.display_name in names and g.currency}
    return currencies.pop() if len(currencies) == 1 else None


def execute(store: EventStore, query: Query) -> Result:
    """Run one query (and its comparison, if asked) and return shaped rows."""
    result = _run(store, query)
    if query.comparison is not None:
        previous = _run(store, query.with_range(query.comparison.date_range))
        _attach_comparison(result, previous)
        result.comparison_range = query.comparison.date_range
    return result


def compile_for(store: EventStore, query: Query) -> Compiled:
    """The statement for `query`: the marks of the days the daily counts might answer are read
    first, so that planning and compiling read nothing."""
    window = planner.daily_window(query)
    states = day_states(store, query.site.id, *window) if window is not None else {}
    return compile_query(query, day_states=states)


def _run(store: EventStore, query: Query) -> Result:
    imports = imported_sql.decide(query) if query.include_imports else None
    if imports is not None and imports.included:
        compiled = imported_sql.compile_merged(query, imports, lambda native: compile_for(store, native))
    else:
        compiled = compile_for(store, query)
    answer = store.query(compiled.sql, compiled.params)
    currency = revenue_currency(query) if any(m.endswith("_revenue") for m in query.metrics) else None
    rows: list[Row] = []
    total = 0 if query.total_rows else None
    dim_count = len(compiled.dimensions)
    for raw in answer.rows:
        values = list(raw)
        dims = [label(v) for v in values[:dim_count]]
        metric_values = values[dim_count : dim_count + len(compiled.metrics)]
        row_currency = currency
        if currency is None and "event:goal" in compiled.dimensions:
            goal = query.site.goal(dims[compiled.dimensions.index("event:goal")])
            row_currency = goal.currency if goal else None
        shaped = {
            m: metric_defs.present(m, v, row_currency)
            for m, v in zip(compiled.metrics, metric_values, strict=True)
        }
        if query.total_rows:
            total = int(values[-1])
        rows.append(Row(dims, shaped))
    if query.total_rows and not rows and query.offset:
        total = _count_rows(store, query)
    result = Result(query=query, rows=rows, total_rows=total, imports=imports)
    time_dims = [d for d in compiled.dimensions if is_time(d)]
    if time_dims:
        result.labels = time_labels(query.date_range, time_dims[0])
    if (
        any(m.endswith("_revenue") for m in query.metrics)
        and currency is None
        and "event:goal" not in query.dimensions
    ):
        for m in query.metrics:
            if m.endswith("_revenue"):
                result.warnings[m] = {
                    "code": "no_revenue_goals_matching",
                    "warning": "Revenue metrics are null as there are no matching revenue goals.",
                }
    return result


def _count_rows(store: EventStore, query: Query) -> int:
    """Total rows when the page asked for lies past the end (the window count saw no rows)."""
    probe = replace(query, offset=0, limit=1)
    compiled = compile_query(probe)
    answer = store.query(compiled.sql, compiled.params)
    return int(answer.rows[0][-1]) if answer.rows else 0


def _attach_comparison(current: Result, previous: Result) -> None:
    query = current.query
    dims = query.resolved_dimensions()
    time_index = next((i for i, d in enumerate(dims) if is_time(d)), None)
    if time_index is not None:
        # Buckets pair by position: the n-th day of this period with the n-th day of the other.
        now_labels = current.labels or []
        then_labels = previous.labels or []
        position = {lab: i for i, lab in enumerate(now_labels)}

        def key(row: Row, labels: dict[str, int]) -> tuple[Any, ...]:
            rest = tuple(v for i, v in enumerate(row.dimensions) if i != time_index)
            return (labels.get(row.dimensions[time_index]), *rest)

        then_position = {lab: i for i, lab in enumerate(then_labels)}
        by_key = {key(row, then_position): row for row in previous.rows}
        for row in current.rows:
            other = by_key.get(key(row, position))
            row.comparison = other or _empty_row(query, row, then_labels, position, time_index)
            row.change = _changes(query.metrics, row.comparison.metrics, row.metrics)
        return
    by_dims = {tuple(row.dimensions): row for row in previous.rows}
    for row in current.rows:
        other = by_dims.get(tuple(row.dimensions))
        row.comparison = other or Row(list(row.dimensions), {m: _zero(m) for m in query.metrics})
        row.change = _changes(query.metrics, row.comparison.metrics, row.metrics)


def _empty_row(query: Query, row: Row, then_labels: list[str], position: dict[str, int], ti: int) -> Row:
    dims = list(row.dimensions)
    index = position.get(row.dimensions[ti])
    dims[ti] = then_labels[index] if index is not None and index < len(then_labels) else None
    return Row(dims, {m: _zero(m) for m in query.metrics})


def _zero(metric: str) -> Any:
    return None if metric in ("percentage", "total_revenue", "average_revenue") else 0


def _changes(metrics: tuple[str, ...], old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    return {m: metric_change(m, old.get(m), new.get(m)) for m in metrics}


def comparison_for(query: Query, mode: str, custom: DateRange | None = None) -> Query:
    from footfall.stats.query import Comparison

    return replace(query, comparison=Comparison(mode, comparison_range(query.date_range, mode, custom)))


# --- realtime -----------------------------------------------------------------------------------


def current_visitors(store: EventStore, site: SiteSpec, now: datetime, minutes: int = 5) -> int:
    """Unique visitors with an event in the last few minutes (Plausible's "current visitors")."""
    sql = (
        "SELECT uniq(user_id) FROM {db}.events WHERE site_id = {site:UInt64} "
        "AND timestamp >= {since:DateTime('UTC')} AND name != 'engagement'"
    )
    since = now.timestamp() - minutes * 60
    value = store.query(
        sql, {"site": site.id, "since": datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%d %H:%M:%S")}
    ).scalar()
    return int(value or 0)


# --- funnels ------------------------------------------------------------------------------------

FUNNEL_WINDOW_SECONDS = 86_400


def funnel(store: EventStore, query: Query, name: str, steps: list[GoalSpec]) -> dict[str, Any]:
    """Visitors reaching each of 2-8 ordered steps within a day, by ClickHouse's windowFunnel."""
    if not 2 <= len(steps) <= 8:
        raise QueryError("A funnel has between 2 and 8 steps.")
    params = Params()
    ctx = _Context(query, params)
    conditions = [goal_condition(ctx, goal) for goal in steps]
    filters = compile_filters(ctx, "events", query.filters)
    sql = (
        f"SELECT level, count() AS visitors FROM (SELECT user_id, "
        f"windowFunnel({FUNNEL_WINDOW_SECONDS})(timestamp, {', '.join(conditions)}) AS level "
        f"FROM {{db}}.events WHERE {ctx.events_base()} AND {filters} AND ({' OR '.join(conditions)}) "
        f"GROUP BY user_id) GROUP BY level"
    )
    levels = {int(level): int(count) for level, count in store.query(sql, params.values).rows}
    total_sql = f"SELECT uniq(user_id) FROM {{db}}.events WHERE {ctx.events_base()} AND {filters}"
    all_visitors = int(store.query(total_sql, params.values).scalar() or 0)
    reached = [sum(c for lvl, c in levels.items() if lvl >= i) for i in range(1, len(steps) + 1)]
    entering = reached[0]
    out_steps = []
    for i, goal in enumerate(steps):
        previous = reached[i - 1] if i else entering
        dropoff = previous - reached[i] if i else 0
        out_steps.append(
            {
                "label": goal.display_name,
                "visitors": reached[i],
                "conversion_rate": _pct(reached[i], entering),
                "conversion_rate_step": _pct(reached[i], previous) if i else "100.00" if entering else "0.00",
                "dropoff": dropoff,
                "dropoff_percentage": _pct(dropoff, previous) if i else "0.00",
            }
        )
    return {
        "name": name,
        "steps": out_steps,
        "all_visitors": all_visitors,
        "entering_visitors": entering,
        "entering_visitors_percentage": _pct(entering, all_visitors),
        "never_entering_visitors": all_visitors - entering,
        "never_entering_visitors_percentage": _pct(all_visitors - entering, all_visitors),
    }


def _pct(part: int, whole: int) -> str:
    return f"{(part / whole * 100) if whole else 0:.2f}"


__all__ = [
    "Filter",
    "Leaf",
    "Result",
    "Row",
    "comparison_for",
    "current_visitors",
    "execute",
    "funnel",
]
