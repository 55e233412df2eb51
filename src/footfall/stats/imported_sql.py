"""Imported statistics in a query (Stats API v2 `include.imports`, v1 `with_imported=true`).

Plausible's rule, kept here: imported rows are merged only where one imported table can answer
the whole query (every dimension and filter maps to it, `IMPORTED_DIMENSIONS` in the catalogue),
and only for metrics that table has parts for (and the goals breakdown, from imported custom
events and pages); otherwise the answer is the native one and
`meta.imports_skip_reason` says why (`no_imported_data`, `out_of_range`, `unsupported_query`,
`unsupported_interval`).

Merging is the catalogue's idea of a source: the native plan is asked for the *parts* of each
metric (ratios' parts as `catalogue.PART_METRICS`), the imported table gives the same parts
(`IMPORTED_ROW`, `IMPORTED_PARTS`), the two are put in one UNION ALL, summed per group, and each
metric's formula is applied once to the sums. Imported days never overlap native ones (an import
stops the day before the site's own data begins, `footfall.moving.imports`), so nothing is
counted twice; visitors of a range are the native visitors plus the imported days' visitors, as
in Plausible.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from footfall.stats import catalogue as cat
from footfall.stats.query import NEGATED, Filter, Leaf, Logic, Query, is_time, walk, wildcard_to_regex
from footfall.stats.sql import Compiled, Params, _Context, _match_values, finish

NO_IMPORTED_DATA = "no_imported_data"
OUT_OF_RANGE = "out_of_range"
UNSUPPORTED_QUERY = "unsupported_query"
UNSUPPORTED_INTERVAL = "unsupported_interval"
WARNING = (
    "Imported stats are not included in the results because this query's dimensions, filters or "
    "metrics cannot be answered from imported data (one imported table must hold every dimension "
    "and filter, and the metric)."
)

DATE_DIMENSIONS = frozenset({"time:day", "time:week", "time:month"})
ADDITIVE = ("visitors", "visits", "pageviews", "events")
# Metrics an imported table may answer, when it has their parts (`_answers`).
IMPORTABLE = frozenset(
    {"visitors", "visits", "pageviews", "events", "bounce_rate", "visit_duration", "views_per_visit",
     "percentage", "time_on_page"}
)  # fmt: skip
_UNLIMITED = 10**15
GOALS = "goals"  # not a table: imported_custom_events and imported_pages matched to the site's goals
GOAL_METRICS = frozenset({"visitors", "events", "conversion_rate"})


@dataclass(frozen=True)
class Decision:
    """Whether a query's answer includes imported rows: the table, the imports, or why not."""

    included: bool
    reason: str | None = None
    table: str | None = None
    import_ids: tuple[int, ...] = ()

    def meta(self) -> dict[str, object]:
        if self.included:
            return {"imports_included": True}
        meta: dict[str, object] = {"imports_included": False, "imports_skip_reason": self.reason}
        if self.reason in (UNSUPPORTED_QUERY, UNSUPPORTED_INTERVAL):
            meta["imports_warning"] = WARNING
        return meta


def table_for(query: Query) -> str | None:
    """The one imported table holding every dimension and filter of the query, or None."""
    if any(node_is_behavioural(node) for node in query.filters):
        return None
    names = [d for d in query.resolved_dimensions() if d not in DATE_DIMENSIONS]
    names += [leaf.dimension for leaf, _ in walk(query.filters)]
    tables = set()
    for name in names:
        found = cat.IMPORTED_DIMENSIONS.get(name)
        if found is None:
            return None
        tables.add(found[0])
    if len(tables) > 1:
        return None
    return tables.pop() if tables else "imported_visitors"


def node_is_behavioural(node: Filter) -> bool:
    if isinstance(node, Leaf):
        return False
    return node.operator in ("has_done", "has_not_done") or any(node_is_behavioural(c) for c in node.children)


def _answers(table: str, metric: str) -> bool:
    if metric not in IMPORTABLE:
        return False
    if metric == "time_on_page":
        return table == "imported_pages"
    if metric == "views_per_visit":
        return table == "imported_visitors"
    return True


