"""The metric catalogue: every metric and every dimension of the read path, defined once.

A metric is a formula over parts; a source is a table (or a family of tables) that can give
parts. `bounce_rate` is `bounces / bounce_visits` whichever source answers: the raw sessions
give `bounces` as `sumIf(is_bounce * sign, ...)`, the hourly rollups as `sum(bounces_sum)`, the
daily counts as the sum of their `bounces` column. A source that has no expression for a part
cannot answer a metric that needs it, and the planner (`footfall.stats.planner`) never asks it.

Adding a metric is one `Metric` entry (and its parts' expressions in the sources that have
them); adding a source is one entry in `PARTS` (and its name in `SOURCES`). The SQL emitters
(`footfall.stats.sql` for the raw tables and the hourly rollups, `footfall.stats.daily_sql` for
the daily counts), the daily counting job (`footfall.stats.daily_job`) and the rollups'
materialized views (`footfall.events.schema`) all read this module. It imports nothing from
footfall, so every layer may read it.

Sources
-------
- ``events``: raw `events` rows (not `engagement` pings), one per pageview or custom event;
- ``sessions``: raw `sessions` rows, a VersionedCollapsingMergeTree summed with `sign`;
- ``sessions_by_visitor``: raw `sessions` summed per visitor (and group) first, `live` being a
  visitor's visits still counted there: for dimensions that change as a visit goes on (exit
  pages), where a visitor counts in a group only while one of their visits is live in it;
- ``engagement``: raw `engagement` events (time on page, scroll depth);
- ``sessions_hourly`` / ``events_hourly``: the hourly rollups the materialized views fill;
- ``daily_sessions`` / ``daily_events``: exact counts of sealed UTC days (`daily_job`); their
  parts are the columns of a UNION of counted days and raw rows (see `daily_sql`);
- ``imported``: the slot for imported tables (Plausible's CSV export, Google Analytics). It is
  empty today: fill `IMPORTED_PARTS` with each part's expression over the imported tables'
  columns (for example ``"bounces": "sum(bounces)"`` on `imported_visitors`) and
  `IMPORTED_DIMENSIONS` with the imported table and column of each dimension, and the planner
  may then ask it, as it asks the daily counts, for the days before native stats begin.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

RAW_EVENTS = "events"
RAW_SESSIONS = "sessions"
VISITOR_SESSIONS = "sessions_by_visitor"
ENGAGEMENT = "engagement"
SESSIONS_HOURLY = "sessions_hourly"
EVENTS_HOURLY = "events_hourly"
DAILY_SESSIONS = "daily_sessions"
DAILY_EVENTS = "daily_events"
IMPORTED = "imported"
SOURCES = (
    RAW_EVENTS,
    RAW_SESSIONS,
    VISITOR_SESSIONS,
    ENGAGEMENT,
    SESSIONS_HOURLY,
    EVENTS_HOURLY,
    DAILY_SESSIONS,
    DAILY_EVENTS,
)
SOURCES_WITH_IMPORTED = (*SOURCES, IMPORTED)

# --- metrics ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metric:
    """`formula` is SQL over `{part}` placeholders, applied once to the combined parts."""

    name: str
    formula: str
    parts: tuple[str, ...]


# Parts a metric needs that no source table gives: the query's (or its group's) total visitors,
# computed by the emitter as a subquery, the denominator of the share metrics.
TOTAL = "total_visitors"

# In the order the Stats API lists them. Shares (percentage, conversion rates) take `visitors`
# as the finished visitors metric of the row.
METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("visitors", "toUInt64({visitors})", ("visitors",)),
        Metric("visits", "toUInt64(greatest({visits}, 0))", ("visits",)),
        Metric("pageviews", "toUInt64(greatest({pageviews}, 0))", ("pageviews",)),
        Metric(
            "views_per_visit", "ifNotFinite(round({pageviews} / {visits}, 2), 0)", ("pageviews", "visits")
        ),
        Metric(
            "bounce_rate",
            "toUInt32(ifNotFinite(round({bounces} / {bounce_visits} * 100), 0))",
            ("bounces", "bounce_visits"),
        ),
        Metric(
            "visit_duration", "toUInt32(ifNotFinite(round({duration} / {visits}), 0))", ("duration", "visits")
        ),
        Metric("events", "toUInt64(greatest({events}, 0))", ("events",)),
        Metric(
            "conversion_rate",
            "ifNull(round({visitors} / nullIf({total_visitors}, 0) * 100, 1), 0)",
            ("visitors", TOTAL),
        ),
        Metric(
            "group_conversion_rate",
            "if({total_visitors} > 0, round({visitors} / {total_visitors} * 100, 1), 0)",
            ("visitors", TOTAL),
        ),
        Metric(
            "time_on_page",
            "toUInt32(ifNotFinite(round({engaged_ms} / 1000 / {page_visits}), 0))",
            ("engaged_ms", "page_visits"),
        ),
        Metric(
            "scroll_depth", "toUInt8(round(ifNotFinite({mean_deepest_scroll}, 0)))", ("mean_deepest_scroll",)
        ),
        Metric("percentage", "round({visitors} / nullIf({total_visitors}, 0) * 100, 1)", ("visitors", TOTAL)),
        Metric("total_revenue", "toFloat64(coalesce({revenue}, 0))", ("revenue",)),
        Metric("average_revenue", "toFloat64(coalesce({mean_revenue}, 0))", ("mean_revenue",)),
    )
}
# Parts asked of the native sources as if they were metrics, so the imported merge can add the
# imported parts to them before a ratio's formula (`footfall.stats.imported_sql`). Not in the
# Stats API's vocabulary (`footfall.stats.query.METRICS`): no request can name them.
PART_METRICS: dict[str, str] = {
    f"part_{p}": p for p in ("bounces", "bounce_visits", "duration", "engaged_ms", "page_visits")
}
METRICS.update({name: Metric(name, "{" + part + "}", (part,)) for name, part in PART_METRICS.items()})

# Metrics computed from the finished `visitors` of a row and a total: never asked of a source.
SHARE_METRICS = frozenset({"percentage", "conversion_rate", "group_conversion_rate"})

# Each source's expression of each part it can give. For the raw and hourly sources these are
# aggregate expressions over the table's columns; for the daily sources, columns of the union
# `daily_sql` builds (counted days' rows plus the other days' raw rows, summed).
# `{bounce_condition}`: the visits bounce_rate is about ("1", or entering on the filtered page).
PARTS: dict[str, dict[str, str]] = {
    RAW_EVENTS: {
        "visitors": "uniq(user_id)",
        "visits": "uniq(session_id)",
        "pageviews": "countIf(name = 'pageview')",
        "events": "count()",
        "revenue": "sum(revenue_reporting_amount)",
        # A mean is not additive: only the raw rows can give it.
        "mean_revenue": "avg(revenue_reporting_amount)",
    },
    RAW_SESSIONS: {
        "visitors": "uniq(user_id)",
        "visits": "sum(sign)",
        "bounces": "sumIf(is_bounce * sign, {bounce_condition})",
        "bounce_visits": "sumIf(sign, {bounce_condition})",
        "duration": "sum(duration * sign)",
        # Qualified: the metrics' aliases shadow the columns of the same names.
        "pageviews": "sum(sign * s.pageviews)",
        "events": "sum(sign * s.events)",
    },
    VISITOR_SESSIONS: {"visitors": "countIf(live > 0)", "visits": "sum(live)"},
    ENGAGEMENT: {
        "engaged_ms": "sum(engagement_time)",
        "page_visits": "uniq(session_id, pathname)",
        # Over each visitor's deepest scroll on the group's pages (the emitter groups by visitor first).
        "mean_deepest_scroll": "avg(deepest)",
    },
    SESSIONS_HOURLY: {
        "visitors": "uniqMerge(visitors_state)",
        "visits": "sum(visits_sum)",
        "bounces": "sum(bounces_sum)",
        "bounce_visits": "sum(visits_sum)",
        "duration": "sum(duration_sum)",
        "pageviews": "sum(pageviews_sum)",
        "events": "sum(events_sum)",
    },
    EVENTS_HOURLY: {
        "visitors": "uniqMerge(visitors_state)",
        "pageviews": "sumIf(events_count, name = 'pageview')",
        "events": "sum(events_count)",
    },
    DAILY_SESSIONS: {
        "visitors": "vis",
        "visits": "vst",
        "bounces": "bnc",
        "bounce_visits": "vst",
        "duration": "dur",
        "pageviews": "pvs",
        "events": "evs",
    },
    DAILY_EVENTS: {"visitors": "vis", "pageviews": "pvs", "events": "evs"},
}

# The imported tables (`footfall.events.schema.IMPORTED_TABLES`, filled by `footfall.moving`).
# Each table is first read as rows of one shape, `IMPORTED_ROW`: its own column for each part
# where it has one, 0 where it has none (Plausible's rules: on entry pages a visit is an entrance,
# on exit pages an exit; pages give no bounces or durations; custom events no visits or
# pageviews; `events` is pageviews everywhere but custom events). The parts are then sums over
# those rows, summed again with the native parts (`footfall.stats.imported_sql`), and each
# metric's formula is applied once, as for every other source.
_VISIT_ROW = {
    "visitors": "visitors",
    "visits": "visits",
    "pageviews": "pageviews",
    "events": "pageviews",
    "bounces": "bounces",
    "bounce_visits": "visits",
    "duration": "visit_duration",
}
IMPORTED_ROW: dict[str, dict[str, str]] = {
    "imported_visitors": _VISIT_ROW,
    "imported_sources": _VISIT_ROW,
    "imported_locations": _VISIT_ROW,
    "imported_devices": _VISIT_ROW,
    "imported_browsers": _VISIT_ROW,
    "imported_operating_systems": _VISIT_ROW,
    "imported_entry_pages": {**_VISIT_ROW, "visits": "entrances", "bounce_visits": "entrances"},
    "imported_exit_pages": {**_VISIT_ROW, "visits": "exits", "bounce_visits": "exits"},
    "imported_pages": {
        "visitors": "visitors",
        "visits": "visits",
        "pageviews": "pageviews",
        "events": "pageviews",
        "engaged_ms": "total_time_on_page * 1000",
        "page_visits": "total_time_on_page_visits",
    },
    "imported_custom_events": {"visitors": "visitors", "events": "events"},
}
IMPORTED_ROW_PARTS = ("visitors", "visits", "pageviews", "events", "bounces", "bounce_visits", "duration",
                      "engaged_ms", "page_visits")  # fmt: skip
IMPORTED_PARTS: dict[str, str] = {part: f"sum({part})" for part in IMPORTED_ROW_PARTS}
# dimension -> (imported table, column). Cities are kept by name natively, so by `city_name`.
IMPORTED_DIMENSIONS: dict[str, tuple[str, str]] = {
    "visit:source": ("imported_sources", "source"),
    "visit:referrer": ("imported_sources", "referrer"),
    "visit:channel": ("imported_sources", "channel"),
    "visit:utm_source": ("imported_sources", "utm_source"),
    "visit:utm_medium": ("imported_sources", "utm_medium"),
    "visit:utm_campaign": ("imported_sources", "utm_campaign"),
    "visit:utm_content": ("imported_sources", "utm_content"),
    "visit:utm_term": ("imported_sources", "utm_term"),
    "visit:entry_page": ("imported_entry_pages", "entry_page"),
    "visit:exit_page": ("imported_exit_pages", "exit_page"),
    "visit:country": ("imported_locations", "country"),
    "visit:region": ("imported_locations", "region"),
    "visit:city": ("imported_locations", "city_name"),
    "visit:country_name": ("imported_locations", "country"),
    "visit:region_name": ("imported_locations", "region"),
    "visit:city_name": ("imported_locations", "city_name"),
    "visit:device": ("imported_devices", "device"),
    "visit:screen": ("imported_devices", "device"),
    "visit:browser": ("imported_browsers", "browser"),
    "visit:browser_version": ("imported_browsers", "browser_version"),
    "visit:os": ("imported_operating_systems", "operating_system"),
    "visit:os_version": ("imported_operating_systems", "operating_system_version"),
    "event:page": ("imported_pages", "page"),
    "event:hostname": ("imported_pages", "hostname"),
    "event:name": ("imported_custom_events", "name"),
}
PARTS[IMPORTED] = IMPORTED_PARTS

# What a visit row of each granularity holds, as the daily counting job and the hourly rollups'
# view aggregate it from raw sessions (per visit: `sum(sign * column)`): stored part -> column.
SESSION_SUMS: dict[str, str] = {
    "visits": "1",
    "bounces": "is_bounce",
    "duration": "duration",
    "pageviews": "pageviews",
    "events": "events",
}


def signed_sum(column: str) -> str:
    """A visit's figure summed over its stored states (`sign` cancels the replaced ones)."""
    return "sum(sign)" if column == "1" else f"sum(sign * {column})"


