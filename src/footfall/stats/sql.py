"""The SQL emitter for the raw tables and the hourly rollups: a plan (`footfall.stats.planner`)
becomes one parameterised ClickHouse SELECT, for chDB and server alike. Each metric's SQL is its
catalogue formula over the source's parts (`footfall.stats.catalogue`).

Every value from a request is a bound `{pN:Type}` parameter; every identifier comes from
the whitelists below. A query is answered from up to four parts, each grouped by the
same dimensions and joined on them:

- events   (`e`): visitors, visits, pageviews, events, revenue — one row per event;
- sessions (`s`): visits, bounce_rate, visit_duration, views_per_visit — the
  VersionedCollapsingMergeTree, aggregated with `sign` so the answer is exact whether
  or not ClickHouse has merged the cancelled states away;
- engagement (`g`): time_on_page and scroll_depth from `engagement` events;
- group totals: the denominator of group_conversion_rate.

A filter on a property the table lacks becomes `session_id IN (...)` over the other table,
so an event filter narrows session metrics to the visits that had such an event, and a
session filter (entry or exit page) narrows event metrics to the events of such visits.

Unfiltered queries over whole hours read the hourly rollups instead (`sessions_hourly`,
`events_hourly`, and `visitors_hourly` for denominators; filled by materialized views, see
`footfall.events.schema`): merging their `uniqState(user_id)` and sign-weighted sums gives
exactly what the raw rows give, with fewer rows to read and group. The planner's `rollup_table`
and `whole_hours` decide; anything they cannot prove exact reads the raw tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from footfall.stats import catalogue as cat
from footfall.stats import locations
from footfall.stats.catalogue import HIDE_EMPTY, NO_PROP, SESSION_ONLY_DIMENSIONS, labelled
from footfall.stats.planner import Part, Plan
from footfall.stats.query import (
    NEGATED,
    Filter,
    GoalSpec,
    Leaf,
    Query,
    QueryError,
    is_time,
    top_level,
    wildcard_to_regex,
    without_top_level,
)

# ClickHouse refuses a statement over `max_query_size` (256 KiB by default) before running it.
# Bound values are placeholders in the text, but a filter is repeated in each part of the
# query (and a `matches` filter on a property repeats the property's expression per value),
# so the filter limits in `query` cannot promise this alone: the compiled text is measured
# too, with room left for the database names put in place of `{db}`.
MAX_SQL_BYTES = 200_000


class Params:
    """Collects bound parameters; `bind` returns the `{pN:Type}` placeholder for a value."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def bind(self, value: Any, ch_type: str = "String") -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return "{" + name + ":" + ch_type + "}"


@dataclass
class Compiled:
    sql: str
    params: dict[str, Any]
    dimensions: tuple[str, ...]
    metrics: tuple[str, ...]
    columns: list[str] = field(default_factory=list)


class _Context:
    """What every part of one query shares: its parameters, site, range and goals."""

    def __init__(self, query: Query, params: Params) -> None:
        self.query = query
        self.params = params
        rng = query.date_range
        self.site = params.bind(query.site.id, "UInt64")
        self.start = params.bind(rng.start.strftime("%Y-%m-%d %H:%M:%S"), "DateTime('UTC')")
        self.end = params.bind(rng.end.strftime("%Y-%m-%d %H:%M:%S"), "DateTime('UTC')")
        self.tz = params.bind(query.timezone)
        self.first = params.bind(rng.first.isoformat(), "Date")
        self.engagement = "'engagement'"
        self._name_tables: dict[str, tuple[str, str]] = {}

    # -- base conditions --

    def events_base(self, engagement: bool = False) -> str:
        name = f"name = {self.engagement}" if engagement else f"name != {self.engagement}"
        return f"site_id = {self.site} AND timestamp >= {self.start} AND timestamp < {self.end} AND {name}"

    def sessions_base(self) -> str:
        return f"site_id = {self.site} AND start >= {self.start} AND start < {self.end}"

    def name_of(self, column: str, kind: str) -> str:
        """The English name of the code in `column` (the code itself when it has none); the two
        lists are bound once per query, whichever parts use them."""
        if kind not in self._name_tables:
            codes, names = locations.joined(kind)
            self._name_tables[kind] = (self.params.bind(codes), self.params.bind(names))
        codes_param, names_param = self._name_tables[kind]
        sep = f"'{locations.SEPARATOR}'"
        return (
            f"transform({column}, splitByChar({sep}, {codes_param}), "
            f"splitByChar({sep}, {names_param}), {column})"
        )

    # -- values --

    def strings(self, values: tuple[str, ...] | list[str], lower: bool = False) -> list[str]:
        out = []
        for value in values:
            placeholder = self.params.bind(str(value))
            out.append(f"lower({placeholder})" if lower else placeholder)
        return out


