"""The one query model behind every number: what to count, over which time, how split and filtered.

Stats API v1 parameters and v2 JSON both become a `Query` (see `v1.py`, `v2.py`); the
SQL compiler (`sql.py`) turns a Query into ClickHouse SQL. Validation that does not
depend on the wire format lives here, with Plausible's error messages, so both APIs
reject a bad query the same way.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from footfall.stats import catalogue
from footfall.wildcards import wildcard_regex

# --- vocabulary ---------------------------------------------------------------------------

# Metrics and dimensions are defined in the catalogue (footfall.stats.catalogue); these are
# the names the APIs accept.
METRICS: tuple[str, ...] = tuple(catalogue.METRICS)
SESSION_METRICS = frozenset({"visits", "bounce_rate", "visit_duration", "views_per_visit"})
REVENUE_METRICS = frozenset({"total_revenue", "average_revenue"})

EVENT_DIMENSIONS = frozenset({*(d for d in catalogue.DIMENSIONS if d.startswith("event:")), "event:goal"})
VISIT_DIMENSIONS = frozenset(d for d in catalogue.DIMENSIONS if d.startswith("visit:"))
# Visit properties held only by the sessions table (events carry the others).
SESSION_ONLY_DIMENSIONS = catalogue.SESSION_ONLY_DIMENSIONS
TIME_DIMENSIONS = ("time", "time:minute", "time:hour", "time:day", "time:week", "time:month")
# Dimensions a session metric cannot be split by (an event property has no single value per visit).
EVENT_ONLY_DIMENSIONS_FOR_SESSIONS = frozenset({"event:name", "event:goal", "event:hostname"})

LEAF_OPERATORS = (
    "is",
    "is_not",
    "contains",
    "contains_not",
    "matches",
    "matches_not",
    "matches_wildcard",
    "matches_wildcard_not",
)
NEGATED = {"is_not": "is", "contains_not": "contains", "matches_not": "matches"}
NEGATED["matches_wildcard_not"] = "matches_wildcard"

BEHAVIOURAL = ("has_done", "has_not_done")

PERIODS = ("day", "7d", "28d", "30d", "91d", "month", "6mo", "12mo", "year", "all", "realtime", "30m")
REALTIME_MINUTES = 30
DEFAULT_LIMIT = 10_000
MAX_LIMIT = 100_000
MAX_OFFSET = 10**12

# --- limits -------------------------------------------------------------------------------
# How big the filters of one query may be. Without them a request could exhaust Python's
# stack (deep nesting) or compile to SQL the event store refuses (ClickHouse's 256 KiB
# `max_query_size`, its AST depth): a 500 or a 503 instead of a 400 naming the part at fault.
# Plausible documents no such limits; its dashboard and segments stay far below these.
MAX_FILTER_DEPTH = 10  # levels of `and`, `or`, `not`, `has_done`, `has_not_done` around a condition
MAX_FILTER_VALUES = 1_000  # values in one filter's list (`|`-separated in v1)
MAX_FILTER_CONDITIONS = 100  # conditions in one query, counted with its saved segments expanded


class QueryError(ValueError):
    """The query cannot be answered; the message names the part at fault (HTTP 400 unless set)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def is_dimension(name: str) -> bool:
    if name in EVENT_DIMENSIONS or name in VISIT_DIMENSIONS or name in TIME_DIMENSIONS:
        return True
    return name.startswith("event:props:") and len(name) > len("event:props:")


def is_filter_dimension(name: str) -> bool:
    return is_dimension(name) and not name.startswith("time")


def is_time(name: str) -> bool:
    return name in TIME_DIMENSIONS


def is_event_dimension(name: str) -> bool:
    return name.startswith("event:")


# --- the site as the engine sees it --------------------------------------------------------


@dataclass(frozen=True)
class GoalSpec:
    display_name: str
    event_name: str | None = None
    page_path: str | None = None
    currency: str | None = None


@dataclass(frozen=True)
class ImportSpec:
    """A completed import of the site (`footfall.moving`): its id in the imported tables and the
    days it covers."""

    id: int
    first: date
    last: date


@dataclass(frozen=True)
class SiteSpec:
    id: int
    domain: str
    timezone: str = "Etc/UTC"
    goals: tuple[GoalSpec, ...] = ()
    stats_start: date | None = None
    imports: tuple[ImportSpec, ...] = ()

    def goal(self, name: str) -> GoalSpec | None:
        for goal in self.goals:
            if goal.display_name == name:
                return goal
        return None