def answers(source: str, metric: str) -> bool:
    """Whether `source` has every part `metric` needs (share metrics need `visitors` only)."""
    parts = PARTS.get(source, {})
    needed = ("visitors",) if metric in SHARE_METRICS else METRICS[metric].parts
    return all(part in parts for part in needed)


def metrics_of(source: str) -> frozenset[str]:
    """Every metric `source` can answer."""
    return frozenset(name for name in METRICS if answers(source, name))


def formula(metric: str, parts: Mapping[str, str]) -> str:
    """The metric's SQL, `AS` its name, with each part replaced by its expression in `parts`."""
    definition = METRICS[metric]
    return definition.formula.format_map({p: parts[p] for p in definition.parts}) + f" AS {metric}"


def source_formula(metric: str, source: str, **holes: str) -> str:
    """`formula` with the parts of one source, aggregated in the same SELECT."""
    parts = {name: expr.format_map(holes) if holes else expr for name, expr in PARTS[source].items()}
    return formula(metric, parts)


# --- dimensions -------------------------------------------------------------------------------

NO_REFERRER = "Direct / None"
NOT_SET = "(not set)"
NO_PROP = "(none)"


@dataclass(frozen=True)
class Dimension:
    """A Stats API dimension: the column that holds it on the raw tables, the label an empty
    value is shown as, and where else it is kept."""

    name: str
    column: str
    empty_label: str | None = None
    session_only: bool = False  # only `sessions` has it (events carry the other visit properties)
    hidden_when_empty: bool = False  # breakdowns leave out visits with no value (unknown places)
    named: str | None = None  # shown by name: the kind of name in `footfall.stats.locations`
    daily: bool = False  # a kind the daily counts keep
    # Changes as a visit goes on: the exit page, and the entry page of a visit that began with a
    # custom event (empty until its first pageview). The rest are fixed at the visit's first
    # event. A visitor counts in a group of a mutable dimension only while a visit of theirs is
    # live there: the cancelled first state (sign -1, entry page "") must not count them in the
    # empty group, which `uniq(user_id)` over all rows, and the rollups' `uniqState`, would.
    mutable: bool = False


