"""The ClickHouse schema of the event store, as ordered, versioned migrations.

Each migration is a list of statements with `{db}` standing for the database.
They are applied in order and recorded in `{db}.schema_migrations`; the same
statements run on chDB and on a ClickHouse server.

`events` holds one row per pageview, custom event or engagement ping.
`sessions` holds one visit per `session_id`; it is a VersionedCollapsingMergeTree,
so every change to a visit is written as a cancelling row (sign = -1, the old
state) plus the new state (sign = +1), and queries aggregate with `sign` to be
exact before and after ClickHouse merges the parts.
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


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


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
)


def latest_version() -> int:
    return MIGRATIONS[-1].version