# --- filters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Leaf:
    operator: str
    dimension: str
    values: tuple[str, ...]
    case_sensitive: bool = True


@dataclass(frozen=True)
class Logic:
    operator: Literal["and", "or", "not", "has_done", "has_not_done"]
    children: tuple[Filter, ...]


Filter = Leaf | Logic


def walk(filters: tuple[Filter, ...], depth: int = 0):
    """Every leaf with its nesting depth (0 = top level)."""
    for node in filters:
        if isinstance(node, Leaf):
            yield node, depth
        else:
            yield from walk(node.children, depth + 1)


def walk_behavioural(filters: tuple[Filter, ...], depth: int = 0, behavioural: int = 0):
    """Every leaf with its nesting depth and the number of `has_done` / `has_not_done` around it."""
    for node in filters:
        if isinstance(node, Leaf):
            yield node, depth, behavioural
        else:
            inside = behavioural + (node.operator in BEHAVIOURAL)
            yield from walk_behavioural(node.children, depth + 1, inside)


def top_level(filters: tuple[Filter, ...], dimension: str) -> Leaf | None:
    for node in filters:
        if isinstance(node, Leaf) and node.dimension == dimension:
            return node
    return None


def filters_on(filters: tuple[Filter, ...], prefix: str) -> bool:
    return any(leaf.dimension.startswith(prefix) for leaf, _ in walk(filters))


def without_top_level(filters: tuple[Filter, ...], prefixes: tuple[str, ...]) -> tuple[Filter, ...]:
    return tuple(
        node for node in filters if not (isinstance(node, Leaf) and node.dimension.startswith(prefixes))
    )


# --- time ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DateRange:
    """A half-open UTC interval [start, end) and the local dates it covers in the site's zone."""

    first: date
    last: date
    start: datetime
    end: datetime
    timezone: str
    period: str = "custom"

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


def local_midnight_utc(day: date, timezone: str) -> datetime:
    local = datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(timezone))
    return local.astimezone(UTC).replace(tzinfo=None)


EARLIEST = date(1970, 1, 2)
LATEST = date(2100, 12, 31)


def date_range(first: date, last: date, timezone: str, period: str = "custom") -> DateRange:
    if last < first:
        raise QueryError(f"Invalid date_range: {first.isoformat()} is after {last.isoformat()}.")
    if first < EARLIEST or last > LATEST:
        raise QueryError(
            f"Invalid date_range: dates must lie between {EARLIEST.isoformat()} and {LATEST.isoformat()}."
        )
    return DateRange(
        first=first,
        last=last,
        start=local_midnight_utc(first, timezone),
        end=local_midnight_utc(last + timedelta(days=1), timezone),
        timezone=timezone,
        period=period,
    )


def today_in(timezone: str, now: datetime) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


def _add_months(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last_day))


def _end_of_month(day: date) -> date:
    return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


def period_range(site: SiteSpec, period: str, reference: date, now: datetime) -> DateRange:
    """Plausible's named periods, relative to `reference` (today in the site's zone by default)."""
    tz = site.timezone
    if period in ("realtime", "30m"):
        # The current minute and the 29 before it: one whole-minute bucket each, as the
        # realtime graph shows them.
        minute = now.astimezone(UTC).replace(tzinfo=None, second=0, microsecond=0)
        end = minute + timedelta(minutes=1)
        start = end - timedelta(minutes=REALTIME_MINUTES)
        local_today = today_in(tz, now)
        return DateRange(local_today, local_today, start, end, tz, period)
    if period == "day":
        return date_range(reference, reference, tz, period)
    if period in ("7d", "28d", "91d"):
        return date_range(reference - timedelta(days=int(period[:-1]) - 1), reference, tz, period)
    if period == "30d":
        # Plausible's 30d starts 30 days before the reference date and includes it.
        return date_range(reference - timedelta(days=30), reference, tz, period)
    if period == "month":
        return date_range(reference.replace(day=1), _end_of_month(reference), tz, period)
    if period in ("6mo", "12mo"):
        months = int(period[:-2])
        last = _end_of_month(reference)
        first = _add_months(reference.replace(day=1), -(months - 1))
        return date_range(first, last, tz, period)
    if period == "year":
        return date_range(date(reference.year, 1, 1), date(reference.year, 12, 31), tz, period)
    if period == "all":
        first = site.stats_start or reference
        return date_range(min(first, reference), reference, tz, period)
    raise QueryError(f"Invalid date_range '{period}'.")


