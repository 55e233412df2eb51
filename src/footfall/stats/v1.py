"""Stats API v1: query-string parameters in, Plausible's v1 JSON shapes out.

`period`, `date`, `metrics`, `filters` (`event:page==/blog/**;visit:country==DE|FR`, or a
v2-style JSON list), `property`, `limit`, `page`, `interval`, `compare` are read here and
become one `Query`; the answers are `{"results": ...}` as Plausible's v1 gives them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import date, datetime
from typing import Any

import orjson

from footfall.stats.engine import Result, comparison_for
from footfall.stats.query import (
    EVENT_ONLY_DIMENSIONS_FOR_SESSIONS,
    MAX_OFFSET,
    METRICS,
    Filter,
    Leaf,
    Query,
    QueryError,
    SiteSpec,
    date_range,
    filters_on,
    is_filter_dimension,
    period_range,
    today_in,
    validate,
)

V1_PERIODS = ("day", "7d", "28d", "30d", "91d", "month", "6mo", "12mo", "year", "all", "custom", "realtime")
V1_INTERVALS = {
    "date": "time:day",
    "day": "time:day",
    "hour": "time:hour",
    "week": "time:week",
    "month": "time:month",
}
MAX_BREAKDOWN_LIMIT = 1000
# The last page a breakdown may ask for: its offset stays within what a query allows.
MAX_PAGE = MAX_OFFSET // MAX_BREAKDOWN_LIMIT
# Breakdowns v1 answers without the row of empty values, and how an empty value reads.
HIDDEN_WHEN_EMPTY = {
    "visit:utm_medium": "(not set)",
    "visit:utm_source": "(not set)",
    "visit:utm_campaign": "(not set)",
    "visit:utm_content": "(not set)",
    "visit:utm_term": "(not set)",
    "visit:entry_page": "",
    "visit:exit_page": "",
}
CUSTOM_DATE_FORMAT = (
    "Invalid format for `date` parameter. When using a custom period, please include two ISO-8601 "
    "formatted dates joined by a comma. See https://plausible.io/docs/stats-api#time-periods"
)
DEFAULT_BREAKDOWN_LIMIT = 100

_FILTER_PART = re.compile(r"^(?P<key>[a-z_:A-Z0-9\-\.\$]+?)\s*(?P<op>==|!=|!~|~)\s*(?P<value>.*)$", re.S)


def parse_filters(raw: str | None) -> tuple[Filter, ...]:
    """v1 filters: `;` joins conditions, `|` lists alternatives (`\\|` is a literal bar), `*` a wildcard."""
    if raw is None or not raw.strip():
        return ()
    text = raw.strip()
    if text.startswith("["):
        from footfall.stats.v2 import parse_filter_list

        try:
            # orjson refuses JSON nested over 1,024 levels; the json module would overflow the stack.
            document = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise QueryError("Invalid filters: not valid JSON.") from None
        return parse_filter_list(document)
    filters: list[Filter] = []
    for part in text.split(";"):
        if not part.strip():
            raise QueryError(
                f"Invalid filters '{text}': a condition is empty (`;` separates conditions, "
                "with none before the first or after the last). "
                "See https://plausible.io/docs/stats-api#filtering"
            )
        match = _FILTER_PART.match(part.strip())
        if not match:
            raise QueryError(
                f"Invalid filter '{part.strip()}'. Use property==value, for example event:page==/blog. "
                "See https://plausible.io/docs/stats-api#filtering"
            )
        key, op, value = match["key"], match["op"], match["value"]
        if not is_filter_dimension(key):
            raise QueryError(
                f"Invalid filter property '{key}'. Please provide a valid filter property: "
                "https://plausible.io/docs/stats-api#properties"
            )
        values = tuple(v.replace("\\|", "|").strip() for v in re.split(r"(?<!\\)\|", value))
        if not all(values):
            raise QueryError(
                f"Invalid filter '{part.strip()}': every value must be non-empty "
                "(`|` separates values, with none before the first or after the last). "
                "See https://plausible.io/docs/stats-api#filtering"
            )
        if op in ("~", "!~"):
            operator = "contains" if op == "~" else "contains_not"
        elif any("*" in v for v in values) and key != "event:goal":
            operator = "matches_wildcard" if op == "==" else "matches_wildcard_not"
        else:
            operator = "is" if op == "==" else "is_not"
        filters.append(Leaf(operator, key, values))
    return tuple(filters)


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError as error:
        raise QueryError(
            f"Error parsing `date` parameter: {error}. Please specify a valid date in ISO-8601 format."
        ) from None


def parse_range(site: SiteSpec, params: Mapping[str, str], now: datetime):
    period = params.get("period", "30d")
    if period not in V1_PERIODS:
        raise QueryError(
            f"Error parsing `period` parameter: invalid period `{period}`. "
            "Please find accepted values in our docs: https://plausible.io/docs/stats-api#time-periods"
        )
    raw_date = params.get("date")
    if period == "custom":
        if raw_date is None:
            raise QueryError(
                "The `date` parameter is required when using a custom period. "
                "See https://plausible.io/docs/stats-api#time-periods"
            )
        pieces = raw_date.split(",")
        if len(pieces) != 2:
            raise QueryError(CUSTOM_DATE_FORMAT)
        try:
            first, last = (date.fromisoformat(p.strip()) for p in pieces)
        except ValueError:
            raise QueryError(CUSTOM_DATE_FORMAT) from None
        return date_range(first, last, site.timezone, "custom")
    reference = _parse_date(raw_date) if raw_date else today_in(site.timezone, now)
    return period_range(site, period, reference, now)


def parse_metrics(params: Mapping[str, str]) -> tuple[str, ...]:
    """`metrics=visitors,pageviews`; without the parameter, visitors. An empty name (`metrics=`,
    `visitors,`) is refused rather than read as visitors: it is usually a client's bug."""
    raw = params.get("metrics", "visitors")
    metrics = tuple(m.strip() for m in raw.split(","))
    if not all(metrics):
        raise QueryError(
            f"The `metrics` parameter holds an empty metric name: `{raw}`. Please provide metrics "
            "separated by commas, for example visitors,pageviews. "
            "See https://plausible.io/docs/stats-api#metrics"
        )
    if len(set(metrics)) != len(metrics):
        raise QueryError("Metrics cannot be queried multiple times.")
    for metric in metrics:
        if metric not in METRICS:
            raise QueryError(
                f"The metric `{metric}` is not recognized. Find valid metrics from the documentation: "
                "https://plausible.io/docs/stats-api#metrics"
            )
    return metrics


