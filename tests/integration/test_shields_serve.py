"""Shields in a real `footfall serve`, on SQLite and on PostgreSQL: `footfall shield add`, run
while the server runs, is in force within seconds (no restart, no metadata query per event);
what it drops is answered 202 with `X-Plausible-Dropped: 1`, never stored, and counted on
/metrics under the reason `shield`; `footfall shield remove` lifts it again."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import FOOTFALL, FootfallServer, wait_until

CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)


@pytest.fixture(params=["sqlite", "postgres"])
def served(request: pytest.FixtureRequest, tmp_path: Path):
    env = {}
    if request.param == "postgres":
        env["DATABASE_URL"] = request.getfixturevalue("postgres_url")
    server = FootfallServer(tmp_path / "data", env=env)
    server.create_sites("shielded.example")
    server.start()
    yield server
    server.stop()


ANSWERS: dict[str, bool] = {}  # path -> answered as dropped


def post(server: FootfallServer, path: str, visitor: str) -> bool:
    """Posts a pageview of `path` from `visitor` (through loopback, a trusted proxy); True if dropped."""
    assert path not in ANSWERS, "each post has a path of its own"
    response = httpx.post(
        f"{server.url}/api/event",
        content=f'{{"n":"pageview","u":"https://shielded.example{path}","d":"shielded.example"}}',
        headers={"Content-Type": "text/plain", "User-Agent": CHROME, "X-Forwarded-For": visitor},
        timeout=10,
    )
    assert response.status_code == 202, response.text
    ANSWERS[path] = response.headers.get("x-plausible-dropped") == "1"
    return ANSWERS[path]


def stored_paths(server: FootfallServer) -> list[str]:
    """The stored events' paths, read from the stopped server's event store in a process of its
    own (chDB allows one session per process, and this one may hold one)."""
    server.stop()
    reader = (
        "import sys, json; from footfall.events.chdb_store import ChdbStore; "
        "store = ChdbStore(sys.argv[1]); "
        "rows = store.query('SELECT pathname FROM {db}.events').rows; "
        "print(json.dumps([row[0] for row in rows])); store.close()"
    )
    result = subprocess.run(
        [sys.executable, "-c", reader, str(server.data_dir / "events")],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        env=server.env,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def shield_drops(server: FootfallServer) -> float:
    text = httpx.get(f"{server.url}/metrics", timeout=10).text  # loopback: a trusted network
    for line in text.splitlines():
        if line.startswith("footfall_ingest_events_total{") and 'reason="shield"' in line:
            return float(line.split()[-1])
    return 0.0


def test_a_rule_added_with_the_cli_while_serving_takes_effect_within_seconds(served: FootfallServer) -> None:
    visitor = "203.0.113.50"
    ANSWERS.clear()
    assert not post(served, "/before", visitor)
    assert shield_drops(served) == 0

    added = served.cli("shield", "add", "shielded.example", "ip", "203.0.113.0/24", "--description", "bots")
    assert "added the IP rule 203.0.113.0/24" in added
    started = time.monotonic()
    attempts = iter(range(1_000_000))
    wait_until(
        lambda: post(served, f"/blocked-{next(attempts)}", visitor), "the rule to drop events", timeout=10
    )
    took = time.monotonic() - started
    assert post(served, "/blocked-last", visitor)
    assert not post(served, "/other-visitor", "198.51.100.50")
    assert shield_drops(served) >= 2
    print(f"a shield rule took {took:.2f} s to reach the running server")  # seen with -s

    listed = served.cli("shield", "list", "shielded.example")
    assert "203.0.113.0/24" in listed and "bots" in listed
    served.cli("shield", "add", "shielded.example", "page", "/private/**")
    wait_until(
        lambda: post(served, f"/private/{next(attempts)}", "198.51.100.51"),
        "the page rule to drop",
        timeout=10,
    )

    served.cli("shield", "remove", "shielded.example", "ip", "203.0.113.0/24")
    wait_until(
        lambda: not post(served, f"/after-{next(attempts)}", visitor), "the rule to be lifted", timeout=10
    )

    # Every post answered without the dropped header is stored, and none answered dropped.
    stored = stored_paths(served)
    assert sorted(stored) == sorted(path for path, was_dropped in ANSWERS.items() if not was_dropped)
    assert sum(ANSWERS.values()) >= 3


def test_cli_errors_are_one_line(served: FootfallServer) -> None:
    for args, message in [
        (("ip", "203.0.113.5/24"), "the range is 203.0.113.0/24"),
        (("country", "Germany"), "Germany is DE"),
        (("hostname", "*"), "would allow every hostname"),
        (("planet", "mars"), "'planet' is not a kind of shield rule: one of ip, country, page, hostname"),
    ]:
        result = subprocess.run(
            [FOOTFALL, "shield", "add", "shielded.example", *args],
            env=served.env,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert result.returncode == 1
        assert result.stderr.startswith("footfall: error: ") and result.stderr.count("\n") == 1
        assert message in result.stderr, result.stderr