def default_interval(rng: DateRange) -> str:
    if rng.period in ("realtime", "30m"):
        return "time:minute"
    if rng.days <= 1:
        return "time:hour"
    if rng.days <= 40:
        return "time:day"
    return "time:month"


MAX_TIME_LABELS = 50_000


def time_labels(rng: DateRange, dimension: str) -> list[str]:
    """Every bucket of the range for a time dimension, in the site's zone (DST-aware)."""
    if dimension == "time:minute":
        if (rng.end - rng.start).total_seconds() / 60 > MAX_TIME_LABELS:
            raise QueryError("Invalid dimensions: too many minute buckets; use time:hour or a shorter range.")
        zone = ZoneInfo(rng.timezone)
        labels = []
        cursor = rng.start.replace(second=0, microsecond=0, tzinfo=UTC)
        end = rng.end.replace(tzinfo=UTC)
        while cursor < end:
            labels.append(cursor.astimezone(zone).strftime("%Y-%m-%d %H:%M:00"))
            cursor += timedelta(minutes=1)
        return list(dict.fromkeys(labels))
    if dimension == "time:hour":
        if (rng.end - rng.start).total_seconds() / 3600 > MAX_TIME_LABELS:
            raise QueryError("Invalid dimensions: too many hourly buckets; use time:day or a shorter range.")
        zone = ZoneInfo(rng.timezone)
        labels: list[str] = []
        cursor = rng.start.replace(minute=0, second=0, microsecond=0, tzinfo=UTC)
        end = rng.end.replace(tzinfo=UTC)
        while cursor < end:
            label = cursor.astimezone(zone).strftime("%Y-%m-%d %H:00:00")
            if label not in labels:
                labels.append(label)
            cursor += timedelta(hours=1)
        return labels
    if dimension == "time:day":
        return [(rng.first + timedelta(days=i)).isoformat() for i in range(rng.days)]
    if dimension == "time:week":
        labels = [rng.first.isoformat()]
        monday = rng.first - timedelta(days=rng.first.weekday()) + timedelta(days=7)
        while monday <= rng.last:
            labels.append(monday.isoformat())
            monday += timedelta(days=7)
        return labels
    if dimension == "time:month":
        labels = []
        month = rng.first.replace(day=1)
        while month <= rng.last:
            labels.append(month.isoformat())
            month = _add_months(month, 1)
        return labels
    raise QueryError(f"Invalid time dimension '{dimension}'.")


def comparison_range(
    rng: DateRange, mode: str, custom: DateRange | None = None, match_day_of_week: bool = False
) -> DateRange:
    """The range a comparison runs over: the equal-length period before, or the same dates a year
    ago; with `match_day_of_week`, moved to the nearest dates that start on the same weekday."""
    if mode == "previous_period":
        if rng.period in ("realtime", "30m"):
            length = rng.end - rng.start
            return replace(rng, start=rng.start - length, end=rng.start)
        last = rng.first - timedelta(days=1)
        first = last - timedelta(days=rng.days - 1)
    elif mode == "year_over_year":
        first, last = _add_months(rng.first, -12), _add_months(rng.last, -12)
    elif mode == "custom" and custom is not None:
        return custom
    else:
        raise QueryError(f"Invalid comparison mode '{mode}'.")
    if match_day_of_week:
        shift = _days_to_same_weekday(first, rng.first)
        first, last = first + timedelta(days=shift), last + timedelta(days=shift)
    return date_range(first, last, rng.timezone)


def _days_to_same_weekday(day: date, source_first: date) -> int:
    """Days to move `day` to the next date on `source_first`'s weekday, as Plausible does; the
    one before when the next would be the source period's own first day."""
    forward = (source_first.weekday() - day.weekday()) % 7
    if forward == 0:
        return 0
    if day + timedelta(days=forward) == source_first:
        return forward - 7
    return forward


