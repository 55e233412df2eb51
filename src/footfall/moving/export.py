"""A site's own data written in Plausible's CSV export layout, streamed into a ZIP archive.

The archive is `<domain with dots as underscores>_YYYYMMDD.zip` (the day it was made) of
`imported_<table>_YYYYMMDD_YYYYMMDD.csv` files (the range's first and last day), one per
table of `footfall.events.schema.IMPORTED_TABLES`, with Plausible's columns in Plausible's
order: Plausible imports it as it imports its own, and so does `footfall import`.

Rows are per local day in the site's time zone, counted as footfall's own queries count:
visits (and their visitors, sources, entry and exit pages, locations, devices) by the day they
started, pages and custom events by the day of the event. Visitor counts are each day's unique
visitors, so a range's visitors from imported rows are the sum of its days' (Plausible's rule;
footfall's visitor ids change every day, so for a site on UTC the sum is exact). Cities are
written as GeoNames ids (`footfall.moving.geonames`); a city the table lacks is written as 0.

The range is read a few days at a time, so a large one never sits in memory.
"""

from __future__ import annotations

import csv
import io
import os
import zipfile
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

from footfall.events.store import EventStore
from footfall.moving import geonames
from footfall.moving.plausible import csv_columns
from footfall.stats.query import local_midnight_utc

CHUNK_DAYS = 7
GOALS_WITH_URL = ("Outbound Link: Click", "Cloaked Link: Click", "File Download")
GOALS_WITH_PATH = ("404",)


def _literal(names: tuple[str, ...]) -> str:
    """A tuple of footfall's own constant names as SQL (no request value ever reaches it)."""
    return "(" + ", ".join("'" + name.replace("\\", "\\\\").replace("'", "\\'") + "'" for name in names) + ")"


# One row per visit in the chunk, its final state (the sessions table keeps every change of a
# visit as a cancelled row and a new one): what every visit-based table groups.
_VISITS = """
SELECT session_id, any(user_id) AS user_id, toDate(toTimeZone(any(start), {tz:String})) AS date,
    any(referrer_source) AS referrer_source, any(referrer) AS referrer,
    any(utm_source) AS utm_source, any(utm_medium) AS utm_medium, any(utm_campaign) AS utm_campaign,
    any(utm_content) AS utm_content, any(utm_term) AS utm_term,
    argMax(entry_page, version) AS entry_page, argMax(exit_page, version) AS exit_page,
    any(country_code) AS country_code, any(region) AS region, any(city) AS city,
    any(screen_size) AS screen_size, any(browser) AS browser, any(browser_version) AS browser_version,
    any(operating_system) AS operating_system, any(operating_system_version) AS operating_system_version,
    sum(sign * is_bounce) AS is_bounce, sum(sign * duration) AS duration, sum(sign * pageviews) AS pageviews
FROM {db}.sessions
WHERE site_id = {site:UInt64} AND start >= {start:DateTime('UTC')} AND start < {end:DateTime('UTC')}
GROUP BY session_id HAVING sum(sign) > 0
"""
_VISIT_METRICS = (
    "uniq(user_id) AS visitors, count() AS visits, sum(duration) AS visit_duration, "
    "sum(is_bounce) AS bounces, sum(pageviews) AS pageviews"
)
_EVENTS_WHERE = (
    "site_id = {site:UInt64} AND timestamp >= {start:DateTime('UTC')} AND timestamp < {end:DateTime('UTC')}"
)


def _by_visits(group: str, select: str, where: str = "") -> str:
    return f"SELECT date, {select} FROM ({_VISITS}) {where} GROUP BY date, {group} ORDER BY date, {group}"


