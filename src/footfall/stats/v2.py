"""Stats API v2: `POST /api/v2/query` JSON in, `{"results", "meta", "query"}` out.

The body names `site_id`, `date_range`, `metrics`, and optionally `date`, `dimensions`,
`filters` (leaves `[operator, dimension, clauses, {"case_sensitive": false}]`, nested with
`and` / `or` / `not`, `has_done` / `has_not_done`, and saved segments `["is", "segment", [id]]`),
`order_by`, `include`
(`time_labels`, `total_rows`, `comparisons`, `imports`) and `pagination` (`limit`, `offset`).
`include.imports: true` merges the site's imported statistics where the query allows
(`footfall.stats.imported_sql`); with it (or `imports_meta`) `meta.imports_included` says
whether they are in, and `meta.imports_skip_reason` why not.
How deep and how big filters may be is set in `stats.query` (MAX_FILTER_DEPTH and the rest).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from footfall.stats.engine import Result, Row
from footfall.stats.query import (
    DEFAULT_LIMIT,
    LEAF_OPERATORS,
    MAX_FILTER_DEPTH,
    METRICS,
    PERIODS,
    Comparison,
    DateRange,
    Filter,
    Leaf,
    Logic,
    Query,
    QueryError,
    SiteSpec,
    comparison_range,
    date_range,
    is_dimension,
    is_filter_dimension,
    period_range,
    today_in,
    validate,
    walk,
)

ALLOWED_KEYS = {
    "site_id",
    "date_range",
    "date",
    "metrics",
    "dimensions",
    "filters",
    "order_by",
    "include",
    "pagination",
}
INCLUDE_KEYS = {"time_labels", "total_rows", "comparisons", "imports", "imports_meta"}


# How much of a request value an error message quotes: a value may be as long, and as deeply
# nested, as the request body allows (json.dumps of a value 1,000 levels deep overflows the stack).
SHOWN_DEPTH = 6
SHOWN_ITEMS = 10
SHOWN_CHARACTERS = 300


def _show(value: Any) -> str:
    text = json.dumps(_shortened(value, SHOWN_DEPTH), ensure_ascii=False)
    return text if len(text) <= SHOWN_CHARACTERS else text[:SHOWN_CHARACTERS] + "…"


def _shortened(value: Any, depth: int) -> Any:
    """`value` with lists and objects cut to their first items and levels (`"…"` for the rest)."""
    if isinstance(value, list):
        if depth == 0:
            return ["…"] if value else []
        items = [_shortened(item, depth - 1) for item in value[:SHOWN_ITEMS]]
        return [*items, "…"] if len(value) > SHOWN_ITEMS else items
    if isinstance(value, dict):
        if depth == 0:
            return {"…": "…"} if value else {}
        keys = list(value)[:SHOWN_ITEMS]
        shown = {key: _shortened(value[key], depth - 1) for key in keys}
        return shown | {"…": "…"} if len(value) > SHOWN_ITEMS else shown
    return value


def parse_filter(node: Any, depth: int = 0) -> Filter:
    """One filter; `depth` is the number of `and` / `or` / `not` / `has_done` / `has_not_done`
    around it, refused past MAX_FILTER_DEPTH before going deeper (a body may nest a thousand)."""
    if not isinstance(node, list) or len(node) < 2 or not isinstance(node[0], str):
        raise QueryError(f"Invalid filter {_show(node)}.")
    operator = node[0]
    if operator in ("and", "or", "not", "has_done", "has_not_done") and depth >= MAX_FILTER_DEPTH:
        raise QueryError(
            f"Invalid filters: filters may be nested at most {MAX_FILTER_DEPTH} levels deep "
            "(each `and`, `or`, `not`, `has_done` and `has_not_done` is a level)."
        )
    if operator in ("and", "or"):
        if len(node) != 2 or not isinstance(node[1], list) or not node[1]:
            raise QueryError(f"Invalid filter {_show(node)}: `{operator}` takes a non-empty list of filters.")
        children = tuple(parse_filter(child, depth + 1) for child in node[1])
        return Logic(operator, children)  # type: ignore[arg-type]
    if operator in ("not", "has_done", "has_not_done"):
        if len(node) != 2:
            raise QueryError(f"Invalid filter {_show(node)}: `{operator}` takes one filter.")
        return Logic(operator, (parse_filter(node[1], depth + 1),))  # type: ignore[arg-type]
    if operator not in LEAF_OPERATORS:
        raise QueryError(f"Unknown operator for filter {_show(node)}.")
    if len(node) not in (3, 4):
        raise QueryError(f"Invalid filter {_show(node)}.")
    dimension, clauses = node[1], node[2]
    if dimension == SEGMENT:
        return _segment_leaf(node)
    if not isinstance(dimension, str) or not is_filter_dimension(dimension):
        raise QueryError(f"Invalid filter {_show(node)}: unknown dimension {_show(dimension)}.")
    if not isinstance(clauses, list) or not all(
        isinstance(c, str) or (isinstance(c, int) and not isinstance(c, bool)) for c in clauses
    ):
        raise QueryError(f"Invalid filter {_show(node)}: clauses must be a list of strings.")
    if (
        dimension == "visit:country"
        and operator in ("is", "is_not")
        and not all(isinstance(c, str) and len(c) == 2 for c in clauses)
    ):
        raise QueryError(
            "Invalid visit:country filter, visit:country needs to be a valid 2-letter country code."
        )
    case_sensitive = True
    if len(node) == 4:
        modifiers = node[3]
        if not isinstance(modifiers, dict) or set(modifiers) - {"case_sensitive"}:
            raise QueryError(f"Invalid filter {_show(node)}: modifiers may only hold `case_sensitive`.")
        value = modifiers.get("case_sensitive", True)
        if not isinstance(value, bool):
            raise QueryError(f"Invalid filter {_show(node)}: `case_sensitive` must be true or false.")
        case_sensitive = value
    return Leaf(operator, dimension, tuple(str(c) for c in clauses), case_sensitive)


def parse_filter_list(document: Any) -> tuple[Filter, ...]:
    if not isinstance(document, list):
        raise QueryError("Invalid filters passed.")
    return tuple(parse_filter(node) for node in document)


# --- saved segments -------------------------------------------------------------------------------

SEGMENT = "segment"
MAX_SEGMENT_IDS = 10
# Segment id -> the `filters` list saved with it, for the ids this site (and user) may use.
SegmentLookup = Callable[[tuple[int, ...]], Mapping[int, Any]]


def _segment_leaf(node: list[Any]) -> Leaf:
    operator, clauses = node[0], node[2]
    if operator != "is" or len(node) != 3:
        raise QueryError(f'Invalid filter {_show(node)}: segments are filtered as ["is", "segment", [ids]].')
    if (
        not isinstance(clauses, list)
        or not clauses
        or not all(isinstance(c, int) and not isinstance(c, bool) and 0 < c < 2**63 for c in clauses)
    ):
        raise QueryError(f"Invalid filter {_show(node)}: segment ids must be a non-empty list of integers.")
    return Leaf("is", SEGMENT, tuple(str(c) for c in clauses))


def segment_ids(filters: tuple[Filter, ...]) -> tuple[int, ...]:
    ids = [int(v) for leaf, _ in walk(filters) if leaf.dimension == SEGMENT for v in leaf.values]
    if len(ids) > MAX_SEGMENT_IDS:
        raise QueryError(f"Invalid filters: at most {MAX_SEGMENT_IDS} segment ids may be used in one query.")
    return tuple(dict.fromkeys(ids))


def segment_filters(segment_id: int, saved: Any) -> tuple[Filter, ...]:
    """The filters saved with a segment, parsed; a segment inside a segment is refused."""
    if not isinstance(saved, list) or not saved:
        raise QueryError(f"Invalid segment {segment_id}: its filters must be a non-empty list.")
    try:
        filters = parse_filter_list(saved)
    except QueryError as error:
        raise QueryError(f"Invalid segment {segment_id}: {error.message}") from None
    if segment_ids(filters):
        raise QueryError(f"Invalid segment {segment_id}: a segment cannot contain segment filters.")
    return filters


def expand_segments(filters: tuple[Filter, ...], lookup: SegmentLookup | None) -> tuple[Filter, ...]:
    """Each segment filter becomes the filters saved with it: one segment their `and`, several the
    `or` of those; an `and` at the top level is spread into the list, as Plausible resolves them."""
    ids = segment_ids(filters)
    if not ids:
        return filters
    found = lookup(ids) if lookup is not None else {}
    missing = [i for i in ids if i not in found]
    if missing:
        names = ", ".join(str(i) for i in missing)
        raise QueryError(
            f"Invalid filters: segment {names} does not exist on this site "
            "or is not visible to this key's user."
        )
    parsed = {i: segment_filters(i, found[i]) for i in ids}

    def replace_node(node: Filter) -> Filter:
        if isinstance(node, Leaf):
            if node.dimension != SEGMENT:
                return node
            groups = [_all_of(parsed[int(v)]) for v in node.values]
            return groups[0] if len(groups) == 1 else Logic("or", tuple(groups))
        return Logic(node.operator, tuple(replace_node(child) for child in node.children))

    expanded: list[Filter] = []
    for node in filters:
        node = replace_node(node)
        if isinstance(node, Logic) and node.operator == "and":
            expanded.extend(node.children)
        else:
            expanded.append(node)
    return tuple(expanded)


def _all_of(filters: tuple[Filter, ...]) -> Filter:
    return filters[0] if len(filters) == 1 else Logic("and", filters)


def filter_json(node: Filter) -> list[Any]:
    """A parsed filter in the v2 wire format (the query echo shows segments expanded)."""
    if isinstance(node, Leaf):
        out: list[Any] = [node.operator, node.dimension, list(node.values)]
        if not node.case_sensitive:
            out.append({"case_sensitive": False})
        return out
    if node.operator in ("and", "or"):
        return [node.operator, [filter_json(child) for child in node.children]]
    return [node.operator, filter_json(node.children[0])]


def _parse_date_range(site: SiteSpec, value: Any, reference: date, now: datetime) -> DateRange:
    if isinstance(value, str):
        if value not in PERIODS:
            raise QueryError(f"Invalid date_range {_show(value)}.")
        return period_range(site, value, reference, now)
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value):
        try:
            first, last = (date.fromisoformat(v) for v in value)
            return date_range(first, last, site.timezone)
        except ValueError:
            pass
        try:
            start, end = (datetime.fromisoformat(v) for v in value)
        except ValueError:
            raise QueryError(f"Invalid date_range {_show(value)}.") from None
        zone = ZoneInfo(site.timezone)
        start = start if start.tzinfo else start.replace(tzinfo=zone)
        end = end if end.tzinfo else end.replace(tzinfo=zone)
        if end < start:
            raise QueryError(f"Invalid date_range {_show(value)}: the start is after the end.")
        base = date_range(start.astimezone(zone).date(), end.astimezone(zone).date(), site.timezone)
        return DateRange(
            base.first,
            base.last,
            start.astimezone(UTC).replace(tzinfo=None),
            end.astimezone(UTC).replace(tzinfo=None) + timedelta(seconds=1),
            site.timezone,
        )
    raise QueryError(f"Invalid date_range {_show(value)}.")


COMPARISON_KEYS = {"mode", "date_range", "match_day_of_week"}


def _parse_comparison(
    site: SiteSpec, rng: DateRange, comparisons: Any, reference: date, now: datetime
) -> Comparison:
    if not isinstance(comparisons, dict) or comparisons.get("mode") not in (
        "previous_period",
        "year_over_year",
        "custom",
    ):
        raise QueryError(
            f"Invalid include.comparisons {_show(comparisons)}: mode must be previous_period, "
            "year_over_year or custom."
        )
    unknown = set(comparisons) - COMPARISON_KEYS
    if unknown:
        raise QueryError(f"Invalid include.comparisons: unknown key {_show(sorted(unknown)[0])}.")
    match_day_of_week = comparisons.get("match_day_of_week", False)
    if not isinstance(match_day_of_week, bool):
        raise QueryError(
            f"Invalid include.comparisons.match_day_of_week {_show(match_day_of_week)}: "
            "expected true or false."
        )
    mode = comparisons["mode"]
    custom = None
    if mode == "custom":
        value = comparisons.get("date_range")
        if not (isinstance(value, list) and len(value) == 2):
            raise QueryError("Invalid include.comparisons: custom mode requires a date_range of two dates.")
        custom = _parse_date_range(site, value, reference, now)
    elif "date_range" in comparisons:
        raise QueryError(f"Invalid include.comparisons: date_range is only for the custom mode, not {mode}.")
    return Comparison(mode, comparison_range(rng, mode, custom, match_day_of_week), match_day_of_week)


def _parse_order_by(order_by: Any) -> tuple[tuple[str, str], ...] | None:
    parsed_order: tuple[tuple[str, str], ...] | None = None
    if order_by is not None:
        if not isinstance(order_by, list):
            raise QueryError(f"Invalid order_by {_show(order_by)}.")
        entries = []
        for entry in order_by:
            if (
                not isinstance(entry, list)
                or len(entry) != 2
                or not isinstance(entry[0], str)
                or entry[1] not in ("asc", "desc")
                or not (entry[0] in METRICS or is_dimension(entry[0]))
            ):
                raise QueryError(f"Invalid order_by entry {_show(entry)}.")
            entries.append((entry[0], entry[1]))
        parsed_order = tuple(entries)
    return parsed_order


def _parse_pagination(pagination: Any) -> tuple[int, int]:
    if not isinstance(pagination, dict) or set(pagination) - {"limit", "offset"}:
        raise QueryError(f"Invalid pagination {_show(pagination)}.")
    limit = pagination.get("limit", DEFAULT_LIMIT)
    offset = pagination.get("offset", 0)
    if (
        not isinstance(limit, int)
        or isinstance(limit, bool)
        or not isinstance(offset, int)
        or isinstance(offset, bool)
    ):
        raise QueryError(f"Invalid pagination {_show(pagination)}: limit and offset must be integers.")
    return limit, offset


def parse(site: SiteSpec, body: Any, now: datetime, segments: SegmentLookup | None = None) -> Query:
    if not isinstance(body, dict):
        raise QueryError("Invalid request body: expected a JSON object.")
    unknown = set(body) - ALLOWED_KEYS
    if unknown:
        raise QueryError(f"#/{sorted(unknown)[0]}: Unknown property is not allowed.")
    for key in ("site_id", "metrics", "date_range"):
        if key not in body:
            raise QueryError(f"#: Required property {key} was not present.")
    reference = today_in(site.timezone, now)
    if body.get("date") is not None:
        try:
            if not isinstance(body["date"], str):
                raise ValueError
            reference = date.fromisoformat(body["date"])
        except ValueError:
            raise QueryError(f"Invalid date {_show(body['date'])}.") from None
    rng = _parse_date_range(site, body["date_range"], reference, now)

    metrics = body["metrics"]
    if not isinstance(metrics, list) or not metrics:
        raise QueryError("#/metrics: Expected a non-empty list of metrics.")
    for metric in metrics:
        if not isinstance(metric, str) or metric not in METRICS:
            raise QueryError(f"Unknown metric {_show(metric)}.")

    dimensions = body.get("dimensions", [])
    if not isinstance(dimensions, list) or not all(
        isinstance(d, str) and is_dimension(d) for d in dimensions
    ):
        raise QueryError(f"Invalid dimensions {_show(dimensions)}.")

    filters = expand_segments(parse_filter_list(body.get("filters", [])), segments)

    parsed_order = _parse_order_by(body.get("order_by"))

    include = body.get("include", {}) or {}
    if not isinstance(include, dict) or set(include) - INCLUDE_KEYS:
        raise QueryError(f"Invalid include {_show(include)}.")
    for flag in ("time_labels", "total_rows", "imports", "imports_meta"):
        if flag in include and not isinstance(include[flag], bool):
            raise QueryError(f"Invalid include.{flag}: expected true or false.")

    limit, offset = _parse_pagination(body.get("pagination", {}) or {})

    query = Query(
        site=site,
        date_range=rng,
        metrics=tuple(metrics),
        dimensions=tuple(dimensions),
        filters=filters,
        order_by=parsed_order,
        limit=limit,
        offset=offset,
        time_labels=bool(include.get("time_labels", False)),
        total_rows=bool(include.get("total_rows", False)),
        now=now,
        include_imports=include.get("imports") is True,
    )
    comparisons = include.get("comparisons")
    if comparisons is not None:
        query = replace(query, comparison=_parse_comparison(site, rng, comparisons, reference, now))
    return validate(query)


# --- the answer -----------------------------------------------------------------------------------


def _row(row: Row, metrics: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {"metrics": [row.metrics[m] for m in metrics], "dimensions": row.dimensions}
    if row.comparison is not None:
        out["comparison"] = {
            "dimensions": row.comparison.dimensions,
            "metrics": [row.comparison.metrics.get(m) for m in metrics],
            "change": [row.change.get(m) for m in metrics],
        }
    return out


def _iso(moment: datetime, timezone: str) -> str:
    return moment.replace(tzinfo=UTC).astimezone(ZoneInfo(timezone)).isoformat()


NO_IMPORTED_DATA = "no_imported_data"


def _imports_meta(result: Result, body: dict[str, Any]) -> dict[str, Any]:
    """What Plausible says about imported stats when asked (`include.imports` or
    `include.imports_meta`): whether they are in the answer, and if not, why
    (`footfall.stats.imported_sql`)."""
    include = body.get("include") or {}
    if not (include.get("imports") or include.get("imports_meta")):
        return {}
    if result.imports is not None:
        return result.imports.meta()
    if not result.query.site.imports:
        return {"imports_included": False, "imports_skip_reason": NO_IMPORTED_DATA}
    return {"imports_included": False}


def response(result: Result, body: dict[str, Any]) -> dict[str, Any]:
    query = result.query
    meta: dict[str, Any] = _imports_meta(result, body)
    if query.comparison is not None:
        rng = query.comparison.date_range
        meta["comparison_date_range"] = [
            _iso(rng.start, rng.timezone),
            _iso(rng.end - timedelta(seconds=1), rng.timezone),
        ]
    if result.warnings:
        meta["metric_warnings"] = result.warnings
    if query.time_labels:
        meta["time_labels"] = result.labels or []
    if query.total_rows:
        meta["total_rows"] = result.total_rows or 0
    include = {k: v for k, v in (body.get("include") or {}).items() if v}
    rng = query.date_range
    return {
        "results": [_row(row, query.metrics) for row in result.rows],
        "meta": meta,
        "query": {
            "site_id": query.site.domain,
            "metrics": list(query.metrics),
            "date_range": [_iso(rng.start, rng.timezone), _iso(rng.end - timedelta(seconds=1), rng.timezone)],
            "filters": _echoed_filters(query, body),
            "dimensions": list(query.dimensions),
            "order_by": [list(e) for e in query.order_by] if query.order_by else _default_order(query),
            "include": include,
            "pagination": {"limit": query.limit, "offset": query.offset},
        },
    }


def _echoed_filters(query: Query, body: dict[str, Any]) -> list[Any]:
    """The filters as sent, or as run when segments were expanded into them."""
    sent = body.get("filters", [])
    if _mentions_segment(sent):
        return [filter_json(node) for node in query.filters]
    return sent


def _mentions_segment(filters: Any) -> bool:
    """Whether any list in the filters as sent names a segment, walked without recursion."""
    pending = [filters]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            if len(node) >= 2 and node[1] == SEGMENT:
                return True
            pending.extend(node)
    return False


def _default_order(query: Query) -> list[list[str]]:
    order = [[d, "asc"] for d in query.dimensions if d.startswith("time")]
    order.append([query.metrics[0], "desc"])
    return order