# --- expressions ------------------------------------------------------------------------------


def _prop_expr(ctx: _Context, key: str) -> str:
    k = ctx.params.bind(key)
    return f"if(indexOf(`meta.key`, {k}) = 0, '{NO_PROP}', `meta.value`[indexOf(`meta.key`, {k})])"


def native(table: str, dimension: str) -> bool:
    if dimension in SESSION_ONLY_DIMENSIONS:
        return table == "sessions"
    if dimension.startswith("event:"):
        return table == "events"
    return True


def dimension_expr(ctx: _Context, table: str, dimension: str) -> str:
    """The SQL for one dimension on one table (the caller has checked it is native there)."""
    time_column = {"events": "timestamp", "sessions": "start"}.get(table, "hour")
    if dimension == "time:minute":
        return f"toStartOfMinute(toTimeZone({time_column}, {ctx.tz}))"
    if dimension == "time:hour":
        return f"toStartOfHour(toTimeZone({time_column}, {ctx.tz}))"
    if dimension == "time:day":
        return f"toDate(toTimeZone({time_column}, {ctx.tz}))"
    if dimension == "time:week":
        return f"greatest(toMonday(toTimeZone({time_column}, {ctx.tz})), {ctx.first})"
    if dimension == "time:month":
        return f"toStartOfMonth(toTimeZone({time_column}, {ctx.tz}))"
    if table == cat.SESSIONS_HOURLY:
        # The rollup keeps one visit property per row, in `value`.
        return labelled("value", cat.empty_label(dimension))
    if dimension == "event:page" and table == "sessions":
        return "entry_page"  # session metrics split by page are those of visits entering there
    found = cat.DIMENSIONS.get(dimension)
    if found is not None:
        if found.named:
            return ctx.name_of(found.column, found.named)
        return labelled(found.column, found.empty_label)
    if dimension.startswith("event:props:"):
        return _prop_expr(ctx, dimension[len("event:props:") :])
    if dimension == "event:goal":
        return _goal_dimension(ctx)
    raise QueryError(f"Invalid dimension '{dimension}'.")


def goal_condition(ctx: _Context, goal: GoalSpec) -> str:
    if goal.event_name is not None:
        return f"name = {ctx.params.bind(goal.event_name)}"
    path = goal.page_path or ""
    if "*" not in path:
        return f"(name = 'pageview' AND pathname = {ctx.params.bind(path)})"
    if path.endswith("**") and "*" not in path[:-2]:
        # The common "everything under a prefix" goal needs no regular expression.
        return f"(name = 'pageview' AND startsWith(pathname, {ctx.params.bind(path[:-2])}))"
    regex = ctx.params.bind(wildcard_to_regex(path))
    return f"(name = 'pageview' AND match(pathname, {regex}))"


def _goal_dimension(ctx: _Context) -> str:
    goals = ctx.query.site.goals
    if not goals:
        return "arrayJoin(CAST([], 'Array(String)'))"
    branches = ", ".join(
        f"if({goal_condition(ctx, goal)}, {ctx.params.bind(goal.display_name)}, '')" for goal in goals
    )
    return f"arrayJoin(arrayFilter(x -> x != '', [{branches}]))"


