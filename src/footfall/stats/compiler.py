"""Compiling a query: plan it (`footfall.stats.planner`), then emit one SQL statement from the
plan (`footfall.stats.sql` for the raw tables and hourly rollups, `footfall.stats.daily_sql` for
the daily counts). Nothing here reads a database: the caller passes the daily marks in.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from footfall.events.daily_marks import DayState
from footfall.stats import daily_sql, planner, sql
from footfall.stats.query import Query
from footfall.stats.sql import Compiled


def compile_plan(plan: planner.Plan) -> Compiled:
    return daily_sql.emit(plan) if plan.daily is not None else sql.emit(plan)


def compile_query(
    query: Query,
    rollups: bool = True,
    day_states: Mapping[tuple[date, str], DayState] | None = None,
) -> Compiled:
    """`query` as one statement. `rollups=False` reads only the raw tables (tests compare the
    answers); `day_states` (from `daily_marks.day_states` over `planner.daily_window(query)`)
    lets the plan read counted days."""
    return compile_plan(planner.plan(query, day_states or {}, rollups))
