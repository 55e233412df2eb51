"""The ClickHouse schema of the event store, as ordered, versioned migrations.

Each migration is a list of statements with `{db}` standing for the database.
They are applied in order and recorded in `{db}.schema_migrations`; the same
statements run on chDB and on a ClickHouse server.

`events` holds one row per pageview, custom event or engagement ping.
`sessions` holds one visit per `session_id`; it is a VersionedCollapsingMergeTree,
so every change to a visit is written as a cancelling row (sign = -1, the old
state) plus the new state (sign = +1), and queries aggregate with `sign` to be
exact before and after ClickHouse merges the parts.

`sessions_hourly`, `events_hourly` and `visitors_hourly` are hourly rollups that materialized views fill
from every insert into `sessions` and `events` (nothing writes them directly). They hold
`uniqState(user_id)` and sign-weighted sums, so merging them gives exactly the numbers a
query over the raw rows gives; the stats compiler reads them only for queries they can
answer (see `footfall.stats.sql`).

`daily_sessions` and `daily_events` hold exact figures of sealed UTC days, written by a
background job rather than a view, and `daily_marks` says which count of each day is current
(see `footfall.stats.daily`). `daily_filtered_sessions` and `daily_filtered_events` hold the
same figures per value of the filters a dashboard sets most (a source, a country, a page...),
written by the same count.

The `imported_*` tables hold statistics brought in from another tool's export (Plausible's
CSV files, Google Analytics 4 reports; see `footfall.moving`): one row per day and value, in
Plausible's own columns, each row tagged with the `import_id` of the import that brought it
(an id of the metadata store's `site_imports`), so deleting an import removes exactly its
rows. They are never mixed into the native tables: queries sum the two where a metric allows.
"""

from __future__ import annotations

from dataclasses import dataclass

EVENTS_COLUMNS: tuple[str, ...] = (
    "timestamp",
    "site_id",
    "user_id",
    "session_id",
    "name",
    "hostname",
    "pathname",
    "referrer",
    "referrer_source",
    "channel",
    "utm_medium",
    "utm_source",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "country_code",
    "region",
    "city",
    "screen_size",
    "browser",
    "browser_version",
    "operating_system",
    "operating_system_version",
    "meta.key",
    "meta.value",
    "revenue_source_amount",
    "revenue_source_currency",
    "revenue_reporting_amount",
    "revenue_reporting_currency",
    "interactive",
    "scroll_depth",
    "engagement_time",
)

SESSIONS_COLUMNS: tuple[str, ...] = (
    "session_id",
    "sign",
    "version",
    "site_id",
    "user_id",
    "hostname",
    "start",
    "timestamp",
    "entry_page",
    "exit_page",
    "exit_page_hostname",
    "pageviews",
    "events",
    "duration",
    "is_bounce",
    "referrer",
    "referrer_source",
    "channel",
    "utm_medium",
    "utm_source",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "country_code",
    "region",
    "city",
    "screen_size",
    "browser",
    "browser_version",
    "operating_system",
    "operating_system_version",
    "entry_meta.key",
    "entry_meta.value",
)