def _any_goal(ctx: _Context) -> str:
    goals = ctx.query.site.goals
    if not goals:
        return "0"
    return "(" + " OR ".join(goal_condition(ctx, goal) for goal in goals) + ")"


# --- filters ----------------------------------------------------------------------------------


def _match_values(ctx: _Context, expr: str, operator: str, values: tuple[str, ...], sensitive: bool) -> str:
    if not values:
        return "0"
    if operator == "is":
        if sensitive:
            return f"{expr} IN ({', '.join(ctx.strings(values))})"
        return f"lower({expr}) IN ({', '.join(ctx.strings(values, lower=True))})"
    if operator == "contains":
        needles = ", ".join(ctx.strings(values))
        function = "multiSearchAny" if sensitive else "multiSearchAnyCaseInsensitiveUTF8"
        return f"{function}({expr}, [{needles}])"
    if operator in ("matches", "matches_wildcard"):
        patterns = [wildcard_to_regex(v) if operator == "matches_wildcard" else v for v in values]
        if not sensitive:
            patterns = ["(?i)" + p for p in patterns]
        return "(" + " OR ".join(f"match({expr}, {ctx.params.bind(p)})" for p in patterns) + ")"
    raise QueryError(f"Unknown operator '{operator}'.")


def _goal_leaf(ctx: _Context, operator: str, values: tuple[str, ...], sensitive: bool) -> str:
    goals = ctx.query.site.goals
    chosen: list[GoalSpec] = []
    for goal in goals:
        name = goal.display_name if sensitive else goal.display_name.lower()
        wanted = [v if sensitive else v.lower() for v in values]
        if (
            (operator == "is" and name in wanted)
            or (operator == "contains" and any(w in name for w in wanted))
            or (operator == "matches" and any(re.search(w, name) for w in wanted))
            or (operator == "matches_wildcard" and any(re.match(wildcard_to_regex(w), name) for w in wanted))
        ):
            chosen.append(goal)
    if not chosen:
        return "0"
    return "(" + " OR ".join(goal_condition(ctx, goal) for goal in chosen) + ")"


def _leaf_native(ctx: _Context, table: str, leaf: Leaf) -> str:
    operator = NEGATED.get(leaf.operator, leaf.operator)
    negate = operator != leaf.operator
    values = tuple(str(v) for v in leaf.values)
    if leaf.dimension == "event:goal":
        condition = _goal_leaf(ctx, operator, values, leaf.case_sensitive)
    else:
        if leaf.dimension == "event:page" and table == "sessions":
            raise AssertionError("event:page is not native to sessions")
        expr = dimension_expr(ctx, table, leaf.dimension)
        condition = _match_values(ctx, expr, operator, values, leaf.case_sensitive)
    return f"NOT ({condition})" if negate else condition


def _session_ids(ctx: _Context, table: str, condition: str) -> str:
    """The visits (session ids) in range with a row meeting `condition` on `table`."""
    if table == "events":
        return f"SELECT session_id FROM {{db}}.events WHERE {ctx.events_base()} AND {condition}"
    return (
        f"SELECT session_id FROM {{db}}.sessions WHERE site_id = {ctx.site} "
        f"AND timestamp >= {ctx.start} AND start < {ctx.end} AND {condition} "
        "GROUP BY session_id HAVING sum(sign) > 0"
    )


def compile_filter(ctx: _Context, table: str, node: Filter) -> str:
    if isinstance(node, Leaf):
        if native(table, node.dimension):
            return _leaf_native(ctx, table, node)
        other = "sessions" if table == "events" else "events"
        return f"session_id IN ({_session_ids(ctx, other, _leaf_native(ctx, other, node))})"
    if node.operator in ("and", "or"):
        if not node.children:
            return "1"
        joined = f" {node.operator.upper()} ".join(compile_filter(ctx, table, c) for c in node.children)
        return f"({joined})"
    if node.operator == "not":
        return f"NOT ({compile_filter(ctx, table, node.children[0])})"
    # has_done / has_not_done: the visit had (or never had) an event meeting the condition.
    inner = compile_filter(ctx, "events", node.children[0])
    membership = "IN" if node.operator == "has_done" else "NOT IN"
    return f"session_id {membership} ({_session_ids(ctx, 'events', inner)})"