def percent_change(old: float | None, new: float | None) -> int | None:
    """Plausible's `change`: whole percent; 100 from zero to something; 0 from zero to zero."""
    if old is None or new is None:
        return None
    if old == 0:
        return 100 if new > 0 else 0
    return round((new - old) / old * 100)


def metric_change(metric: str, old: object, new: object) -> float | int | None:
    """Bounce rate changes by points (absent when there was no bounce rate before); the rest by percent."""
    old_value = _number(old)
    new_value = _number(new)
    if metric == "bounce_rate":
        if old_value is None or new_value is None or old_value <= 0:
            return None
        return new_value - old_value
    if metric in ("conversion_rate", "group_conversion_rate"):
        if old_value is None or new_value is None:
            return None
        return round(new_value - old_value, 1)
    return percent_change(old_value, new_value)


def _number(value: object) -> float | None:
    if isinstance(value, dict):
        value = value.get("value")
    if value is None:
        return None
    return float(value)  # type: ignore[arg-type]


# --- the query ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    mode: str  # previous_period | year_over_year | custom
    date_range: DateRange
    match_day_of_week: bool = False


@dataclass(frozen=True)
class Query:
    site: SiteSpec
    date_range: DateRange
    metrics: tuple[str, ...]
    dimensions: tuple[str, ...] = ()
    filters: tuple[Filter, ...] = ()
    order_by: tuple[tuple[str, str], ...] | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    time_labels: bool = False
    total_rows: bool = False
    comparison: Comparison | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    # Merge the site's imported statistics where the query allows (v2 `include.imports`,
    # v1 `with_imported=true`; see `footfall.stats.imported_sql`).
    include_imports: bool = False

    @property
    def timezone(self) -> str:
        return self.site.timezone

    def with_range(self, rng: DateRange) -> Query:
        return replace(self, date_range=rng)

    def resolved_dimensions(self) -> tuple[str, ...]:
        """`time` becomes the interval the range calls for."""
        return tuple(default_interval(self.date_range) if d == "time" else d for d in self.dimensions)


# --- validation ---------------------------------------------------------------------------

# Python regex features ClickHouse's RE2 lacks: lookarounds, backreferences, atomic groups.
_NOT_RE2 = re.compile(r"\(\?(?:=|!|<=|<!|>|P=)|\\[1-9]")


def wildcard_to_regex(pattern: str) -> str:
    """Plausible's page wildcards (`footfall.wildcards`), anchored at both ends."""
    return "^" + wildcard_regex(pattern) + "$"


def validate(query: Query) -> Query:
    """Checks that hold whichever API the query came from; returns it unchanged or raises QueryError."""
    metrics = query.metrics
    if not metrics:
        raise QueryError("Please provide at least one metric.")
    if len(set(metrics)) != len(metrics):
        raise QueryError("Metrics cannot be queried multiple times.")
    if len(set(query.dimensions)) != len(query.dimensions):
        raise QueryError("Dimensions cannot be queried multiple times.")
    if sum(1 for d in query.dimensions if is_time(d)) > 1:
        raise QueryError("Invalid dimensions: only one time dimension can be queried.")
    _check_filters(query)
    _check_metrics(query)
    if query.order_by:
        allowed = set(metrics) | set(query.dimensions)
        for entry in query.order_by:
            if entry[0] not in allowed:
                raise QueryError(
                    f"Invalid order_by entry '{list(entry)}'. Entry is not a queried metric or dimension."
                )
    if query.time_labels and not any(is_time(d) for d in query.dimensions):
        raise QueryError("Invalid include.time_labels: requires a time dimension.")
    if query.limit < 1 or query.limit > MAX_LIMIT:
        raise QueryError(f"Invalid pagination.limit: must be between 1 and {MAX_LIMIT}.")
    if query.offset < 0 or query.offset > MAX_OFFSET:
        raise QueryError("Invalid pagination.offset: must not be negative (nor absurdly large).")
    return query