DIMENSIONS: dict[str, Dimension] = {
    d.name: d
    for d in (
        Dimension("visit:source", "referrer_source", NO_REFERRER, daily=True),
        Dimension("visit:referrer", "referrer", NO_REFERRER, daily=True),
        Dimension("visit:channel", "channel", daily=True),
        Dimension("visit:utm_source", "utm_source", NOT_SET, daily=True),
        Dimension("visit:utm_medium", "utm_medium", NOT_SET, daily=True),
        Dimension("visit:utm_campaign", "utm_campaign", NOT_SET, daily=True),
        Dimension("visit:utm_content", "utm_content", NOT_SET, daily=True),
        Dimension("visit:utm_term", "utm_term", NOT_SET, daily=True),
        Dimension("visit:entry_page", "entry_page", session_only=True, daily=True, mutable=True),
        Dimension("visit:exit_page", "exit_page", session_only=True, daily=True, mutable=True),
        Dimension("visit:entry_page_hostname", "hostname", session_only=True, mutable=True),
        Dimension("visit:exit_page_hostname", "exit_page_hostname", session_only=True, mutable=True),
        Dimension("visit:country", "country_code", hidden_when_empty=True, daily=True),
        Dimension("visit:region", "region", hidden_when_empty=True, daily=True),
        Dimension("visit:city", "city", hidden_when_empty=True, daily=True),
        Dimension("visit:country_name", "country_code", hidden_when_empty=True, named="country"),
        Dimension("visit:region_name", "region", hidden_when_empty=True, named="region"),
        Dimension("visit:city_name", "city", hidden_when_empty=True),  # cities are stored by name
        Dimension("visit:device", "screen_size", NOT_SET, daily=True),
        Dimension("visit:screen", "screen_size", NOT_SET),
        Dimension("visit:browser", "browser", NOT_SET, daily=True),
        Dimension("visit:browser_version", "browser_version", NOT_SET),
        Dimension("visit:os", "operating_system", NOT_SET, daily=True),
        Dimension("visit:os_version", "operating_system_version", NOT_SET),
        Dimension("event:name", "name", daily=True),
        Dimension("event:page", "pathname", daily=True),
        Dimension("event:hostname", "hostname"),
    )
}
# `event:goal` (computed from the site's goals) and `event:props:*` (the `meta` arrays) have
# no column; `footfall.stats.sql` builds their expressions.