def compile_filters(ctx: _Context, table: str, filters: tuple[Filter, ...]) -> str:
    if not filters:
        return "1"
    return " AND ".join(compile_filter(ctx, table, node) for node in filters)


# --- parts ------------------------------------------------------------------------------------


def _dims_select(ctx: _Context, table: str, dims: tuple[str, ...]) -> tuple[str, str, str]:
    """(select list, group by list, extra where) for the dimensions on a table."""
    if not dims:
        return "", "", ""
    selects, names, where = [], [], []
    for i, dim in enumerate(dims):
        expr = dimension_expr(ctx, table, dim)
        selects.append(f"{expr} AS d{i}")
        names.append(f"d{i}")
        if dim in HIDE_EMPTY:
            where.append(f"{dimension_expr(ctx, table, dim)} != ''")
        if dim == "event:goal":
            where.append(_any_goal(ctx))
    return ", ".join(selects) + ", ", ", ".join(names), "".join(f" AND {w}" for w in where)


def _group(names: str) -> str:
    return f" GROUP BY {names}" if names else ""


def _columns(metrics: tuple[str, ...] | list[str], source: str, **holes: str) -> str:
    return ", ".join(cat.source_formula(m, source, **holes) for m in metrics)


def events_part(
    ctx: _Context, dims: tuple[str, ...], metrics: tuple[str, ...], filters: tuple[Filter, ...]
) -> str:
    select, names, extra = _dims_select(ctx, "events", dims)
    where = f"{ctx.events_base()} AND {compile_filters(ctx, 'events', filters)}{extra}"
    return (
        f"SELECT {select}{_columns(metrics, cat.RAW_EVENTS)} FROM {{db}}.events WHERE {where}{_group(names)}"
    )


def sessions_part(
    ctx: _Context, dims: tuple[str, ...], metrics: tuple[str, ...], filters: tuple[Filter, ...]
) -> str:
    # With a page filter, bounce rate is about the visits that entered on that page.
    bounce_condition = "1"
    page_filter = top_level(filters, "event:page")
    if page_filter is not None:
        entry = Leaf(page_filter.operator, "visit:entry_page", page_filter.values, page_filter.case_sensitive)
        bounce_condition = _leaf_native(ctx, "sessions", entry)
    select, names, extra = _dims_select(ctx, "sessions", dims)
    columns = _columns(metrics, cat.RAW_SESSIONS, bounce_condition=bounce_condition)
    where = f"{ctx.sessions_base()} AND {compile_filters(ctx, 'sessions', filters)}{extra}"
    having = " HAVING sum(sign) > 0" if names else ""
    return f"SELECT {select}{columns} FROM {{db}}.sessions AS s WHERE {where}{_group(names)}{having}"


def _by_visitor(
    ctx: _Context, dims: tuple[str, ...], filters: tuple[Filter, ...], having: str
) -> tuple[str, str]:
    """Each visitor's live visits per group (`live`), and the outer group names."""
    select, names, extra = _dims_select(ctx, "sessions", dims)
    where = f"{ctx.sessions_base()} AND {compile_filters(ctx, 'sessions', filters)}{extra}"
    inner_group = f"{names}, user_id" if names else "user_id"
    inner = (
        f"SELECT {select}sum(sign) AS live FROM {{db}}.sessions WHERE {where} GROUP BY {inner_group}{having}"
    )
    return inner, ", ".join(f"d{i}" for i in range(len(dims)))