def _check_metrics(query: Query) -> None:
    """v1's own wording for the metric rules (v2's are in `query.validate`)."""
    dims = query.dimensions
    goal_filtered = filters_on(query.filters, "event:goal")
    for metric in query.metrics:
        if metric == "time_on_page":
            if goal_filtered:
                raise QueryError(f"Metric `{metric}` cannot be queried when filtering by `event:goal`")
            if filters_on(query.filters, "event:name"):
                raise QueryError(f"Metric `{metric}` cannot be queried when filtering by `event:name`")
            if dims and dims != ("event:page",) and not all(d.startswith("time") for d in dims):
                raise QueryError(
                    f"Metric `{metric}` is not supported in breakdown queries (except `event:page` breakdown)"
                )
            if "event:page" not in dims and not filters_on(query.filters, "event:page"):
                raise QueryError(
                    f"Metric `{metric}` can only be queried in a page breakdown or with a page filter."
                )
        elif metric == "conversion_rate":
            if dims != ("event:goal",) and not goal_filtered:
                raise QueryError(
                    f"Metric `{metric}` can only be queried in a goal breakdown or with a goal filter"
                )
        elif metric == "views_per_visit":
            if filters_on(query.filters, "event:page"):
                raise QueryError(f"Metric `{metric}` cannot be queried with a filter on `event:page`.")
            if dims and not dims[0].startswith("time"):
                raise QueryError(f"Metric `{metric}` is not supported in breakdown queries.")
        if metric in ("visits", "bounce_rate", "visit_duration", "views_per_visit"):
            if len(dims) == 1 and (
                dims[0] in EVENT_ONLY_DIMENSIONS_FOR_SESSIONS or dims[0].startswith("event:props:")
            ):
                raise QueryError(f"Session metric `{metric}` cannot be queried for breakdown by `{dims[0]}`.")
            for leaf in query.filters:
                if isinstance(leaf, Leaf) and (
                    leaf.dimension in ("event:name", "event:goal")
                    or leaf.dimension.startswith("event:props:")
                ):
                    raise QueryError(
                        f"Session metric `{metric}` cannot be queried when using a filter on "
                        f"`{leaf.dimension}`."
                    )


