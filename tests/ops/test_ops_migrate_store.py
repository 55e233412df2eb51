"""footfall migrate-store: chDB + SQLite to PostgreSQL and another chDB path (and back), killed
mid-copy and resumed, and through the admin channel of a server taking posts."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import FOOTFALL, FootfallServer
from tests.ops.test_ops_backup import cli, post

pytestmark = pytest.mark.slow

# Four months of history written straight into a stopped instance's event store (the Events
# API stamps events with the time they arrive): events, the sessions they make, and through
# the materialized views the hourly rollups, so every partitioned table has several months.
SEED = """
import sys
from pathlib import Path
from footfall.events.chdb_store import ChdbStore
from footfall.events.store import migrate_events
store = ChdbStore(Path(sys.argv[1]))
migrate_events(store)
# Visit v starts v * 37 % 2900 hours ago; its visitor id is its own (a visitor id lives one UTC
# day, as footfall's daily salts make it); event n belongs to visit n % 1400, minutes after its start.
start = "toStartOfHour(now()) - toIntervalHour({v} * 37 % 2900)"
store.command(
    "INSERT INTO {db}.events (timestamp, site_id, user_id, session_id, name, hostname, pathname, "
    "referrer_source, channel, country_code, browser, operating_system, `meta.key`, `meta.value`) "
    f"SELECT {start.format(v='(number % 1400)')} + toIntervalMinute(intDiv(number, 1400)), 1, "
    "number % 1400, number % 1400, "
    "if(number % 10 = 0, 'Signup', 'pageview'), 'seed.example', concat('/p', toString(number % 9)), "
    "['Google', 'Direct / None', 'news.example'][number % 3 + 1], 'Organic Search', "
    "['DE', 'GB', 'FR'][number % 3 + 1], 'Chrome', 'Mac', [], [] FROM numbers(4000)"
)
store.command(
    "INSERT INTO {db}.sessions (session_id, sign, version, site_id, user_id, hostname, start, "
    "timestamp, entry_page, exit_page, pageviews, events, duration, is_bounce, referrer_source, "
    "country_code, browser, operating_system, `entry_meta.key`, `entry_meta.value`) "
    f"SELECT number, 1, 1, 1, number, 'seed.example', {start.format(v='number')}, "
    f"{start.format(v='number')} + 60, concat('/p', toString(number % 9)), '/p0', 3, 3, 60, "
    "number % 2, ['Google', 'Direct / None', 'news.example'][number % 3 + 1], "
    "['DE', 'GB', 'FR'][number % 3 + 1], 'Chrome', 'Mac', [], [] FROM numbers(1400)"
)
store.close()
"""


def answers(server: FootfallServer, key: str, domain: str) -> list:
    """What a Stats API client sees of `domain` over the last year."""
    got = []
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client:
        for path, params in (
            ("/api/v1/stats/aggregate", {"metrics": "visitors,visits,pageviews,bounce_rate,visit_duration"}),
            ("/api/v1/stats/breakdown", {"property": "event:page", "metrics": "visitors,pageviews"}),
            ("/api/v1/stats/breakdown", {"property": "visit:source", "metrics": "visitors,visits"}),
            ("/api/v1/stats/breakdown", {"property": "event:goal", "metrics": "visitors,events"}),
            ("/api/v1/stats/timeseries", {"metrics": "visitors,pageviews", "interval": "month"}),
        ):
            response = client.get(path, params={"site_id": domain, "period": "12mo", **params})
            assert response.status_code == 200, response.text
            got.append(response.json())
    return got


def counts(output: str) -> dict[str, tuple[int, int]]:
    """The per-table comparison migrate-store prints: table -> (source, target)."""
    found = {}
    for line in output.splitlines():
        match = re.match(r"^(\S+)\s+(\d+)\s+(\d+)(\s+DIFFERS)?$", line)
        if match:
            found[match.group(1)] = (int(match.group(2)), int(match.group(3)))
    return found


def summary(output: str) -> dict[str, int]:
    match = re.search(
        r"(copied|resumed): (\d+) partitions \((\d+) rows\) copied, (\d+) unchanged skipped, (\d+) dropped",
        output,
    )
    assert match, output
    return {
        "resumed": int(match.group(1) == "resumed"),
        "copied": int(match.group(2)),
        "rows": int(match.group(3)),
        "skipped": int(match.group(4)),
        "dropped": int(match.group(5)),
    }


@pytest.fixture
def seeded(tmp_path: Path):
    """A stopped embedded instance: a user, an API key, a site with a goal, four months of events."""
    server = FootfallServer(tmp_path / "source")
    server.data_dir.mkdir(parents=True)
    assert cli(server, "migrate").returncode == 0
    seeded = subprocess.run(
        [sys.executable, "-c", SEED, str(server.data_dir / "events")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert seeded.returncode == 0, seeded.stderr
    assert (
        cli(server, "user", "create", "--email", "o@example.com", "--password", "a long password").returncode
        == 0
    )
    assert cli(server, "site", "create", "seed.example", "--owner", "o@example.com").returncode == 0
    key = cli(server, "apikey", "create", "--email", "o@example.com", "--scope", "stats").stdout.strip()
    assert key
    server.start()
    with httpx.Client(timeout=30) as client:  # today's traffic, through the write path
        for visitor in range(20):
            assert post(server, "seed.example", f"/live{visitor % 3}", visitor, client) == 202
    server.wait_acknowledged(20)
    assert cli(server, "admin", "flush").returncode == 0  # stored, not only acknowledged
    before = answers(server, key, "seed.example")
    server.stop()
    yield server, key, before
    server.stop()  # a test that failed while it ran leaves no server behind


def migrate(server: FootfallServer, *flags: str) -> subprocess.CompletedProcess[str]:
    return cli(server, "migrate-store", *flags)


def test_to_postgresql_and_another_chdb_path_killed_mid_copy_resumes_without_copying_twice(
    seeded, postgres_url, tmp_path: Path
) -> None:
    server, key, before = seeded
    target_dir = tmp_path / "target"
    flags = ("--to-data-dir", str(target_dir), "--to-database-url", postgres_url)

    # Killed (with its worker holding the target) once a few partitions are recorded.
    running = subprocess.Popen(
        [FOOTFALL, "migrate-store", *flags, "--verbose"],
        env=server.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    copied_before_kill = []
    try:
        assert running.stderr is not None
        for line in running.stderr:
            if line.startswith("copied "):
                copied_before_kill.append(line)
                if len(copied_before_kill) == 4:
                    os.killpg(running.pid, signal.SIGKILL)
                    break
    finally:
        running.wait(timeout=60)
    assert running.returncode == -signal.SIGKILL, running.stderr.read() if running.stderr else ""
    assert len(copied_before_kill) == 4

    resumed = migrate(server, *flags)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stderr.splitlines()[0].endswith("opening the stores directly")
    done = summary(resumed.stdout)
    assert done["resumed"] and done["skipped"] >= 4 and done["copied"] >= 1
    table = counts(resumed.stdout)
    assert table["events"] == (4020, 4020)
    assert table["sessions"][0] == table["sessions"][1] >= 1420
    assert table["metadata.users"] == (1, 1) and table["metadata.api_keys"] == (1, 1)
    assert all(source == target for source, target in table.values()), resumed.stdout
    assert "DIFFERS" not in resumed.stdout

    # Run again: nothing changed, nothing copied.
    again = migrate(server, *flags)
    assert again.returncode == 0, again.stderr
    assert summary(again.stdout)["copied"] == 0

    # footfall on the new stores answers exactly as before, and keeps working.
    moved = FootfallServer(target_dir, env={"DATABASE_URL": postgres_url})
    moved.start()
    try:
        assert answers(moved, key, "seed.example") == before
        assert cli(moved, "site", "create", "after.example").returncode == 0  # sequences moved on
    finally:
        moved.stop()

    # And back: PostgreSQL to SQLite, into a third data directory.
    back_dir = tmp_path / "back"
    back = migrate(moved, "--to-data-dir", str(back_dir))
    assert back.returncode == 0, back.stderr
    table = counts(back.stdout)
    assert table["events"] == (4020, 4020) and table["metadata.sites"] == (2, 2)
    assert (back_dir / "footfall.db").is_file() and (back_dir / "events").is_dir()


def test_refusals_are_one_line(seeded, tmp_path: Path) -> None:
    server, _, _ = seeded
    nowhere = migrate(server)
    assert nowhere.returncode == 1 and "say where to: --to-data-dir PATH" in nowhere.stderr
    own = migrate(server, "--to-data-dir", str(server.data_dir))
    assert own.returncode == 1 and "this instance's own DATA_DIR" in own.stderr
    # A target that is another instance's (it has events of its own) is refused.
    other = FootfallServer(tmp_path / "other")
    other.start()
    with httpx.Client(timeout=30) as client:
        other.cli("site", "create", "other.example")
        assert post(other, "other.example", "/", 1, client) == 202
    other.wait_acknowledged(1)
    other.stop()
    taken = migrate(server, "--to-data-dir", str(other.data_dir))
    assert taken.returncode == 1, taken.stdout
    assert "holds events; migrate into an empty one" in taken.stderr.splitlines()[-1]


def test_through_the_admin_channel_while_serving_posts_then_a_catch_up_once_stopped(
    seeded, tmp_path: Path
) -> None:
    server, key, _ = seeded
    server.start()
    stop = threading.Event()
    accepted = [20]  # the seed's own posts

    def stream() -> None:
        with httpx.Client(timeout=30) as client:
            visitor = 1000
            while not stop.is_set():
                if post(server, "seed.example", "/during", visitor, client) == 202:
                    accepted[0] += 1
                visitor += 1

    poster = threading.Thread(target=stream)
    poster.start()
    target_dir = tmp_path / "moved"
    try:
        live = migrate(server, "--to-data-dir", str(target_dir))
    finally:
        stop.set()
        poster.join()
    assert live.returncode == 0, live.stderr
    assert live.stderr.splitlines()[0] == (
        f"footfall: migrate-store: through the running server ({server.data_dir}/admin.sock)"
    )
    assert "stop it and run this command again" in live.stderr
    assert counts(live.stdout)["events"][0] == counts(live.stdout)["events"][1]
    assert httpx.get(f"{server.url}/api/health/ready", timeout=5).status_code == 200  # never stopped
    server.wait_acknowledged(accepted[0])
    server.stop()  # flushes every acknowledged event into the source

    final = migrate(server, "--to-data-dir", str(target_dir))
    assert final.returncode == 0, final.stderr
    assert "opening the stores directly" in final.stderr.splitlines()[0]
    done = summary(final.stdout)
    assert done["resumed"] and done["copied"] >= 1 and done["skipped"] >= 10  # only what changed
    assert counts(final.stdout)["events"] == (4000 + accepted[0], 4000 + accepted[0])

    server.start()  # the source, with every acknowledged post stored
    try:
        expected = answers(server, key, "seed.example")
    finally:
        server.stop()
    moved = FootfallServer(target_dir)
    moved.start()
    try:
        got = answers(moved, key, "seed.example")
    finally:
        moved.stop()
    assert got == expected
    # Every acknowledged post is there: a seeded visit counts 3 pageviews, a posted one 1.
    assert got[0]["results"]["pageviews"]["value"] == 4200 + accepted[0]