def decide(query: Query) -> Decision:
    imports = query.site.imports
    if not imports:
        return Decision(False, NO_IMPORTED_DATA)
    rng = query.date_range
    overlapping = tuple(i.id for i in imports if i.first <= rng.last and rng.first <= i.last)
    if not overlapping:
        return Decision(False, OUT_OF_RANGE)
    if rng.period in ("realtime", "30m") or any(
        is_time(d) and d not in DATE_DIMENSIONS for d in query.resolved_dimensions()
    ):
        return Decision(False, UNSUPPORTED_INTERVAL)
    if query.resolved_dimensions() == ("event:goal",) and not query.filters:
        # The goals panel: event goals from imported custom events, page goals from imported pages.
        if set(query.metrics) <= GOAL_METRICS and query.site.goals:
            return Decision(True, table=GOALS, import_ids=overlapping)
        return Decision(False, UNSUPPORTED_QUERY)
    table = table_for(query)
    if table is None or not all(_answers(table, m) for m in query.metrics):
        return Decision(False, UNSUPPORTED_QUERY)
    return Decision(True, table=table, import_ids=overlapping)


# --- the merged statement ---------------------------------------------------------------------


class _Prefixed(Params):
    """Bound parameters named `<prefix>N`, so that statements compiled apart can be joined."""

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def bind(self, value: object, ch_type: str = "String") -> str:
        name = f"{self.prefix}{len(self.values)}"
        self.values[name] = value
        return "{" + name + ":" + ch_type + "}"


def _renamed(compiled: Compiled, prefix: str) -> tuple[str, dict[str, object]]:
    """The statement with its `{pN:Type}` parameters renamed `{<prefix>N:Type}`."""
    sql = re.sub(r"\{p(\d+):", lambda m: "{" + prefix + m.group(1) + ":", compiled.sql)
    return sql, {prefix + key[1:]: value for key, value in compiled.params.items()}


@dataclass(frozen=True)
class _Columns:
    """What each side of the union gives: parts merged (summed), metrics passed through from the
    native side (a ratio whose parts the imported table lacks: imported rows add nothing to it)."""

    parts: tuple[str, ...]
    passed: tuple[str, ...]
    native_metrics: tuple[str, ...]


def _columns(query: Query, table: str) -> _Columns:
    has = cat.IMPORTED_ROW["imported_custom_events" if table == GOALS else table]
    parts: list[str] = []
    passed: list[str] = []
    wanted = list(query.metrics)
    if "percentage" in wanted and "visitors" not in wanted:
        wanted.append("visitors")
    for metric in wanted:
        if metric in cat.SHARE_METRICS:
            continue
        needed = cat.METRICS[metric].parts
        if metric not in ADDITIVE and not all(p in has for p in needed):
            passed.append(metric)
            continue
        parts.extend(p for p in needed if p not in parts)
    native = [p if p in ADDITIVE else f"part_{p}" for p in parts]
    return _Columns(tuple(parts), tuple(passed), tuple(dict.fromkeys([*native, *passed])))


def compile_merged(query: Query, decision: Decision, native: Callable[[Query], Compiled]) -> Compiled:
    """One statement for `query` with the imported rows of `decision` merged in; `native`
    compiles a native query (the engine's planner and emitters)."""
    assert decision.included and decision.table is not None
    table = decision.table
    dims = query.resolved_dimensions()
    columns = _columns(query, table)
    native_query = replace(
        query,
        metrics=columns.native_metrics,
        order_by=None,
        limit=_UNLIMITED,
        offset=0,
        time_labels=False,
        total_rows=False,
        comparison=None,
        include_imports=False,
    )
    native_sql, params = _renamed(native(native_query), "n")
    merged = _Prefixed("i")
    ctx = _Context(query, merged)
    dim_names = [f"d{i}" for i in range(len(dims))]
    native_side = ", ".join(
        [*dim_names]
        + [f"toInt64({p if p in ADDITIVE else 'part_' + p}) AS pt_{p}" for p in columns.parts]
        + [f"toFloat64({m}) AS pass_{m}" for m in columns.passed]
    )
    imported_side = (
        _goals_side(ctx, query, columns, decision.import_ids)
        if table == GOALS
        else _imported_side(ctx, query, table, dims, columns, decision.import_ids)
    )
    union = f"SELECT {native_side} FROM ({native_sql}) UNION ALL {imported_side}"
    sums = ", ".join(
        [*dim_names]
        + [f"sum(pt_{p}) AS pt_{p}" for p in columns.parts]
        + [f"max(pass_{m}) AS pass_{m}" for m in columns.passed]
    )
    body = f"SELECT {sums} FROM ({union})"
    if dims:
        body += f" GROUP BY {', '.join(dim_names)}"
    finals = []
    for metric in query.metrics:
        if metric in columns.passed:
            finals.append(f"pass_{metric} AS {metric}")
        elif metric in ("percentage", "conversion_rate"):
            total, total_params = _total_visitors(query, decision, native)
            params.update(total_params)
            finals.append(cat.formula(metric, {"visitors": "pt_visitors", cat.TOTAL: total}))
        else:
            finals.append(cat.formula(metric, {p: f"pt_{p}" for p in cat.METRICS[metric].parts}))
    params.update(merged.values)
    compiled = finish(merged, query, dims, body, finals)
    compiled.params = params | merged.values
    return compiled


