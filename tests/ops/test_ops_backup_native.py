"""The logical backup (`footfall backup create --format native`): Native files per partition,
on embedded chDB and on a ClickHouse server store. The server here is
tests/clickhouse_standin.py unless CLICKHOUSE_TEST_URL names a real one: chDB behind a test
HTTP layer, NOT a ClickHouse server (see that file for what it speaks)."""

from __future__ import annotations

import json
import shutil
import threading
import uuid
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import FootfallServer
from tests.ops.test_ops_backup import answers, cli, created_path, damage_two_and_verify, manifest, post

pytestmark = pytest.mark.slow


def stream_during(server: FootfallServer, domain: str, action, first_visitor: int = 1000):
    """Posts to `domain` in a thread while `action()` runs (at least 50 before it starts);
    returns (what action returned, posts before it started, posts in all)."""
    stop = threading.Event()
    streamed = {"total": 0}

    def stream() -> None:
        with httpx.Client(timeout=30) as client:
            visitor = first_visitor
            while not stop.is_set() and visitor < first_visitor + 5000:
                assert post(server, domain, "/live", visitor, client) == 202
                streamed["total"] += 1
                visitor += 1

    poster = threading.Thread(target=stream)
    poster.start()
    try:
        while streamed["total"] < 50 and poster.is_alive():
            stop.wait(0.05)
        before = streamed["total"]
        result = action()
    finally:
        stop.set()
        poster.join(30)
    return result, before, streamed["total"]


def populate(server: FootfallServer, *, demo: bool) -> str:
    """A user, a stats API key, sites `steady.example` (60 pageviews) and `stream.example`
    (and, with `demo`, 40 days of a demo site, so that the store has earlier months)."""
    made = cli(server, "user", "create", "--email", "o@example.com", "--password", "a long password")
    assert made.returncode == 0, made.stderr
    for domain in ("steady.example", "stream.example"):
        assert cli(server, "site", "create", domain, "--owner", "o@example.com").returncode == 0
    key = cli(server, "apikey", "create", "--email", "o@example.com", "--scope", "stats").stdout.strip()
    if demo:
        generated = cli(
            server,
            "demo",
            "--domain",
            "demo.example",
            "--owner",
            "o@example.com",
            "--events",
            "2000",
            "--days",
            "40",
        )
        assert generated.returncode == 0, generated.stderr
    with httpx.Client(timeout=30) as client:
        for visitor in range(60):
            assert post(server, "steady.example", f"/p{visitor % 7}", visitor, client) == 202
    return key


def live_pageviews(server: FootfallServer, key: str) -> int:
    return httpx.get(
        f"{server.url}/api/v1/stats/aggregate",
        params={"site_id": "stream.example", "period": "day", "metrics": "pageviews"},
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    ).json()["results"]["pageviews"]["value"]


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    root = tmp_path_factory.mktemp("native")
    server = FootfallServer(root / "source", env={"LOG_LEVEL": "info"})
    server.start()
    key = populate(server, demo=True)
    yield server, key, root
    server.stop()


def test_native_backup_while_posts_stream_restores_identical_stats_and_incremental_skips_unchanged(
    embedded,
) -> None:
    server, key, root = embedded
    backups = root / "backups"
    first, before_posts, all_posts = stream_during(
        server,
        "stream.example",
        lambda: cli(server, "backup", "create", "--to", str(backups), "--format", "native"),
    )
    full = created_path(first)
    assert "full (Native files)" in first.stdout
    described = manifest(full)
    events = described["events"]
    assert events["format"] == "native" and described["kind"] == "full"
    assert events["schema_version"] >= 1 and described["metadata"]["revision"]
    assert events["time_range"]["first"] <= events["time_range"]["last"]
    # Every partition is a file, listed with its size and checksum; rows add up per table.
    for table, parts in events["partitions"].items():
        for partition, entry in parts.items():
            assert entry["file"] == f"events/{table}/{partition}.native.zst" and entry["in"] is None
            assert described["files"][entry["file"]]["size"] > 0
        assert sum(e["rows"] for e in parts.values()) == events["tables"][table]
    assert len(events["partitions"]["events"]) >= 2  # the demo's 40 days: more than one month
    in_backup = events["tables"]["events"]
    before = answers(server, key, "steady.example")
    demo_before = answers(server, key, "demo.example")

    restored = FootfallServer(root / "restored", env={"LOG_LEVEL": "info"})
    done = cli(restored, "backup", "restore", str(full))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"restored {full.name}: {in_backup} events, ")
    restored.start()
    try:
        assert answers(restored, key, "steady.example") == before
        assert answers(restored, key, "demo.example") == demo_before
        # Everything acknowledged before the backup began is in it; what came during may be.
        assert before_posts <= live_pageviews(restored, key) <= all_posts
    finally:
        restored.stop()

    # More posts this month: the incremental holds this month's partitions, not the earlier ones.
    with httpx.Client(timeout=30) as client:
        for visitor in range(60, 90):
            assert post(server, "steady.example", "/later", visitor, client) == 202
    second = cli(server, "backup", "create", "--to", str(backups), "--format", "native")
    incremental = created_path(second)
    later_manifest = manifest(incremental)
    assert later_manifest["kind"] == "incremental" and later_manifest["base"] == full.name
    months = sorted(later_manifest["events"]["partitions"]["events"])
    for month in months[:-1]:
        entry = later_manifest["events"]["partitions"]["events"][month]
        assert entry["in"] == full.name and entry["file"] not in later_manifest["files"]
    newest = later_manifest["events"]["partitions"]["events"][months[-1]]
    assert newest["in"] is None and newest["file"] in later_manifest["files"]
    assert later_manifest["size_bytes"] < described["size_bytes"]
    later = answers(server, key, "steady.example")
    assert later != before

    ok = cli(server, "backup", "verify", str(incremental))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.startswith(f"{incremental}: ok: ") and f"incremental on {full.name}" in ok.stdout

    # A directory of backups: the latest, its partitions taken from both; moved, it still works.
    moved = root / "elsewhere"
    shutil.copytree(backups, moved)
    again = FootfallServer(root / "restored-later", env={"LOG_LEVEL": "info"})
    assert cli(again, "backup", "restore", str(moved)).returncode == 0
    again.start()
    try:
        assert answers(again, key, "steady.example") == later
        assert answers(again, key, "demo.example") == demo_before
    finally:
        again.stop()