def session_visitors_part(ctx: _Context, dims: tuple[str, ...], filters: tuple[Filter, ...]) -> str:
    """Visitors counted on sessions: a visitor counts in a group while one of their visits is live there."""
    inner, outer_names = _by_visitor(ctx, dims, filters, " HAVING sum(sign) > 0")
    outer_select = outer_names + ", " if outer_names else ""
    columns = _columns(("visitors",), cat.VISITOR_SESSIONS)
    return f"SELECT {outer_select}{columns} FROM ({inner}){_group(outer_names)}"


def live_visitors_and_visits_part(ctx: _Context, dims: tuple[str, ...], filters: tuple[Filter, ...]) -> str:
    """`session_visitors_part` and `sessions_part` for visits, FULL OUTER JOINed, in one pass: each
    visitor's live visits per group, then visitors with one live and the sum of live visits."""
    inner, outer_names = _by_visitor(ctx, dims, filters, "")
    outer_select = outer_names + ", " if outer_names else ""
    having = " HAVING countIf(live > 0) > 0 OR sum(live) > 0" if outer_names else ""
    columns = _columns(("visitors", "visits"), cat.VISITOR_SESSIONS)
    return f"SELECT {outer_select}{columns} FROM ({inner}){_group(outer_names)}{having}"


def engagement_part(
    ctx: _Context, dims: tuple[str, ...], metrics: tuple[str, ...], filters: tuple[Filter, ...]
) -> str:
    """time_on_page = engaged seconds / page visits (session, page pairs); scroll_depth = mean of each
    visitor's deepest scroll, both from `engagement` events."""
    select, names, extra = _dims_select(ctx, "events", dims)
    where = f"{ctx.events_base(engagement=True)} AND {compile_filters(ctx, 'events', filters)}{extra}"
    parts = []
    # time_on_page, or its parts as the imported merge asks for them (catalogue.PART_METRICS).
    timed = tuple(m for m in metrics if m != "scroll_depth")
    if timed:
        columns = _columns(timed, cat.ENGAGEMENT)
        parts.append(f"SELECT {select}{columns} FROM {{db}}.events WHERE {where}{_group(names)}")
    if "scroll_depth" in metrics:
        outer_names = ", ".join(f"d{i}" for i in range(len(dims)))
        outer_select = outer_names + ", " if outer_names else ""
        inner_group = f"{names}, user_id" if names else "user_id"
        parts.append(
            f"SELECT {outer_select}{_columns(('scroll_depth',), cat.ENGAGEMENT)} FROM ("
            f"SELECT {select}user_id, max(scroll_depth) AS deepest FROM {{db}}.events "
            f"WHERE {where} AND scroll_depth <= 100 GROUP BY {inner_group}){_group(outer_names)}"
        )
    return _join(parts, len(dims), "FULL OUTER")


def _join(parts: list[str], dim_count: int, kind: str) -> str:
    if len(parts) == 1:
        return parts[0]
    using = ", ".join(f"d{i}" for i in range(dim_count))
    sql = f"SELECT * FROM ({parts[0]}) AS t0"
    for i, part in enumerate(parts[1:], start=1):
        if dim_count:
            sql += f" {kind} JOIN ({part}) AS t{i} USING ({using})"
        else:
            sql += f" CROSS JOIN ({part}) AS t{i}"
    return sql


def total_visitors(
    ctx: _Context,
    filters: tuple[Filter, ...],
    from_sessions: bool = False,
    mutable: bool = False,
    hourly: bool = False,
) -> str:
    """The visitors of the whole query (no dimensions): the denominator of percentage and conversion rate.
    `hourly`: the range is whole hours the rollups may answer (see `whole_hours`)."""
    if hourly and not filters and not from_sessions:
        return (
            f"(SELECT uniqMerge(visitors_state) FROM {{db}}.visitors_hourly "
            f"WHERE site_id = {ctx.site} AND hour >= {ctx.start} AND hour < {ctx.end})"
        )
    if from_sessions:
        where = f"{ctx.sessions_base()} AND {compile_filters(ctx, 'sessions', filters)}"
        if not mutable:
            return f"(SELECT uniq(user_id) FROM {{db}}.sessions WHERE {where})"
        return (
            f"(SELECT count() FROM (SELECT user_id FROM {{db}}.sessions WHERE {where} "
            "GROUP BY user_id HAVING sum(sign) > 0))"
        )
    where = f"{ctx.events_base()} AND {compile_filters(ctx, 'events', filters)}"
    return f"(SELECT uniq(user_id) FROM {{db}}.events WHERE {where})"