def build(
    site: SiteSpec,
    params: Mapping[str, str],
    now: datetime,
    *,
    dimensions: tuple[str, ...] = (),
    limit: int = 10_000,
    offset: int = 0,
) -> Query:
    rng = parse_range(site, params, now)
    filters = parse_filters(params.get("filters"))
    for leaf in filters:
        if isinstance(leaf, Leaf) and leaf.dimension == "event:goal" and leaf.operator in ("is", "is_not"):
            for name in leaf.values:
                if site.goal(name) is None:
                    prefix = (
                        f"The pageview goal for the pathname `{name[6:]}` is not configured for this site. "
                        if name.startswith("Visit ")
                        else f"The goal `{name}` is not configured for this site. "
                    )
                    raise QueryError(
                        prefix + "Find out how to configure goals here: "
                        "https://plausible.io/docs/stats-api#filtering-by-goals"
                    )
    query = Query(
        site=site,
        date_range=rng,
        metrics=parse_metrics(params),
        dimensions=dimensions,
        filters=filters,
        limit=limit,
        offset=offset,
        now=now,
        include_imports=params.get("with_imported") == "true",
    )
    _check_metrics(query)
    query = validate(query)
    compare = params.get("compare")
    if compare:
        if compare not in ("previous_period", "year_over_year"):
            raise QueryError(
                f"Error parsing `compare` parameter: invalid value `{compare}`. "
                "Use `previous_period` or `year_over_year`."
            )
        query = comparison_for(query, compare)
    return query


def aggregate_query(site: SiteSpec, params: Mapping[str, str], now: datetime) -> Query:
    return build(site, params, now)


def timeseries_query(site: SiteSpec, params: Mapping[str, str], now: datetime) -> Query:
    interval = params.get("interval")
    if interval is not None and interval not in V1_INTERVALS:
        raise QueryError(
            f"Error parsing `interval` parameter: invalid interval `{interval}`. "
            "Valid intervals are `date`, `day`, `hour`, `week`, `month`"
        )
    dimension = V1_INTERVALS[interval] if interval else "time"
    bare = {k: v for k, v in params.items() if k != "compare"}
    return build(site, bare, now, dimensions=(dimension,))