# The imported tables, in Plausible's CSV layout: table -> ((column, ClickHouse type), ...), the
# CSV columns in Plausible's order. `date` is the local date in the site's time zone. Every
# table also has `site_id` and `import_id` first (not in the CSV files); columns marked in
# IMPORTED_DERIVED_COLUMNS are footfall's, worked out on import and never written to a file.
IMPORTED_TABLES: dict[str, tuple[tuple[str, str], ...]] = {
    "imported_visitors": (
        ("date", "Date"),
        ("visitors", "UInt64"),
        ("pageviews", "UInt64"),
        ("bounces", "UInt64"),
        ("visits", "UInt64"),
        ("visit_duration", "UInt64"),
    ),
    "imported_sources": (
        ("date", "Date"),
        ("source", "String"),
        ("referrer", "String"),
        ("utm_source", "String"),
        ("utm_medium", "String"),
        ("utm_campaign", "String"),
        ("utm_content", "String"),
        ("utm_term", "String"),
        ("pageviews", "UInt64"),
        ("visitors", "UInt64"),
        ("visits", "UInt64"),
        ("visit_duration", "UInt64"),
        ("bounces", "UInt64"),
        ("channel", "LowCardinality(String)"),
    ),
    "imported_pages": (
        ("date", "Date"),
        ("hostname", "String"),
        ("page", "String"),
        ("visits", "UInt64"),
        ("visitors", "UInt64"),
        ("pageviews", "UInt64"),
        ("total_scroll_depth", "UInt64"),
        ("total_scroll_depth_visits", "UInt64"),
        ("total_time_on_page", "UInt64"),
        ("total_time_on_page_visits", "UInt64"),
    ),
    "imported_entry_pages": (
        ("date", "Date"),
        ("entry_page", "String"),
        ("visitors", "UInt64"),
        ("entrances", "UInt64"),
        ("visit_duration", "UInt64"),
        ("bounces", "UInt64"),
        ("pageviews", "UInt64"),
    ),
    "imported_exit_pages": (
        ("date", "Date"),
        ("exit_page", "String"),
        ("visitors", "UInt64"),
        ("visit_duration", "UInt64"),
        ("exits", "UInt64"),
        ("bounces", "UInt64"),
        ("pageviews", "UInt64"),
    ),
    "imported_custom_events": (
        ("date", "Date"),
        ("name", "String"),
        ("link_url", "String"),
        ("path", "String"),
        ("visitors", "UInt64"),
        ("events", "UInt64"),
    ),
    "imported_locations": (
        ("date", "Date"),
        ("country", "LowCardinality(String)"),
        ("region", "LowCardinality(String)"),
        ("city", "UInt32"),
        ("visitors", "UInt64"),
        ("visits", "UInt64"),
        ("visit_duration", "UInt64"),
        ("bounces", "UInt64"),
        ("pageviews", "UInt64"),
        ("city_name", "String"),
    ),
    "imported_devices": (
        ("date", "Date"),
        ("device", "LowCardinality(String)"),
        ("visitors", "UInt64"),
        ("visits", "UInt64"),
        ("visit_duration", "UInt64"),
        ("bounces", "UInt64"),
        ("pageviews", "UInt64"),
    ),
    "imported_browsers": (
        ("date", "Date"),
        ("browser", "LowCardinality(String)"),
        ("browser_version", "LowCardinality(String)"),
        ("visitors", "UInt64"),
        ("visits", "UInt64"),
        ("visit_duration", "UInt64"),
        ("bounces", "UInt64"),
        ("pageviews", "UInt64"),
    ),
    "imported_operating_systems": (
        ("date", "Date"),
        ("operating_system", "LowCardinality(String)"),
        ("operating_system_version", "LowCardinality(String)"),
        ("visitors", "UInt64"),
        ("visits", "UInt64"),
        ("visit_duration", "UInt64"),
        ("bounces", "UInt64"),
        ("pageviews", "UInt64"),
    ),
}
# footfall's own columns of the imported tables: `channel` (from source and UTM medium, as
# ingestion decides it) and `city_name` (the GeoNames id's English name, as native rows keep
# cities by name).
IMPORTED_DERIVED_COLUMNS = frozenset({("imported_sources", "channel"), ("imported_locations", "city_name")})


def _imported_table_ddl(table: str) -> str:
    columns = ",\n".join(f"    {name} {kind}" for name, kind in IMPORTED_TABLES[table])
    return (
        f"CREATE TABLE IF NOT EXISTS {{db}}.{table} (\n    site_id UInt64,\n    import_id UInt64,\n"
        f"{columns}\n)\nENGINE = MergeTree\nORDER BY (site_id, import_id, date)"
    )


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


