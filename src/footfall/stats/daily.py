"""Exact daily counts of sealed UTC days: what makes an unfiltered dashboard fast.

Why counts of days add up
-------------------------
A visitor id is a keyed hash with the salt of one UTC day (`footfall.ingest.identity`). A visit
keeps the id it started with (`footfall.ingest.sessions`), and a visit that starts on another
day gets another id (the previous day's salt only finds a visit still going after midnight).
Hence:

* Visits that start on different UTC days carry disjoint sets of ids, so the unique visitors of
  any set of visits is the sum, over their start days, of each day's unique visitors. The
  session figures of a sealed day (visitors, visits, bounces, duration, pageviews, events) are
  stored as plain numbers per property value in `daily_sessions`, and summed.
* An event carries the id of its own UTC day's salt (a visit keeps the id it started with,
  its events after midnight carry the new day's), so events of different UTC days carry
  disjoint ids too: `daily_events` holds each day's figures per page, event name and goal.

The same count keeps each day's figures per value of the filters a dashboard sets by clicking
a row (`catalogue.DAILY_FILTERS`: a source, a channel, a country, a device..., or a page) in
`daily_filtered_sessions` / `daily_filtered_events`: the figures of that day's visits (events)
with that value, so a query with one such filter (`is`, one value, case-sensitive) sums them
as an unfiltered one sums `daily_sessions`. A visit's source, country, device... are fixed at
its first event and carried by its events, so "the visits from Google" and "the events of
visits from Google" are the rows with that value. Under a page filter only the queries the
events table answers alone read them (visitors, pageviews, events per page, goal, time or visit
property); visits and bounce rates there need the visits that saw the page, read raw.

Whatever a range holds besides whole counted days (today, days not sealed yet, the edges of a
range in a site's time zone, days changed after they were counted) is read from the raw tables
within the same statement, with the same arithmetic, so the answer is exact whatever the mix:
distinct ids counted exactly (`uniqExact`), where queries the daily counts cannot answer use
`uniq`, Plausible's function, which estimates above 65,536 visitors per row.

Where each piece lives
----------------------
- `footfall.stats.daily_job`: the counting job (`count_day`, `refresh`, the `Refresher` thread
  of `footfall serve`); a day is counted once it has been over for `SEAL_AFTER`;
- `footfall.events.daily_marks`: which count of each day is current and which days are dirty (a
  write that lands later about an older day marks it; a dirty day is read from the raw tables
  until it is counted again);
- `footfall.stats.planner`: whether a query's shape can use the counts, and which days;
- `footfall.stats.daily_sql`: the statement that sums counted days and raw rows.

This module keeps their public names in one place for callers and tests.
"""

from __future__ import annotations

from footfall.events.daily_marks import (
    COMPUTED,
    DIRTY,
    DayState,
    day_states,
    forget_site,
    note_rows,
    note_written,
    unix,
)
from footfall.events.store import EventStore
from footfall.stats import daily_sql, planner
from footfall.stats.daily_job import SEAL_AFTER, Refresher, count_day, refresh, sealed_through
from footfall.stats.planner import goal_key
from footfall.stats.query import Query
from footfall.stats.sql import Compiled

__all__ = [
    "COMPUTED",
    "DIRTY",
    "SEAL_AFTER",
    "DayState",
    "Refresher",
    "compile_daily",
    "count_day",
    "day_states",
    "forget_site",
    "goal_key",
    "note_rows",
    "note_written",
    "refresh",
    "sealed_through",
    "unix",
]


def compile_daily(store: EventStore, query: Query) -> Compiled | None:
    """The query answered from daily counts plus raw rows, or None when it cannot be."""
    window = planner.daily_window(query)
    if window is None:
        return None
    plan = planner.plan(query, day_states(store, query.site.id, *window))
    return daily_sql.emit(plan) if plan.daily is not None else None