# The session properties `sessions_hourly` is keyed by, in the order its view lists them:
# immutable properties held as plain strings, whose breakdowns group millions of strings on the
# raw table (LowCardinality ones group fast enough there).
SESSIONS_HOURLY_DIMENSIONS: tuple[str, ...] = (
    "visit:source",
    "visit:referrer",
    "visit:entry_page",
    "visit:utm_source",
    "visit:utm_medium",
    "visit:utm_campaign",
)
# Dimensions events_hourly (grouped by name and pathname) answers, and the time buckets an
# hourly row falls in exactly (see `planner.whole_hours`).
EVENTS_HOURLY_DIMENSIONS = frozenset({"event:page", "event:name", "event:goal"})
HOURLY_TIME_DIMENSIONS = frozenset({"time:hour", "time:day", "time:week", "time:month"})
DAILY_TIME_DIMENSIONS = frozenset({"time:day", "time:week", "time:month"})

# The daily counts' kinds: a visit property (daily_sessions) or an event property
# (daily_events) per dimension, and "all" for the whole day; "goal" for event:goal.
DAILY_SESSION_KINDS: dict[str, str] = {
    name: d.column for name, d in DIMENSIONS.items() if d.daily and name.startswith("visit:")
}
DAILY_EVENT_KINDS: dict[str, str] = {
    name: d.column for name, d in DIMENSIONS.items() if d.daily and name.startswith("event:")
}