# --- hourly rollups -----------------------------------------------------------------------------


def _rollup_base(ctx: _Context, table: str, dims: tuple[str, ...]) -> str:
    base = f"site_id = {ctx.site} AND hour >= {ctx.start} AND hour < {ctx.end}"
    if table == cat.EVENTS_HOURLY:
        return f"{base} AND name != {ctx.engagement}"
    key = next(d for d in dims if d in cat.SESSIONS_HOURLY_DIMENSIONS)
    return f"{base} AND dimension = {ctx.params.bind(key)}"


def rollup_part(ctx: _Context, table: str, dims: tuple[str, ...], metrics: tuple[str, ...]) -> str:
    """The rollup twin of `sessions_part` / `events_part` for an unfiltered query."""
    select, names, extra = _dims_select(ctx, table, dims)
    having = " HAVING sum(visits_sum) > 0" if names and table == cat.SESSIONS_HOURLY else ""
    where = f"{_rollup_base(ctx, table, dims)}{extra}"
    return (
        f"SELECT {select}{_columns(metrics, table)} FROM {{db}}.{table} WHERE {where}{_group(names)}{having}"
    )


# --- the whole query ----------------------------------------------------------------------------


def emit(plan: Plan) -> Compiled:
    """The one SQL statement of a raw or rollup plan (`footfall.stats.planner`)."""
    query, dims = plan.query, plan.dims
    params = Params()
    ctx = _Context(query, params)
    # Dimensional parts meet on their dimensions; a group missing from one part gets that part's zeros.
    body = _join([_part_sql(ctx, plan, part) for part in plan.parts], len(dims), "FULL OUTER")
    finals, group_join = _finals(ctx, plan)
    return finish(params, query, dims, body, finals, group_join)


def _part_sql(ctx: _Context, plan: Plan, part: Part) -> str:
    dims, filters = plan.dims, plan.query.filters
    if part.kind in (cat.SESSIONS_HOURLY, cat.EVENTS_HOURLY):
        return rollup_part(ctx, part.kind, dims, part.metrics)
    if part.kind == "live_visitors_and_visits":
        return live_visitors_and_visits_part(ctx, dims, filters)
    if part.kind == "session_visitors":
        return session_visitors_part(ctx, dims, filters)
    if part.kind == "sessions":
        return sessions_part(ctx, dims, part.metrics, filters)
    if part.kind == "events":
        return events_part(ctx, dims, part.metrics, filters)
    return f"SELECT * FROM ({engagement_part(ctx, dims, part.metrics, filters)})"


def _finals(ctx: _Context, plan: Plan) -> tuple[list[str], str]:
    """The outer SELECT's metrics (shares of a total get their denominators), and the join of
    group totals that group_conversion_rate needs when split by more than the goal."""
    query, filters = plan.query, plan.query.filters
    totals = without_top_level(filters, ("event:goal", "event:props:"))
    finals: list[str] = []
    group_join = ""
    for metric in query.metrics:
        if metric == "percentage":
            total = total_visitors(ctx, filters, plan.from_sessions, plan.mutable, plan.hourly)
        elif metric == "conversion_rate":
            total = total_visitors(ctx, totals, hourly=plan.hourly)
        elif metric == "group_conversion_rate":
            group_join = _group_totals(ctx, plan.dims, totals)
            total = "__group_total" if group_join else total_visitors(ctx, totals, hourly=plan.hourly)
        else:
            finals.append(metric)
            continue
        finals.append(cat.formula(metric, {"visitors": "visitors", cat.TOTAL: total}))
    return finals, group_join


