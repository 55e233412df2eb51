"""Contract tests of the ClickHouse server connector (clickhouse-connect over HTTP).

With CLICKHOUSE_TEST_URL pointing at a ClickHouse server (e.g.
http://default:@127.0.0.1:8123/footfall_test) they run against it. Without it, as on the
development machines where no modern ClickHouse server can be installed, they run against
tests/clickhouse_standin.py: chDB (ClickHouse's engine) behind a test HTTP layer that speaks
the subset of ClickHouse's HTTP interface clickhouse-connect uses. That is NOT a ClickHouse
server: the SQL, parameters, settings and Native data are the engine's own, the transport is
the stand-in's (no sessions, no cluster, no replication).
"""

import os
import uuid
from datetime import datetime

import pytest

from footfall.events.schema import EVENTS_COLUMNS
from footfall.events.store import migrate_events, schema_version


@pytest.fixture
def server_store(clickhouse_base_url):
    from footfall.events.clickhouse_store import ClickHouseServerStore

    base = clickhouse_base_url
    store = ClickHouseServerStore(f"{base}/footfall_contract_{uuid.uuid4().hex[:8]}")
    migrate_events(store)
    yield store
    store.command("DROP DATABASE IF EXISTS {db}")
    store.close()


def test_same_migrations_insert_and_bound_query_as_chdb(server_store) -> None:
    assert schema_version(server_store) >= 1
    row = dict.fromkeys(EVENTS_COLUMNS, "")
    row.update(
        timestamp=datetime(2026, 11, 1, 12),
        site_id=1,
        user_id=2,
        session_id=3,
        name="pageview",
        pathname="/x",
        **{"meta.key": [], "meta.value": []},
        revenue_source_amount=None,
        revenue_reporting_amount=None,
        interactive=1,
        scroll_depth=0,
        engagement_time=0,
    )
    server_store.insert("events", EVENTS_COLUMNS, [tuple(row[c] for c in EVENTS_COLUMNS)] * 3)
    count = server_store.query(
        "SELECT count() FROM {db}.events WHERE pathname = {p:String}", {"p": "/x"}
    ).scalar()
    assert count == 3


def test_migrate_store_to_the_server_and_back_keeps_every_count(tmp_path, clickhouse_base_url) -> None:
    """footfall migrate-store: chDB + SQLite to this server (and SQLite metadata), and from the
    server back into a fresh data directory; the same SQL (system.parts signatures, DROP
    PARTITION ID, the progress table) runs on chDB in tests/ops/test_ops_migrate_store.py."""
    import subprocess
    import sys

    from tests.e2e.harness import FOOTFALL
    from tests.ops.test_ops_migrate_store import SEED, counts, summary

    base = clickhouse_base_url
    database = f"footfall_migrate_{uuid.uuid4().hex[:8]}"
    server_url = f"{base}/{database}"
    source = {**os.environ, "DATA_DIR": str(tmp_path / "source")}
    source.pop("CLICKHOUSE_DATABASE_URL", None)
    source.pop("DATABASE_URL", None)

    def footfall(env, *args):
        return subprocess.run([FOOTFALL, *args], env=env, capture_output=True, text=True, timeout=600)

    assert footfall(source, "migrate").returncode == 0
    seeded = subprocess.run([sys.executable, "-c", SEED, str(tmp_path / "source" / "events")], timeout=300)
    assert seeded.returncode == 0
    metadata = f"sqlite:///{tmp_path / 'server-meta.db'}"
    try:
        there = footfall(
            source, "migrate-store", "--to-clickhouse", server_url, "--to-database-url", metadata
        )
        assert there.returncode == 0, there.stderr
        assert counts(there.stdout)["events"] == (4000, 4000)
        again = footfall(
            source, "migrate-store", "--to-clickhouse", server_url, "--to-database-url", metadata
        )
        assert summary(again.stdout)["copied"] == 0
        on_server = {
            **source,
            "DATA_DIR": str(tmp_path / "server-app"),
            "CLICKHOUSE_DATABASE_URL": server_url,
            "DATABASE_URL": metadata,
        }
        back = footfall(on_server, "migrate-store", "--to-data-dir", str(tmp_path / "back"))
        assert back.returncode == 0, back.stderr
        assert counts(back.stdout)["events"] == (4000, 4000)
    finally:
        from footfall.events.clickhouse_store import ClickHouseServerStore

        cleanup = ClickHouseServerStore(server_url)
        cleanup.command("DROP DATABASE IF EXISTS {db}")
        cleanup.close()