def _check_filters(query: Query) -> None:
    """Filters: size, known dimensions, where goals and hostnames may be, configured goals, RE2."""
    check_filter_size(query.filters)
    for leaf, depth, behavioural in walk_behavioural(query.filters):
        if not is_filter_dimension(leaf.dimension):
            raise QueryError(f"Invalid filter dimension '{leaf.dimension}'.")
        _check_behavioural(leaf, behavioural)
        if depth > 0 and leaf.dimension in ("event:goal", "event:hostname") and not behavioural:
            raise QueryError(
                f"Invalid filters. Dimension `{leaf.dimension}` can only be filtered at the top level."
            )
        if leaf.dimension == "event:goal":
            for name in leaf.values:
                if leaf.operator in ("is", "is_not") and query.site.goal(name) is None:
                    raise QueryError(
                        f"The goal `{name}` is not configured for this site. Find out how to configure "
                        "goals here: https://plausible.io/docs/stats-api#filtering-by-goals"
                    )
        if leaf.operator in ("matches", "matches_not"):
            for pattern in leaf.values:
                try:
                    re.compile(pattern)
                except re.error as error:
                    raise QueryError(f"Invalid regular expression '{pattern}': {error}.") from None
                if _NOT_RE2.search(pattern):
                    raise QueryError(
                        f"Invalid regular expression '{pattern}': RE2 syntax is required "
                        "(no lookarounds, backreferences or atomic groups)."
                    )


def _check_metrics(query: Query) -> None:
    """Each metric is known and asked with the dimensions or filters it needs."""
    metrics = query.metrics
    goal_filtered = any(leaf.dimension == "event:goal" for leaf, _ in walk(query.filters))
    for metric in metrics:
        if metric not in METRICS:
            raise QueryError(f"Unknown metric '{metric}'.")
        if metric in ("conversion_rate", "group_conversion_rate") and not (
            "event:goal" in query.dimensions or goal_filtered
        ):
            raise QueryError(f"Metric `{metric}` can only be queried with event:goal filters or dimensions.")
        if metric in ("scroll_depth", "time_on_page") and not (
            "event:page" in query.dimensions or top_level(query.filters, "event:page") is not None
        ):
            raise QueryError(f"Metric `{metric}` can only be queried with event:page filters or dimensions.")
        if metric == "views_per_visit":
            if filters_on(query.filters, "event:page"):
                raise QueryError(f"Metric `{metric}` cannot be queried with a filter on `event:page`.")
            if query.dimensions and any(not is_time(d) for d in query.dimensions):
                raise QueryError(f"Metric `{metric}` cannot be queried with `dimensions`.")
        if metric == "percentage" and not query.dimensions:
            raise QueryError("Metric `percentage` can only be queried with a dimension.")
        if metric in REVENUE_METRICS and any(d in SESSION_ONLY_DIMENSIONS for d in query.dimensions):
            raise QueryError(f"Metric `{metric}` cannot be queried with entry or exit page dimensions.")
    session_metrics = [m for m in metrics if m in SESSION_METRICS]
    if session_metrics and any(
        d in EVENT_ONLY_DIMENSIONS_FOR_SESSIONS or d.startswith("event:props:") for d in query.dimensions
    ):
        raise QueryError(
            f"Session metric(s) `{', '.join(session_metrics)}` cannot be queried along with event dimensions."
        )


def check_filter_size(filters: tuple[Filter, ...]) -> None:
    """MAX_FILTER_VALUES and MAX_FILTER_CONDITIONS, whichever API the filters came from; the
    nesting depth is checked while parsing, before it could overflow the parser's stack."""
    conditions = 0
    for leaf, _ in walk(filters):
        conditions += 1
        if len(leaf.values) > MAX_FILTER_VALUES:
            raise QueryError(
                f"Invalid filters: a filter may list at most {MAX_FILTER_VALUES} values; "
                f"the `{leaf.dimension}` filter lists {len(leaf.values)}."
            )
    if conditions > MAX_FILTER_CONDITIONS:
        raise QueryError(
            f"Invalid filters: a query may use at most {MAX_FILTER_CONDITIONS} filter conditions "
            f"(a saved segment counts the conditions it holds); this one uses {conditions}."
        )


def _check_behavioural(leaf: Leaf, behavioural: int) -> None:
    """`has_done` / `has_not_done` ask whether a visit had some event: they hold event conditions
    only, and one cannot hold another (Plausible refuses both, in these words)."""
    if behavioural > 1:
        raise QueryError("Invalid filters. Behavioral filters (has_done, has_not_done) cannot be nested.")
    if behavioural and not is_event_dimension(leaf.dimension):
        raise QueryError(
            "Invalid filters. Behavioral filters (has_done, has_not_done) can only be used with "
            "event dimension filters."
        )
