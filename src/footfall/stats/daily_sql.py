"""The daily counts' emitter: one SQL statement from a daily plan (`footfall.stats.planner`).

The counted days' rows (`daily_sessions` / `daily_events`, one generation per day) and the raw
rows of every other UTC day of the range are put in one UNION ALL of the catalogue's parts
(visitors, visits, bounces, duration, pageviews, events), summed per group, and each metric's
formula (`footfall.stats.catalogue`) is applied once to the sums.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta

from footfall.stats import catalogue as cat
from footfall.stats.catalogue import DAILY_PAGE_FILTER_KINDS, DAILY_SESSION_KINDS, HIDE_EMPTY, labelled
from footfall.stats.planner import DailyPlan, Plan, goal_key
from footfall.stats.query import Query
from footfall.stats.sql import Compiled, Params, finish, goal_condition


class _GoalContext:
    """What `goal_condition` needs: somewhere to bind values."""

    def __init__(self, params: Params) -> None:
        self.params = params


def emit(plan: Plan) -> Compiled:
    daily = plan.daily
    assert daily is not None, "a daily plan"
    if daily.table == "sessions":
        return _sessions_sql(plan.query, daily)
    return _events_sql(plan.query, daily)


def _generations(days: Mapping[date, int]) -> str:
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
    return labelled("value", cat.empty_label(kind))


def _time_expr(dim: str, column: str, first: str) -> str:
    if dim == "time:day":
        return column
    if dim == "time:week":
        return f"greatest(toMonday({column}), {first})"
    return f"toStartOfMonth({column})"


def _sessions_sql(query: Query, daily: DailyPlan) -> Compiled:
    params = Params()
    kind = daily.kind
    site, a, b, gens, uncounted = _range_params(params, query, "start", daily)
    first = params.bind(query.date_range.first.isoformat(), "Date")
    dims = query.resolved_dimensions()
    dim = dims[0] if dims else None
    kind_param = params.bind(kind)
    if dim is None:
        stored_d, raw_d = "", ""
    elif dim in cat.DAILY_TIME_DIMENSIONS:
        stored_d = f"{_time_expr(dim, 'day', first)} AS d0, "
        raw_d = f"{_time_expr(dim, 'toDate(start)', first)} AS d0, "
    else:
        stored_d = f"{_value_label(query, kind, params)} AS d0, "
        raw_d = f"{labelled(DAILY_SESSION_KINDS[kind], cat.empty_label(kind))} AS d0, "
    hide_stored = " AND value != ''" if dim in HIDE_EMPTY else ""
    hide_raw = f" AND {DAILY_SESSION_KINDS[dim]} != ''" if dim in HIDE_EMPTY else ""
    table, keep_stored, keep_raw = _filter_sql(params, daily, "sessions")
    stored = (
        f"SELECT {stored_d}toInt64(visitors) AS visitors, visits, bounces, duration, pageviews, events "
        f"FROM {{db}}.{table} "
        f"WHERE site_id = {site}{keep_stored} AND kind = {kind_param} AND {gens}{hide_stored}"
    )
    inner_group = "d0, sday, user_id, session_id" if dim else "sday, user_id, session_id"
    raw = (
        f"SELECT {'d0, ' if dim else ''}toInt64(uniqExactIf(user_id, live > 0)) AS visitors, "
        "sum(live) AS visits, sum(b) AS bounces, sum(du) AS duration, sum(p) AS pageviews, "
        "sum(e) AS events FROM ("
        f"SELECT {raw_d}toDate(start) AS sday, user_id, session_id, sum(sign) AS live, "
        "sum(sign * is_bounce) AS b, sum(sign * duration) AS du, sum(sign * s.pageviews) AS p, "
        f"sum(sign * s.events) AS e FROM {{db}}.sessions AS s WHERE site_id = {site} AND start >= {a} "
        f"AND start < {b} AND ({uncounted}){keep_raw}{hide_raw} GROUP BY {inner_group}) "
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
            f"(SELECT sum(visitors) FROM (SELECT toInt64(visitors) AS visitors FROM {{db}}.{table} "
            f"WHERE site_id = {site}{keep_stored} AND kind = 'all' AND {total_gens} UNION ALL "
            "SELECT toInt64(uniqExact(user_id)) FROM {db}.sessions "
            f"WHERE site_id = {site} AND start >= {a} AND start < {b} AND ({uncounted}){keep_raw} "
            "GROUP BY toDate(start)))"
        )
    finals = [_metric(metric, cat.DAILY_SESSIONS, total) for metric in query.metrics]
    return finish(params, query, dims, body, finals, visitors_column="vis")


def _metric(metric: str, source: str, total: str | None) -> str:
    """A metric over the summed parts; shares divide the summed visitors by `total`."""
    if metric in cat.SHARE_METRICS:
        return cat.formula(metric, {"visitors": cat.PARTS[source]["visitors"], cat.TOTAL: total or "0"})
    return cat.source_formula(metric, source)


def _events_sql(query: Query, daily: DailyPlan) -> Compiled:
    params = Params()
    kind = daily.kind
    site, a, b, gens, uncounted = _range_params(params, query, "timestamp", daily)
    dims = query.resolved_dimensions()
    dim = dims[0] if dims else None
    where = (a, b, gens, uncounted, *_filter_sql(params, daily, "events"))
    body = _events_union(query, params, kind, dim, site, where)
    total = None
    if "percentage" in query.metrics or "conversion_rate" in query.metrics:
        everyone = _events_union(query, params, "all", None, site, where)
        total = f"(SELECT vis FROM ({everyone}))"
    finals = [_metric(metric, cat.DAILY_EVENTS, total) for metric in query.metrics]
    return finish(params, query, dims, body, finals, visitors_column="vis")


def _events_union(
    query: Query,
    params: Params,
    kind: str,
    dim: str | None,
    site: str,
    where: tuple[str, str, str, str, str, str, str],
) -> str:
    """Per value: visitors, pageviews, events over [a, b) = the counted days' figures plus each
    other UTC day's, from the raw rows."""
    a, b, gens, uncounted, table, keep_stored, keep_raw = where
    kind_param = params.bind(kind)
    stored_d = f"{_value_label(query, kind, params)} AS d0, " if dim else ""
    only = keep_raw
    if dim is None:
        raw_d = ""
    elif dim in cat.DAILY_TIME_DIMENSIONS:
        first = params.bind(query.date_range.first.isoformat(), "Date")
        stored_d = f"{_time_expr(dim, 'day', first)} AS d0, "
        raw_d = f"{_time_expr(dim, 'toDate(timestamp)', first)} AS d0, "
    elif kind == "goal":
        ctx = _GoalContext(params)
        goals = query.site.goals
        branches = ", ".join(
            f"if({goal_condition(ctx, g)}, {params.bind(g.display_name)}, '')"  # type: ignore[arg-type]
            for g in goals
        )
        raw_d = f"arrayJoin(arrayFilter(x -> x != '', [{branches}])) AS d0, " if goals else "'' AS d0, "
        only += "" if goals else " AND 0"
    else:
        raw_d = f"{labelled(DAILY_PAGE_FILTER_KINDS[kind], cat.empty_label(kind))} AS d0, "
    hide_stored = ""
    if dim in HIDE_EMPTY:
        hide_stored = " AND value != ''"
        only += f" AND {DAILY_PAGE_FILTER_KINDS[dim]} != ''"
    stored = (
        f"SELECT {stored_d}toInt64(visitors) AS visitors, toInt64(pageviews) AS pageviews, "
        f"toInt64(events) AS events FROM {{db}}.{table} "
        f"WHERE site_id = {site}{keep_stored} AND kind = {kind_param} AND {gens}{hide_stored}"
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


def _filter_sql(params: Params, daily: DailyPlan, table: str) -> tuple[str, str, str]:
    """The counted days' table, the condition on its rows and the condition on the raw rows of
    `table` ("sessions" or "events") for the plan's filter; no conditions when it has none."""
    if daily.filter is None:
        return f"daily_{table}", "", ""
    dimension, value = daily.filter
    name, bound = params.bind(dimension), params.bind(value)
    return (
        f"daily_filtered_{table}",
        f" AND filter = {name} AND fvalue = {bound}",
        f" AND {cat.DAILY_FILTERS[dimension]} = {bound}",
    )


def _range_params(
    params: Params, query: Query, column: str, daily: DailyPlan
) -> tuple[str, str, str, str, str]:
    """What both statements bind first: the site, the range's ends, the counted days'
    generations, and the condition on `column` for the rows of the days not counted."""
    start, end, days = daily.start, daily.end, daily.days
    site = params.bind(query.site.id, "UInt64")
    a = params.bind(start.strftime("%Y-%m-%d %H:%M:%S"), "DateTime('UTC')")
    b = params.bind(end.strftime("%Y-%m-%d %H:%M:%S"), "DateTime('UTC')")
    return site, a, b, _generations(days), _uncounted(params, column, start, end, days)


def _uncounted(params: Params, column: str, start: datetime, end: datetime, days: Mapping[date, int]) -> str:
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
