"""footfall backup create | verify | restore, against real `footfall serve` processes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import FOOTFALL, FootfallServer

pytestmark = pytest.mark.slow

CHROME = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def cli(server: FootfallServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FOOTFALL, *args],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def post(server: FootfallServer, domain: str, page: str, visitor: int, client: httpx.Client) -> int:
    body = {"n": "pageview", "u": f"https://{domain}{page}", "d": domain, "r": "https://www.google.com/"}
    headers = {
        "Content-Type": "text/plain",
        "User-Agent": CHROME,
        "X-Forwarded-For": f"85.214.{visitor // 250}.{visitor % 250 + 1}",
    }
    return client.post(f"{server.url}/api/event", content=json.dumps(body), headers=headers).status_code


def answers(server: FootfallServer, key: str, domain: str) -> list:
    """What a Stats API client sees of `domain`: aggregate, breakdowns, time series (v1, v2)."""
    headers = {"Authorization": f"Bearer {key}"}
    got = []
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as client:
        for path, params in (
            ("/api/v1/stats/aggregate", {"metrics": "visitors,visits,pageviews,bounce_rate,views_per_visit"}),
            ("/api/v1/stats/breakdown", {"property": "event:page", "metrics": "visitors,pageviews"}),
            ("/api/v1/stats/breakdown", {"property": "visit:source", "metrics": "visitors"}),
            ("/api/v1/stats/timeseries", {"metrics": "pageviews"}),
        ):
            response = client.get(path, params={"site_id": domain, "period": "7d", **params})
            assert response.status_code == 200, response.text
            got.append(response.json())
        v2 = client.post(
            "/api/v2/query",
            json={
                "site_id": domain,
                "metrics": ["visitors", "pageviews"],
                "date_range": "7d",
                "dimensions": ["event:page"],
            },
        )
        assert v2.status_code == 200, v2.text
        got.append(v2.json()["results"])
    return got


def manifest(backup: Path) -> dict:
    return json.loads((backup / "manifest.json").read_text())


def created_path(result: subprocess.CompletedProcess[str]) -> Path:
    assert result.returncode == 0, result.stderr
    match = re.match(r"(\S+): (full|incremental)", result.stdout)
    assert match, result.stdout
    return Path(match.group(1))


def damage_two_and_verify(server: FootfallServer, made: Path, damaged: Path, picks) -> str:
    """Truncates the largest file of the copy `damaged` that `picks` chooses and alters one byte
    of the next largest; `footfall backup verify` must name both and exit 1 with one line,
    which is returned."""
    files = manifest(damaged)["files"]
    data = sorted((name for name in files if picks(name)), key=lambda name: -files[name]["size"])
    truncated, altered = data[0], data[1]
    with (damaged / truncated).open("r+b") as handle:
        handle.truncate(files[truncated]["size"] // 2)
    content = bytearray((damaged / altered).read_bytes())
    content[len(content) // 2] ^= 0xFF
    (damaged / altered).write_bytes(bytes(content))
    result = cli(server, "backup", "verify", str(damaged))
    assert result.returncode == 1
    assert f"{made.name}/{truncated}: truncated ({files[truncated]['size'] // 2} bytes" in result.stdout
    assert f"{made.name}/{altered}: altered (its SHA-256 differs from the manifest's)" in result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"footfall: error: {made.name} failed verification (2 problems)")
    return lines[0]


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A running server with a user, an API key, two sites and some traffic on `steady.example`."""
    root = tmp_path_factory.mktemp("backup")
    server = FootfallServer(root / "source", env={"LOG_LEVEL": "info"})
    server.start()
    assert (
        cli(server, "user", "create", "--email", "o@example.com", "--password", "a long password").returncode
        == 0
    )
    for domain in ("steady.example", "stream.example"):
        assert cli(server, "site", "create", domain, "--owner", "o@example.com").returncode == 0
    made = cli(server, "apikey", "create", "--email", "o@example.com", "--scope", "stats")
    key = made.stdout.strip()
    with httpx.Client(timeout=30) as client:
        for visitor in range(60):
            assert post(server, "steady.example", f"/p{visitor % 7}", visitor, client) == 202
    yield server, key, root
    server.stop()


