"""The metric catalogue is the one definition of each metric and dimension, and what reads it
(the rollups' materialized views, the planner) still says what the released schema says."""

from __future__ import annotations

import pytest

from footfall.events.schema import MIGRATIONS
from footfall.stats import catalogue as cat
from footfall.stats import planner
from footfall.stats.query import METRICS, VISIT_DIMENSIONS

# The view migration 2 created, as it ran when released: the schema keeps its text and the
# catalogue builds it from its definitions; neither may change it (a database migrated earlier
# keeps the view it has).
RELEASED_SESSIONS_HOURLY_VIEW = (
    "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.sessions_hourly_mv TO {db}.sessions_hourly AS "
    "SELECT site_id, dimension_value.1 AS dimension, dimension_value.2 AS value, toStartOfHour(start) "
    "AS hour, uniqState(user_id) AS visitors_state, sum(sign) AS visits_sum, sum(sign * is_bounce) AS "
    "bounces_sum, sum(sign * duration) AS duration_sum, sum(sign * pageviews) AS pageviews_sum, "
    "sum(sign * events) AS events_sum FROM {db}.sessions ARRAY JOIN [tuple('visit:source', "
    "referrer_source), tuple('visit:referrer', referrer), tuple('visit:entry_page', entry_page), "
    "tuple('visit:utm_source', utm_source), tuple('visit:utm_medium', utm_medium), "
    "tuple('visit:utm_campaign', utm_campaign)] AS dimension_value GROUP BY site_id, dimension, value, hour"
)


def test_the_released_rollup_view_is_what_the_catalogue_builds() -> None:
    statements = next(m for m in MIGRATIONS if m.version == 2).statements
    assert RELEASED_SESSIONS_HOURLY_VIEW in statements
    built = "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.sessions_hourly_mv TO {db}.sessions_hourly AS "
    assert built + cat.sessions_hourly_select() == RELEASED_SESSIONS_HOURLY_VIEW
    assert "INSERT INTO {db}.sessions_hourly " + cat.sessions_hourly_select() in statements  # the backfill


def test_every_metric_the_api_accepts_has_one_definition() -> None:
    assert set(METRICS) == set(cat.METRICS)
    for metric in cat.METRICS.values():
        for part in metric.parts:
            assert part == cat.TOTAL or any(part in parts for parts in cat.PARTS.values()), part


def test_every_visit_dimension_has_its_column_in_the_catalogue() -> None:
    assert {d for d in cat.DIMENSIONS if d.startswith("visit:")} == VISIT_DIMENSIONS


@pytest.mark.parametrize("source", cat.SOURCES)
def test_a_source_is_asked_only_for_metrics_it_has_every_part_of(source: str) -> None:
    for name in cat.metrics_of(source):
        if name not in cat.SHARE_METRICS:
            assert set(cat.METRICS[name].parts) <= set(cat.PARTS[source])


def test_bounce_rate_is_one_formula_over_each_sources_parts() -> None:
    raw = cat.source_formula("bounce_rate", cat.RAW_SESSIONS, bounce_condition="1")
    hourly = cat.source_formula("bounce_rate", cat.SESSIONS_HOURLY)
    daily = cat.source_formula("bounce_rate", cat.DAILY_SESSIONS)
    assert (
        raw
        == "toUInt32(ifNotFinite(round(sumIf(is_bounce * sign, 1) / sumIf(sign, 1) * 100), 0)) AS bounce_rate"
    )
    assert (
        hourly == "toUInt32(ifNotFinite(round(sum(bounces_sum) / sum(visits_sum) * 100), 0)) AS bounce_rate"
    )
    assert daily == "toUInt32(ifNotFinite(round(bnc / vst * 100), 0)) AS bounce_rate"


def test_the_imported_slot_gives_parts_and_the_native_planner_never_asks_it() -> None:
    # Imported parts are merged with the native ones by stats.imported_sql, not planned.
    assert {"visitors", "visits", "bounce_rate", "visit_duration", "time_on_page"} <= cat.metrics_of(
        cat.IMPORTED
    )
    assert "scroll_depth" not in cat.metrics_of(cat.IMPORTED)
    assert cat.IMPORTED not in cat.SOURCES
    imported_bounces = cat.source_formula("bounce_rate", cat.IMPORTED)
    assert (
        imported_bounces
        == "toUInt32(ifNotFinite(round(sum(bounces) / sum(bounce_visits) * 100), 0)) AS bounce_rate"
    )


def test_engagement_metrics_come_only_from_engagement_events() -> None:
    assert {"time_on_page", "scroll_depth"} == planner.ENGAGEMENT_METRICS - set(cat.PART_METRICS)