def breakdown_query(site: SiteSpec, params: Mapping[str, str], now: datetime) -> Query:
    prop = params.get("property")
    if not prop:
        raise QueryError(
            "The `property` parameter is required. "
            "Please provide at least one property to show a breakdown by."
        )
    if prop == "event:hostname":
        raise QueryError(
            "Property 'event:hostname' is currently not supported for breakdowns.  Please provide a valid "
            "property for the breakdown endpoint: https://plausible.io/docs/stats-api#properties"
        )
    if not is_filter_dimension(prop):
        raise QueryError(
            f"Invalid property '{prop}'. Please provide a valid property for the breakdown endpoint: "
            "https://plausible.io/docs/stats-api#properties"
        )
    limit = _positive(params.get("limit"), DEFAULT_BREAKDOWN_LIMIT, "limit")
    if limit > MAX_BREAKDOWN_LIMIT:
        raise QueryError(f"Please provide limit as a number between 1 and {MAX_BREAKDOWN_LIMIT}.")
    page = _positive(params.get("page"), 1, "page")
    if page > MAX_PAGE:
        raise QueryError(f"Please provide page as a positive number, at most {MAX_PAGE}.")
    bare = {k: v for k, v in params.items() if k != "compare"}
    # Versions are split by their browser or OS, as Plausible's v1 does.
    dimensions = {
        "visit:browser_version": ("visit:browser", prop),
        "visit:os_version": ("visit:os", prop),
    }.get(prop, (prop,))
    query = build(site, bare, now, dimensions=dimensions, limit=limit, offset=(page - 1) * limit)
    extra: tuple[Filter, ...] = ()
    if prop in HIDDEN_WHEN_EMPTY:
        # v1 leaves out the row of visits without a value (no UTM tag, unknown region...).
        extra = (Leaf("is_not", prop, (HIDDEN_WHEN_EMPTY[prop],)),)
    metrics = query.metrics
    if "conversion_rate" in metrics and prop != "event:goal" and not prop.startswith("event:props:"):
        # In a v1 breakdown by anything but goals, conversion_rate is the group's conversion rate.
        metrics = tuple("group_conversion_rate" if m == "conversion_rate" else m for m in metrics)
    return replace(query, filters=query.filters + extra, metrics=metrics)


def _positive(raw: str | None, default: int, name: str) -> int:
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        value = 0
    if value <= 0:
        if name == "limit":
            raise QueryError(f"Please provide limit as a number between 1 and {MAX_BREAKDOWN_LIMIT}.")
        raise QueryError("Please provide page as a positive number.")
    return value


# --- answers --------------------------------------------------------------------------------------


def property_key(prop: str) -> str:
    """The row key of a breakdown: `visit:source` -> `source`, `event:props:author` -> `author`."""
    if prop.startswith("event:props:"):
        return prop[len("event:props:") :]
    return prop.split(":", 1)[1]


def aggregate_response(result: Result) -> dict[str, Any]:
    row = result.rows[0] if result.rows else None
    out: dict[str, Any] = {}
    for metric in result.query.metrics:
        entry: dict[str, Any] = {"value": row.metrics.get(metric) if row else 0}
        if result.query.comparison is not None and row is not None:
            entry["change"] = row.change.get(metric)
            entry["comparison_value"] = row.comparison.metrics.get(metric) if row.comparison else None
        out[metric] = entry
    response: dict[str, Any] = {"results": out}
    if result.warnings:
        response["warning"] = next(iter(result.warnings.values()))["warning"]
    return response


def timeseries_response(result: Result) -> dict[str, Any]:
    """Every bucket of the period, zeros where nothing happened."""
    by_label = {row.dimensions[0]: row for row in result.rows}
    labels = result.labels or [row.dimensions[0] for row in result.rows]
    # The realtime graph counts minutes back from now: -30 (oldest) to -1 (this minute).
    realtime = result.query.date_range.period in (
        "realtime",
        "30m",
    ) and result.query.resolved_dimensions() == ("time:minute",)
    series = []
    for index, lab in enumerate(labels):
        row = by_label.get(lab)
        entry: dict[str, Any] = {"date": index - len(labels) if realtime else lab}
        for metric in result.query.metrics:
            entry[metric] = row.metrics[metric] if row else (None if metric == "percentage" else 0)
        series.append(entry)
    return {"results": series}


def breakdown_response(result: Result) -> dict[str, Any]:
    keys = [property_key(d) for d in result.query.dimensions]
    rows = []
    for row in result.rows:
        entry: dict[str, Any] = dict(zip(keys, row.dimensions, strict=True))
        for metric, value in row.metrics.items():
            entry["conversion_rate" if metric == "group_conversion_rate" else metric] = value
        rows.append(entry)
    return {"results": rows}