def _imported_side(
    ctx: _Context,
    query: Query,
    table: str,
    dims: tuple[str, ...],
    columns: _Columns,
    import_ids: tuple[int, ...],
    days_of: str | None = None,
) -> str:
    """The imported table's rows in the range, as `IMPORTED_ROW`, summed per group; with
    `days_of`, only the days (of each import) that table holds rows for."""
    row = cat.IMPORTED_ROW[table]
    params = ctx.params
    ids = ", ".join(params.bind(i, "UInt64") for i in import_ids)
    first = params.bind(query.date_range.first.isoformat(), "Date")
    last = params.bind(query.date_range.last.isoformat(), "Date")
    inner = ", ".join(
        [f"{_dimension(ctx, table, d, first)} AS d{i}" for i, d in enumerate(dims)]
        + [f"{row.get(p, '0')} AS {p}" for p in cat.IMPORTED_ROW_PARTS]
    )
    where = f"site_id = {ctx.site} AND import_id IN ({ids}) AND date >= {first} AND date <= {last}"
    where += "".join(f" AND {_dimension(ctx, table, d, first)} != ''" for d in dims if d in cat.HIDE_EMPTY)
    for node in query.filters:
        where += f" AND {_filter(ctx, table, node, first)}"
    if days_of is not None:
        days = f"site_id = {ctx.site} AND import_id IN ({ids}) AND date >= {first} AND date <= {last}"
        where += f" AND (import_id, date) IN (SELECT import_id, date FROM {{db}}.{days_of} WHERE {days})"
    outer = ", ".join(
        [f"d{i}" for i in range(len(dims))]
        + [f"toInt64({cat.IMPORTED_PARTS[p]}) AS pt_{p}" for p in columns.parts]
        + [f"toFloat64(0) AS pass_{m}" for m in columns.passed]
    )
    group = f" GROUP BY {', '.join(f'd{i}' for i in range(len(dims)))}" if dims else ""
    return f"SELECT {outer} FROM (SELECT {inner} FROM {{db}}.{table} WHERE {where}){group}"


def _goals_side(ctx: _Context, query: Query, columns: _Columns, import_ids: tuple[int, ...]) -> str:
    """Imported conversions of the site's goals, as Plausible counts them: an event goal's from
    the custom events of its name, a page goal's from the pages its path matches (visitors, and
    pageviews as events)."""
    params = ctx.params
    ids = ", ".join(params.bind(i, "UInt64") for i in import_ids)
    first = params.bind(query.date_range.first.isoformat(), "Date")
    last = params.bind(query.date_range.last.isoformat(), "Date")
    where = f"site_id = {ctx.site} AND import_id IN ({ids}) AND date >= {first} AND date <= {last}"
    goals = query.site.goals
    arms = []
    events = [g for g in goals if g.event_name is not None]
    if events:
        names = ", ".join(params.bind(g.event_name) for g in events)
        shown = ", ".join(params.bind(g.display_name) for g in events)
        arms.append(
            f"SELECT transform(name, [{names}], [{shown}], '') AS d0, visitors, events "
            f"FROM {{db}}.imported_custom_events WHERE {where}"
        )
    pages = [g for g in goals if g.page_path is not None]
    if pages:
        branches = ", ".join(
            f"if(match(page, {params.bind(wildcard_to_regex(g.page_path or ''))}), "
            f"{params.bind(g.display_name)}, '')"
            for g in pages
        )
        arms.append(
            f"SELECT arrayJoin(arrayFilter(x -> x != '', [{branches}])) AS d0, visitors, pageviews AS events "
            f"FROM {{db}}.imported_pages WHERE {where}"
        )
    outer = ", ".join(
        ["d0"]
        + [f"toInt64(sum({p})) AS pt_{p}" for p in columns.parts]
        + [f"toFloat64(0) AS pass_{m}" for m in columns.passed]
    )
    return f"SELECT {outer} FROM ({' UNION ALL '.join(arms)}) WHERE d0 != '' GROUP BY d0"