def test_verify_of_a_native_backup_names_a_truncated_and_an_altered_file_and_exits_1(embedded) -> None:
    server, _key, root = embedded
    made = created_path(
        cli(server, "backup", "create", "--to", str(root / "to-damage"), "--format", "native")
    )
    damaged = root / "damaged" / made.name
    shutil.copytree(made, damaged)
    damage_two_and_verify(server, made, damaged, lambda name: name.endswith(".native.zst"))
    refused = cli(
        FootfallServer(root / "never", env={"LOG_LEVEL": "info"}), "backup", "restore", str(damaged)
    )
    assert refused.returncode == 1 and "footfall: error: the backup is damaged: " in refused.stderr

    # A file that matches its checksum but not its rows (a manifest edited to agree): the
    # scratch restore counts each partition and names the one that differs.
    edited = root / "edited" / made.name
    shutil.copytree(made, edited)
    described = manifest(edited)
    month = sorted(described["events"]["partitions"]["events"])[-1]
    described["events"]["partitions"]["events"][month]["rows"] += 1
    described["events"]["tables"]["events"] += 1
    (edited / "manifest.json").write_text(json.dumps(described))
    wrong = cli(server, "backup", "verify", str(edited))
    assert wrong.returncode == 1
    assert f"events.events partition {month}: " in wrong.stdout and "the manifest says" in wrong.stdout


def test_an_unknown_format_is_refused(embedded) -> None:
    server, _key, root = embedded
    result = cli(server, "backup", "create", "--to", str(root / "x"), "--format", "parquet")
    assert result.returncode == 2 and "Invalid value for '--format'" in result.stderr


# -- a ClickHouse server store (the stand-in unless CLICKHOUSE_TEST_URL is set) ------------


def on_server(root: Path, base_url: str, name: str) -> FootfallServer:
    database = f"footfall_{name.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
    return FootfallServer(
        root / name, env={"LOG_LEVEL": "info", "CLICKHOUSE_DATABASE_URL": f"{base_url}/{database}"}
    )


def test_a_server_store_is_backed_up_as_native_files_verified_on_chdb_and_restored_into_chdb_and_a_server(
    tmp_path, clickhouse_base_url, embedded
) -> None:
    server = on_server(tmp_path, clickhouse_base_url, "server-source")
    server.start()
    try:
        key = populate(server, demo=False)
        backups = tmp_path / "backups"
        first, before_posts, all_posts = stream_during(
            server, "stream.example", lambda: cli(server, "backup", "create", "--to", str(backups))
        )
        made = created_path(first)
        assert "full (Native files)" in first.stdout  # the default with a ClickHouse server
        described = manifest(made)
        assert described["events"]["format"] == "native" and described["events"]["backend"] == "clickhouse"
        in_backup = described["events"]["tables"]["events"]
        assert 60 + before_posts <= in_backup <= 60 + all_posts
        before = answers(server, key, "steady.example")

        refused = cli(server, "backup", "create", "--to", str(backups), "--format", "clickhouse")
        assert refused.returncode == 1
        assert (
            refused.stderr.strip()
            .splitlines()[-1]
            .startswith(
                "footfall: error: backup create --format clickhouse: with events on a ClickHouse server"
            )
        )
        ok = cli(server, "backup", "verify", str(made))  # restored into a scratch chDB store
        assert ok.returncode == 0, ok.stdout + ok.stderr
    finally:
        server.stop()

    into_chdb = FootfallServer(tmp_path / "into-chdb", env={"LOG_LEVEL": "info"})
    done = cli(into_chdb, "backup", "restore", str(made))
    assert done.returncode == 0, done.stderr
    into_chdb.start()
    try:
        assert answers(into_chdb, key, "steady.example") == before
        assert live_pageviews(into_chdb, key) == in_backup - 60
    finally:
        into_chdb.stop()

    into_server = on_server(tmp_path, clickhouse_base_url, "into-server")
    into_server.start()
    try:
        done = cli(into_server, "backup", "restore", str(made))  # through the running server
        assert done.returncode == 0, done.stderr
        assert "through the running server" in done.stderr.splitlines()[0]
        assert answers(into_server, key, "steady.example") == before
        assert live_pageviews(into_server, key) == in_backup - 60
        again = cli(into_server, "backup", "restore", str(made))
        assert again.returncode == 1 and "restore goes into an empty instance" in again.stderr

        # A backup of the embedded store by ClickHouse's BACKUP cannot go into a server.
        embedded_server, _key, root = embedded
        clickhouse_form = created_path(
            cli(embedded_server, "backup", "create", "--to", str(root / "ch-form"), "--full")
        )
        other = on_server(tmp_path, clickhouse_base_url, "never")
        refused = cli(other, "backup", "restore", str(clickhouse_form))
        assert refused.returncode == 1
        assert (
            f"footfall: error: {clickhouse_form.name} holds its events as a ClickHouse BACKUP"
            in refused.stderr
        )
    finally:
        into_server.stop()