QUERIES: dict[str, str] = {
    "imported_visitors": (
        "SELECT date, uniq(user_id) AS visitors, sum(pageviews) AS pageviews, sum(is_bounce) AS bounces, "
        f"count() AS visits, sum(duration) AS visit_duration FROM ({_VISITS}) GROUP BY date ORDER BY date"
    ),
    "imported_sources": _by_visits(
        "source, referrer, utm_source, utm_medium, utm_campaign, utm_content, utm_term",
        "referrer_source AS source, referrer, utm_source, utm_medium, utm_campaign, utm_content, utm_term, "
        "sum(pageviews) AS pageviews, uniq(user_id) AS visitors, count() AS visits, "
        "sum(duration) AS visit_duration, sum(is_bounce) AS bounces",
    ),
    "imported_pages": f"""
        SELECT p.date AS date, p.hostname AS hostname, p.page AS page, p.visits AS visits,
            p.visitors AS visitors, p.pageviews AS pageviews,
            ifNull(s.total_scroll_depth, 0) AS total_scroll_depth,
            ifNull(s.total_scroll_depth_visits, 0) AS total_scroll_depth_visits,
            ifNull(t.total_time_on_page, 0) AS total_time_on_page,
            ifNull(t.total_time_on_page_visits, 0) AS total_time_on_page_visits
        FROM (
            SELECT toDate(toTimeZone(timestamp, {{tz:String}})) AS date, pathname AS page,
                any(hostname) AS hostname, uniq(session_id) AS visits, uniq(user_id) AS visitors,
                count() AS pageviews
            FROM {{db}}.events WHERE {_EVENTS_WHERE} AND name = 'pageview' GROUP BY date, page
        ) AS p
        LEFT JOIN (
            SELECT date, page, sum(deepest) AS total_scroll_depth, count() AS total_scroll_depth_visits
            FROM (
                SELECT toDate(toTimeZone(timestamp, {{tz:String}})) AS date, pathname AS page, session_id,
                    max(scroll_depth) AS deepest
                FROM {{db}}.events
                WHERE {_EVENTS_WHERE} AND name = 'engagement' AND scroll_depth <= 100
                GROUP BY date, page, session_id
            ) GROUP BY date, page
        ) AS s ON s.date = p.date AND s.page = p.page
        LEFT JOIN (
            SELECT toDate(toTimeZone(timestamp, {{tz:String}})) AS date, pathname AS page,
                toUInt64(round(sum(engagement_time) / 1000)) AS total_time_on_page,
                uniq(session_id) AS total_time_on_page_visits
            FROM {{db}}.events WHERE {_EVENTS_WHERE} AND name = 'engagement' GROUP BY date, page
        ) AS t ON t.date = p.date AND t.page = p.page
        ORDER BY date, page
        SETTINGS join_use_nulls = 1
    """,
    "imported_entry_pages": _by_visits(
        "entry_page",
        "entry_page, uniq(user_id) AS visitors, count() AS entrances, sum(duration) AS visit_duration, "
        "sum(is_bounce) AS bounces, sum(pageviews) AS pageviews",
    ),
    "imported_exit_pages": _by_visits(
        "exit_page",
        "exit_page, uniq(user_id) AS visitors, sum(duration) AS visit_duration, count() AS exits, "
        "sum(is_bounce) AS bounces, sum(pageviews) AS pageviews",
    ),
    "imported_custom_events": f"""
        SELECT toDate(toTimeZone(timestamp, {{tz:String}})) AS date, name,
            if(name IN {_literal(GOALS_WITH_URL)}, `meta.value`[indexOf(`meta.key`, 'url')], '') AS link_url,
            if(name IN {_literal(GOALS_WITH_PATH)}, `meta.value`[indexOf(`meta.key`, 'path')], '') AS path,
            uniq(user_id) AS visitors, count() AS events
        FROM {{db}}.events WHERE {_EVENTS_WHERE} AND name NOT IN ('pageview', 'engagement')
        GROUP BY date, name, link_url, path ORDER BY date, name, link_url, path
    """,
    "imported_locations": _by_visits(
        "country_code, region, city",
        f"country_code AS country, region, city, {_VISIT_METRICS}",
        "WHERE country_code != ''",
    ),
    "imported_devices": _by_visits("screen_size", f"screen_size AS device, {_VISIT_METRICS}"),
    "imported_browsers": _by_visits(
        "browser, browser_version", f"browser, browser_version, {_VISIT_METRICS}"
    ),
    "imported_operating_systems": _by_visits(
        "operating_system, operating_system_version",
        f"operating_system, operating_system_version, {_VISIT_METRICS}",
    ),
}


def archive_name(domain: str, made_on: date) -> str:
    """Plausible's name for an export: `plausible_io_20241231.zip`."""
    return f"{domain.replace('.', '_')}_{made_on:%Y%m%d}.zip"


def file_name(table: str, first: date, last: date) -> str:
    return f"{table}_{first:%Y%m%d}_{last:%Y%m%d}.csv"


def data_range(store: EventStore, site_id: int, timezone: str) -> tuple[date, date] | None:
    """The first and last local day the site has events, or None without any."""
    row = store.query(
        "SELECT toDate(toTimeZone(min(timestamp), {tz:String})), "
        "toDate(toTimeZone(max(timestamp), {tz:String})), count() "
        "FROM {db}.events WHERE site_id = {site:UInt64}",
        {"site": site_id, "tz": timezone},
    ).rows[0]
    return (row[0], row[1]) if row[2] else None


def _chunks(first: date, last: date) -> Iterator[tuple[date, date]]:
    start = first
    while start <= last:
        end = min(start + timedelta(days=CHUNK_DAYS - 1), last)
        yield start, end
        start = end + timedelta(days=1)


def table_rows(
    store: EventStore, table: str, site_id: int, timezone: str, first: date, last: date
) -> Iterator[list[object]]:
    """The table's rows for the range, in Plausible's column order, a few days at a time."""
    for start, end in _chunks(first, last):
        params = {
            "site": site_id,
            "tz": timezone,
            "start": local_midnight_utc(start, timezone).strftime("%Y-%m-%d %H:%M:%S"),
            "end": local_midnight_utc(end + timedelta(days=1), timezone).strftime("%Y-%m-%d %H:%M:%S"),
        }
        result = store.query(QUERIES[table], params)
        position = {name: i for i, name in enumerate(result.columns)}
        for row in result.rows:
            if table == "imported_locations":
                row = (
                    *row[: position["city"]],
                    geonames.city_id(row[position["country"]], row[position["city"]]),
                    *row[position["city"] + 1 :],
                )
            yield [_text(row[position[column]]) for column in csv_columns(table)]


def _text(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value


def write_export(
    store: EventStore,
    site_id: int,
    timezone: str,
    first: date,
    last: date,
    out: Path,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, int]:
    """Write the archive to `out` (through a temporary file beside it, renamed when complete);
    returns the rows written per file."""
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    written: dict[str, int] = {}
    tables = list(QUERIES)
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for done, table in enumerate(tables):
                name = file_name(table, first, last)
                with archive.open(name, "w", force_zip64=True) as entry:
                    text = io.TextIOWrapper(entry, encoding="utf-8", newline="")
                    writer = csv.writer(text, lineterminator="\n")
                    writer.writerow(csv_columns(table))
                    count = 0
                    for row in table_rows(store, table, site_id, timezone, first, last):
                        writer.writerow(row)
                        count += 1
                    text.flush()
                    text.detach()
                written[name] = count
                if progress is not None:
                    progress(done + 1, len(tables))
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return written