def _group_totals(ctx: _Context, dims: tuple[str, ...], totals: tuple[Filter, ...]) -> str:
    """Visitors per group of the dimensions other than the goal, joined on them ("" if none)."""
    keep = [i for i, d in enumerate(dims) if d != "event:goal"]
    if not keep:
        return ""
    g_select = ", ".join(f"{dimension_expr(ctx, 'events', dims[i])} AS d{i}" for i in keep)
    g_names = ", ".join(f"d{i}" for i in keep)
    extra = "".join(
        f" AND {dimension_expr(ctx, 'events', dims[i])} != ''" for i in keep if dims[i] in HIDE_EMPTY
    )
    return (
        f" LEFT JOIN (SELECT {g_select}, uniq(user_id) AS __group_total FROM {{db}}.events "
        f"WHERE {ctx.events_base()} AND {compile_filters(ctx, 'events', totals)}{extra} "
        f"GROUP BY {g_names}) AS grp USING ({g_names})"
    )


# A filter on the other table is a set of session ids (`session_id IN (SELECT ...)`), often
# hundreds of thousands of them (the visits that saw a page). Neither table's primary key can
# use it (session_id follows user_id in the sessions' key; the events' has none), yet ClickHouse
# checks every set against the key by default: a third of a page filter's visits part at 10
# million events (240 against 170 ms) for no granule skipped.
READ_SETTINGS = " SETTINGS use_index_for_in_with_subqueries = 0"


def finish(
    params: Params,
    query: Query,
    dims: tuple[str, ...],
    body: str,
    finals: list[str],
    group_join: str = "",
    visitors_column: str = "visitors",
) -> Compiled:
    """The outer SELECT every plan ends with: dimensions, metrics, order, page. `visitors_column`
    names the body's visitors, which a query led by `percentage` is ordered by."""
    dim_names = [f"d{i}" for i in range(len(dims))]
    select = ", ".join(dim_names + finals)
    if query.total_rows:
        select += ", count() OVER () AS __total_rows"
    order = _order_by(query, dims, visitors_column)
    sql = (
        f"SELECT {select} FROM ({body}) AS body{group_join}"
        f" ORDER BY {order} LIMIT {params.bind(query.limit, 'UInt64')}"
        f" OFFSET {params.bind(query.offset, 'UInt64')}{READ_SETTINGS}"
    )
    check_size(sql)
    return Compiled(sql=sql, params=params.values, dimensions=dims, metrics=query.metrics)


def check_size(sql: str) -> None:
    """A 400 for a statement the event store would refuse as too long (see MAX_SQL_BYTES)."""
    size = len(sql.encode())
    if size > MAX_SQL_BYTES:
        raise QueryError(
            f"Invalid filters: this query is too large to run ({size} bytes of SQL, at most "
            f"{MAX_SQL_BYTES}); use fewer filter values or conditions, or one `contains` or "
            "`matches` value in place of many."
        )


def _order_by(query: Query, dims: tuple[str, ...], visitors_column: str = "visitors") -> str:
    aliases = {d: f"d{i}" for i, d in enumerate(query.dimensions)}
    entries: list[str] = []
    if query.order_by:
        for name, direction in query.order_by:
            column = aliases.get(name, name)
            entries.append(f"{column} {'ASC' if direction == 'asc' else 'DESC'}")
    else:
        time_columns = [f"d{i}" for i, d in enumerate(dims) if is_time(d)]
        if time_columns:
            entries.extend(f"{c} ASC" for c in time_columns)
        first = query.metrics[0]
        entries.append(f"{first} DESC" if first != "percentage" else f"{visitors_column} DESC")
    for i in range(len(dims)):
        if f"d{i} ASC" not in entries and f"d{i} DESC" not in entries:
            entries.append(f"d{i} ASC")
    if not dims and not query.order_by:
        return "1"
    return ", ".join(entries)