SESSION_ONLY_DIMENSIONS = frozenset(name for name, d in DIMENSIONS.items() if d.session_only)
MUTABLE_DIMENSIONS = frozenset(name for name, d in DIMENSIONS.items() if d.mutable)
HIDE_EMPTY = frozenset(name for name, d in DIMENSIONS.items() if d.hidden_when_empty)


def empty_label(dimension: str) -> str | None:
    found = DIMENSIONS.get(dimension)
    return found.empty_label if found else None


def labelled(column: str, label: str | None) -> str:
    """`column`, with an empty value shown as `label`."""
    return column if label is None else f"if(empty({column}), '{label}', {column})"


def hourly_sessions_pairs() -> list[tuple[str, str]]:
    """(dimension, column) of each key of `sessions_hourly`, as its view writes them."""
    return [(name, DIMENSIONS[name].column) for name in SESSIONS_HOURLY_DIMENSIONS]


def sessions_hourly_select() -> str:
    """The SELECT of the view that fills `sessions_hourly`, from these definitions: the text
    migration 2 of footfall.events.schema ran (tests/stats/test_catalogue.py checks it)."""
    sums = ", ".join(f"{signed_sum(column)} AS {part}_sum" for part, column in SESSION_SUMS.items())
    keys = ", ".join(f"tuple('{name}', {column})" for name, column in hourly_sessions_pairs())
    return (
        "SELECT site_id, dimension_value.1 AS dimension, dimension_value.2 AS value, "
        f"toStartOfHour(start) AS hour, uniqState(user_id) AS visitors_state, {sums} "
        f"FROM {{db}}.sessions ARRAY JOIN [{keys}] AS dimension_value "
        "GROUP BY site_id, dimension, value, hour"
    )


# The filters the daily counts also keep figures for (`daily_filtered_sessions` / `_events`):
# one value of a visit property fixed at the visit's first event (its events carry it too), or
# of an event's page. A dashboard sets these by clicking a row. Filter -> the expression its
# value is stored as: the property as a filter matches it (empty shown as its label).
DAILY_VISIT_FILTERS: tuple[str, ...] = (
    "visit:source",
    "visit:referrer",
    "visit:channel",
    "visit:utm_source",
    "visit:utm_medium",
    "visit:utm_campaign",
    "visit:country",
    "visit:region",
    "visit:city",
    "visit:device",
    "visit:browser",
    "visit:os",
)
PAGE_FILTER = "event:page"
DAILY_FILTERS: dict[str, str] = {
    name: labelled(DIMENSIONS[name].column, DIMENSIONS[name].empty_label)
    for name in (*DAILY_VISIT_FILTERS, PAGE_FILTER)
}
# Under a page filter the events table answers alone, so its daily rows keep, besides the event
# kinds, the visit properties the events carry (not entry and exit pages, kept by visits only).
DAILY_PAGE_FILTER_KINDS: dict[str, str] = {
    **{name: column for name, column in DAILY_SESSION_KINDS.items() if not DIMENSIONS[name].session_only},
    **DAILY_EVENT_KINDS,
}