# The session properties `sessions_hourly` is keyed by (dimension name in the Stats API, column)
# and the sums it keeps, as migration 2 released them: a released migration never changes. The
# metric catalogue (footfall.stats.catalogue) describes the same rollup to the read path and
# builds this very text from its own definitions (`catalogue.sessions_hourly_select`), which
# tests/stats/test_catalogue.py checks, so the schema needs nothing of the read path.
_SESSIONS_HOURLY_SELECT = (
    "SELECT site_id, dimension_value.1 AS dimension, dimension_value.2 AS value, "
    "toStartOfHour(start) AS hour, uniqState(user_id) AS visitors_state, sum(sign) AS visits_sum, "
    "sum(sign * is_bounce) AS bounces_sum, "
    "sum(sign * duration) AS duration_sum, sum(sign * pageviews) AS pageviews_sum, "
    "sum(sign * events) AS events_sum FROM {db}.sessions ARRAY JOIN [tuple('visit:source', referrer_source), "
    "tuple('visit:referrer', referrer), tuple('visit:entry_page', entry_page), "
    "tuple('visit:utm_source', utm_source), tuple('visit:utm_medium', utm_medium), "
    "tuple('visit:utm_campaign', utm_campaign)] AS dimension_value GROUP BY site_id, dimension, value, hour"
)
_EVENTS_HOURLY_SELECT = (
    "SELECT site_id, toStartOfHour(timestamp) AS hour, name, pathname, "
    "uniqState(user_id) AS visitors_state, count() AS events_count "
    "FROM {db}.events GROUP BY site_id, hour, name, pathname"
)
_VISITORS_HOURLY_SELECT = (
    "SELECT site_id, toStartOfHour(timestamp) AS hour, uniqState(user_id) AS visitors_state "
    "FROM {db}.events WHERE name != 'engagement' GROUP BY site_id, hour"
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "events and sessions tables",
        (
            """
            CREATE TABLE IF NOT EXISTS {db}.events (
                timestamp DateTime('UTC') CODEC(Delta, ZSTD),
                site_id UInt64,
                user_id UInt64,
                session_id UInt64,
                name LowCardinality(String),
                hostname String,
                pathname String,
                referrer String,
                referrer_source String,
                channel LowCardinality(String),
                utm_medium String,
                utm_source String,
                utm_campaign String,
                utm_content String,
                utm_term String,
                country_code LowCardinality(String),
                region LowCardinality(String),
                city String,
                screen_size LowCardinality(String),
                browser LowCardinality(String),
                browser_version LowCardinality(String),
                operating_system LowCardinality(String),
                operating_system_version LowCardinality(String),
                `meta.key` Array(String),
                `meta.value` Array(String),
                revenue_source_amount Nullable(Decimal(18, 3)),
                revenue_source_currency LowCardinality(String),
                revenue_reporting_amount Nullable(Decimal(18, 3)),
                revenue_reporting_currency LowCardinality(String),
                interactive UInt8 DEFAULT 1,
                scroll_depth UInt8,
                engagement_time UInt32
            )
            ENGINE = MergeTree
            PARTITION BY toYYYYMM(timestamp)
            ORDER BY (site_id, toDate(timestamp), name, user_id, timestamp)
            SETTINGS index_granularity = 8192
            """,
            """
            CREATE TABLE IF NOT EXISTS {db}.sessions (
                session_id UInt64,
                sign Int8,
                version UInt64,
                site_id UInt64,
                user_id UInt64,
                hostname String,
                start DateTime('UTC') CODEC(Delta, ZSTD),
                timestamp DateTime('UTC') CODEC(Delta, ZSTD),
                entry_page String,
                exit_page String,
                exit_page_hostname String,
                pageviews Int32,
                events Int32,
                duration UInt32,
                is_bounce UInt8,
                referrer String,
                referrer_source String,
                channel LowCardinality(String),
                utm_medium String,
                utm_source String,
                utm_campaign String,
                utm_content String,
                utm_term String,
                country_code LowCardinality(String),
                region LowCardinality(String),
                city String,
                screen_size LowCardinality(String),
                browser LowCardinality(String),
                browser_version LowCardinality(String),
                operating_system LowCardinality(String),
                operating_system_version LowCardinality(String),
                `entry_meta.key` Array(String),
                `entry_meta.value` Array(String)
            )
            ENGINE = VersionedCollapsingMergeTree(sign, version)
            PARTITION BY toYYYYMM(start)
            ORDER BY (site_id, toDate(start), user_id, session_id)
            SETTINGS index_granularity = 8192
            """,
        ),
    ),
    Migration(
        2,
        "hourly rollups of sessions and events, filled by materialized views and backfilled",
        (
            # Ordered by group, then hour: a breakdown merges each group's states in one run.
            """
            CREATE TABLE IF NOT EXISTS {db}.sessions_hourly (
                site_id UInt64,
                dimension LowCardinality(String),
                value String,
                hour DateTime('UTC'),
                visitors_state AggregateFunction(uniq, UInt64),
                visits_sum SimpleAggregateFunction(sum, Int64),
                bounces_sum SimpleAggregateFunction(sum, Int64),
                duration_sum SimpleAggregateFunction(sum, Int64),
                pageviews_sum SimpleAggregateFunction(sum, Int64),
                events_sum SimpleAggregateFunction(sum, Int64)
            )
            ENGINE = AggregatingMergeTree
            PARTITION BY toYYYYMM(hour)
            ORDER BY (site_id, dimension, value, hour)
            """,
            """
            CREATE TABLE IF NOT EXISTS {db}.events_hourly (
                site_id UInt64,
                hour DateTime('UTC'),
                name LowCardinality(String),
                pathname String,
                visitors_state AggregateFunction(uniq, UInt64),
                events_count SimpleAggregateFunction(sum, UInt64)
            )
            ENGINE = AggregatingMergeTree
            PARTITION BY toYYYYMM(hour)
            ORDER BY (site_id, name, pathname, hour)
            """,
            # Migrations run before footfall serves, so no insert races the backfill below:
            # every row reaches the rollups once, through the view or through the backfill
            # (emptied first, so a migration interrupted half-way can run again).
            "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.sessions_hourly_mv TO {db}.sessions_hourly AS "
            + _SESSIONS_HOURLY_SELECT,
            "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.events_hourly_mv TO {db}.events_hourly AS "
            + _EVENTS_HOURLY_SELECT,
            "TRUNCATE TABLE {db}.sessions_hourly",
            "TRUNCATE TABLE {db}.events_hourly",
            "INSERT INTO {db}.sessions_hourly " + _SESSIONS_HOURLY_SELECT,
            "INSERT INTO {db}.events_hourly " + _EVENTS_HOURLY_SELECT,
        ),
    ),
    Migration(
        3,
        "hourly visitors of each site (the denominator of conversion rates), filled by a view",
        (
            """
            CREATE TABLE IF NOT EXISTS {db}.visitors_hourly (
                site_id UInt64,
                hour DateTime('UTC'),
                visitors_state AggregateFunction(uniq, UInt64)
            )
            ENGINE = AggregatingMergeTree
            PARTITION BY toYYYYMM(hour)
            ORDER BY (site_id, hour)
            """,
            "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.visitors_hourly_mv TO {db}.visitors_hourly AS "
            + _VISITORS_HOURLY_SELECT,
            "TRUNCATE TABLE {db}.visitors_hourly",
            "INSERT INTO {db}.visitors_hourly " + _VISITORS_HOURLY_SELECT,
        ),
    ),
    Migration(
        4,
        "exact daily counts of sealed UTC days (see footfall.stats.daily), written by a background job",
        (
            """
            CREATE TABLE IF NOT EXISTS {db}.daily_sessions (
                site_id UInt64,
                day Date,
                generation UInt64,
                kind LowCardinality(String),
                value String,
                visitors UInt64,
                visits Int64,
                bounces Int64,
                duration Int64,
                pageviews Int64,
                events Int64
            )
            ENGINE = MergeTree
            ORDER BY (site_id, kind, day, generation, value)
            """,
            """
            CREATE TABLE IF NOT EXISTS {db}.daily_events (
                site_id UInt64,
                day Date,
                generation UInt64,
                kind LowCardinality(String),
                value String,
                visitors UInt64,
                pageviews UInt64,
                events UInt64
            )
            ENGINE = MergeTree
            ORDER BY (site_id, kind, day, generation, value)
            """,
            """
            CREATE TABLE IF NOT EXISTS {db}.daily_marks (
                site_id UInt64,
                day Date,
                part LowCardinality(String),
                state UInt8,
                generation UInt64,
                goals Array(String),
                at DateTime64(6, 'UTC')
            )
            ENGINE = MergeTree
            ORDER BY (site_id, day, part, at)
            """,
        ),
    ),
    Migration(
        5,
        "imported statistics (Plausible's CSV tables), one row per day and value, tagged by import",
        tuple(_imported_table_ddl(table) for table in IMPORTED_TABLES),
    ),
    Migration(
        6,
        "exact daily counts of sealed UTC days per value of a filter (see footfall.stats.daily)",
        (
            # One row per (filter, filter value, kind, value) of a counted day: the figures of
            # the visits (events) whose `filter` property is `fvalue`. Ordered by filter value
            # first: a filtered dashboard reads one value's rows of one kind.
            """
            CREATE TABLE IF NOT EXISTS {db}.daily_filtered_sessions (
                site_id UInt64,
                day Date,
                generation UInt64,
                filter LowCardinality(String),
                fvalue String,
                kind LowCardinality(String),
                value String,
                visitors UInt64,
                visits Int64,
                bounces Int64,
                duration Int64,
                pageviews Int64,
                events Int64
            )
            ENGINE = MergeTree
            ORDER BY (site_id, filter, fvalue, kind, day, generation, value)
            """,
            """
            CREATE TABLE IF NOT EXISTS {db}.daily_filtered_events (
                site_id UInt64,
                day Date,
                generation UInt64,
                filter LowCardinality(String),
                fvalue String,
                kind LowCardinality(String),
                value String,
                visitors UInt64,
                pageviews UInt64,
                events UInt64
            )
            ENGINE = MergeTree
            ORDER BY (site_id, filter, fvalue, kind, day, generation, value)
            """,
        ),
    ),
    Migration(
        7,
        "events ordered by page within each day and name: a page filter reads that page's rows",
        (
            # A sorting key cannot be changed in place, so the rows are copied into a table
            # with the new key, which then takes the name `events` (EXCHANGE is atomic). Safe to
            # run again from the start after an interruption: before the exchange `events_v7`
            # holds a partial copy, after it the old rows, and `events` always holds them all.
            # The views that read `events` are made again around it (nothing inserts while
            # migrations run), with the texts the earlier migrations released.
            "DROP TABLE IF EXISTS {db}.events_v7",
            "DROP VIEW IF EXISTS {db}.events_hourly_mv",
            "DROP VIEW IF EXISTS {db}.visitors_hourly_mv",
            "CREATE TABLE {db}.events_v7 AS {db}.events ENGINE = MergeTree PARTITION BY toYYYYMM(timestamp) "
            "ORDER BY (site_id, toDate(timestamp), name, pathname, user_id, timestamp) "
            "SETTINGS index_granularity = 8192",
            "INSERT INTO {db}.events_v7 SELECT * FROM {db}.events",
            "EXCHANGE TABLES {db}.events AND {db}.events_v7",
            "DROP TABLE {db}.events_v7",
            "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.events_hourly_mv TO {db}.events_hourly AS "
            + _EVENTS_HOURLY_SELECT,
            "CREATE MATERIALIZED VIEW IF NOT EXISTS {db}.visitors_hourly_mv TO {db}.visitors_hourly AS "
            + _VISITORS_HOURLY_SELECT,
        ),
    ),
)


def latest_version() -> int:
    return MIGRATIONS[-1].version