def _dimension(ctx: _Context, table: str, dimension: str, first: str) -> str:
    if dimension == "time:day":
        return "date"
    if dimension == "time:week":
        return f"greatest(toMonday(date), {first})"
    if dimension == "time:month":
        return "toStartOfMonth(date)"
    held_in, column = cat.IMPORTED_DIMENSIONS[dimension]
    assert held_in == table, (dimension, table)
    found = cat.DIMENSIONS.get(dimension)
    if found is not None and found.named:
        return ctx.name_of(f"toString({column})", found.named)
    return cat.labelled(f"toString({column})", cat.empty_label(dimension))


def _filter(ctx: _Context, table: str, node: Filter, first: str) -> str:
    if isinstance(node, Leaf):
        operator = NEGATED.get(node.operator, node.operator)
        expr = _dimension(ctx, table, node.dimension, first)
        condition = _match_values(
            ctx, expr, operator, tuple(str(v) for v in node.values), node.case_sensitive
        )
        return f"NOT ({condition})" if operator != node.operator else condition
    assert isinstance(node, Logic)
    if node.operator == "not":
        return f"NOT ({_filter(ctx, table, node.children[0], first)})"
    joined = f" {node.operator.upper()} ".join(_filter(ctx, table, c, first) for c in node.children)
    return f"({joined})" if node.children else "1"


# Imported tables that hold every visitor of each day they cover (each visit has a source, a
# location, a device, a browser, an OS, an entry and exit page, a pageview): a day missing from
# one of them was not imported into it. A day without imported custom events is a day when
# nobody did one.
HOLDS_EVERY_VISITOR = frozenset(
    {"imported_visitors", "imported_sources", "imported_locations", "imported_devices", "imported_browsers",
     "imported_operating_systems", "imported_entry_pages", "imported_exit_pages", "imported_pages"}
)  # fmt: skip


def _total_visitors(
    query: Query, decision: Decision, native: Callable[[Query], Compiled]
) -> tuple[str, dict]:
    """The query's visitors without its dimensions, native plus imported: the share's denominator.

    Plausible's total counts every imported day's visitors (from `imported_visitors` when the
    query has no filters), which presumes an import fills every table. An import may hold some
    tables only, so the imported part counts just the days the rows' own table holds: the same
    number as Plausible's for a complete import, and for a partial one rows that share the
    total they were counted from (browsers of an import of `imported_visitors` alone: the
    native visitors' shares, not 2 of 103 = 1.9%)."""
    whole = replace(
        query, dimensions=(), metrics=("visitors",), order_by=None, limit=1, offset=0,
        time_labels=False, total_rows=False, comparison=None, include_imports=False,
    )  # fmt: skip
    native_sql, params = _renamed(native(whole), "t")
    table = table_for(whole) or "imported_visitors"
    imported = _Prefixed("u")
    ctx = _Context(whole, imported)
    columns = _Columns(("visitors",), (), ("visitors",))
    days_of = decision.table if decision.table in HOLDS_EVERY_VISITOR and decision.table != table else None
    side = _imported_side(ctx, whole, table, (), columns, decision.import_ids, days_of)
    params.update(imported.values)
    return f"((SELECT visitors FROM ({native_sql})) + (SELECT pt_visitors FROM ({side})))", params