def test_backup_while_posts_stream_restores_to_identical_stats_and_incremental_to_the_later_state(
    source,
) -> None:
    server, key, root = source
    backups = root / "backups"
    stop = threading.Event()
    streamed = {"before": 0, "total": 0}

    def stream() -> None:
        with httpx.Client(timeout=30) as client:
            visitor = 1000
            while not stop.is_set() and visitor < 6000:
                assert post(server, "stream.example", "/live", visitor, client) == 202
                streamed["total"] += 1
                visitor += 1

    poster = threading.Thread(target=stream)
    poster.start()
    try:
        while streamed["total"] < 50:
            stop.wait(0.05)
        streamed["before"] = streamed["total"]
        first = cli(server, "backup", "create", "--to", str(backups))
    finally:
        stop.set()
        poster.join(30)
    full = created_path(first)
    assert (
        first.stderr.splitlines()[0]
        == f"footfall: backup.create: through the running server ({server.data_dir}/admin.sock)"
    )
    described = manifest(full)
    assert described["kind"] == "full" and described["base"] is None
    assert described["footfall_version"] and described["metadata"]["revision"]
    assert described["events"]["schema_version"] >= 1
    assert described["metadata"]["tables"]["users"] == 1 and described["metadata"]["tables"]["api_keys"] == 1
    assert described["files"]["metadata.sqlite"]["size"] > 0
    assert any(name.startswith("events/") for name in described["files"])
    in_backup = described["events"]["tables"]["events"]
    # Everything acknowledged before the backup began is in it; what came during may be.
    assert 60 + streamed["before"] <= in_backup <= 60 + streamed["total"]
    assert described["events"]["time_range"]["first"] <= described["events"]["time_range"]["last"]
    before = answers(server, key, "steady.example")

    # Restore with the server stopped (straight into the stores), in a fresh data dir.
    restored = FootfallServer(root / "restored", env={"LOG_LEVEL": "info"})
    done = cli(restored, "backup", "restore", str(full))
    assert done.returncode == 0, done.stderr
    assert "opening the stores directly" in done.stderr.splitlines()[0]
    assert re.match(rf"restored {full.name}: {in_backup} events, \d+ metadata rows", done.stdout), done.stdout
    restored.start()
    try:
        assert answers(restored, key, "steady.example") == before  # the same API key works, same numbers
        headers = {"Authorization": f"Bearer {key}"}
        live = httpx.get(
            f"{restored.url}/api/v1/stats/aggregate",
            params={"site_id": "stream.example", "period": "day", "metrics": "pageviews"},
            headers=headers,
            timeout=30,
        ).json()["results"]["pageviews"]["value"]
        assert live == in_backup - 60
    finally:
        restored.stop()

    # More posts, then an incremental backup: it restores to the later state.
    with httpx.Client(timeout=30) as client:
        for visitor in range(60, 90):
            assert post(server, "steady.example", "/later", visitor, client) == 202
    second = cli(server, "backup", "create", "--to", str(backups))
    incremental = created_path(second)
    assert manifest(incremental)["kind"] == "incremental" and manifest(incremental)["base"] == full.name
    later = answers(server, key, "steady.example")
    assert later != before
    again = FootfallServer(root / "restored-later", env={"LOG_LEVEL": "info"})
    assert cli(again, "backup", "restore", str(backups)).returncode == 0  # a directory of backups: the latest
    again.start()
    try:
        assert answers(again, key, "steady.example") == later
    finally:
        again.stop()

    # verify: both are whole.
    ok = cli(server, "backup", "verify", str(incremental))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith(f"{incremental}: ok: ") and f"incremental on {full.name}" in ok.stdout

    # Retention: --keep 1 keeps the newest and the base it is built on.
    third = created_path(cli(server, "backup", "create", "--to", str(backups), "--full", "--keep", "1"))
    assert manifest(third)["kind"] == "full"
    assert sorted(p.name for p in backups.iterdir()) == [third.name]


def test_verify_names_a_truncated_and_an_altered_file_and_exits_1(source) -> None:
    server, _key, root = source
    made = created_path(cli(server, "backup", "create", "--to", str(root / "to-damage"), "--full"))
    damaged = root / "damaged" / made.name
    shutil.copytree(made, damaged)
    line = damage_two_and_verify(
        server, made, damaged, lambda name: name.startswith("events/data/") and name.endswith(".bin")
    )
    assert line.startswith(f"footfall: error: {made.name} failed verification (2 problems): ")
    # A backup is refused for restore while damaged, naming the file.
    fresh = FootfallServer(root / "never", env={"LOG_LEVEL": "info"})
    refused = cli(fresh, "backup", "restore", str(damaged))
    assert refused.returncode == 1
    assert "footfall: error: the backup is damaged: " in refused.stderr


def test_restore_into_postgresql_metadata_through_the_running_server(source, postgres_url) -> None:
    server, key, root = source
    made = created_path(cli(server, "backup", "create", "--to", str(root / "for-pg"), "--full"))
    before = answers(server, key, "steady.example")
    target = FootfallServer(root / "pg", env={"LOG_LEVEL": "info", "DATABASE_URL": postgres_url})
    target.start()
    try:
        done = cli(target, "backup", "restore", str(made))
        assert done.returncode == 0, done.stderr
        assert "through the running server" in done.stderr.splitlines()[0]
        assert answers(target, key, "steady.example") == before
        # The restored metadata keeps working: new rows get fresh ids (sequences moved on).
        assert cli(target, "site", "create", "after.example").returncode == 0
        # A second restore is refused: the instance is no longer empty.
        again = cli(target, "backup", "restore", str(made))
        assert again.returncode == 1
        assert "restore goes into an empty instance" in again.stderr
    finally:
        target.stop()


def test_a_moved_directory_of_incremental_backups_still_verifies_and_restores(source) -> None:
    server, key, root = source
    made = root / "made-here"
    chain = [created_path(cli(server, "backup", "create", "--to", str(made), "--full"))]
    with httpx.Client(timeout=30) as client:
        for round_ in range(2):
            for visitor in range(5):
                assert post(server, "steady.example", f"/moved{round_}", 500 + visitor, client) == 202
            assert cli(server, "admin", "flush").returncode == 0
            chain.append(created_path(cli(server, "backup", "create", "--to", str(made))))
    assert [manifest(b)["kind"] for b in chain] == ["full", "incremental", "incremental"]
    expected = answers(server, key, "steady.example")
    events = manifest(chain[-1])["events"]["tables"]["events"]
    # ClickHouse recorded each base by its absolute path; the directory goes elsewhere whole.
    moved = root / "elsewhere" / "backups"
    moved.parent.mkdir()
    shutil.move(str(made), str(moved))
    newest = moved / chain[-1].name
    ok = cli(server, "backup", "verify", str(newest))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert f"incremental on {chain[1].name} <- {chain[0].name}" in ok.stdout
    restored = FootfallServer(root / "restored-moved", env={"LOG_LEVEL": "info"})
    done = cli(restored, "backup", "restore", str(moved))
    assert done.returncode == 0, done.stderr
    assert f"{events} events" in done.stdout
    restored.start()
    try:
        assert answers(restored, key, "steady.example") == expected
    finally:
        restored.stop()
    assert sorted(p.name for p in moved.iterdir()) == sorted(b.name for b in chain)  # left as they were
