"""The footfall command end to end, as a user runs it (subprocesses, real stores)."""

import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory

from footfall.events.schema import latest_version
from footfall.meta.db import MIGRATIONS_DIR

FOOTFALL = str(Path(sys.executable).parent / "footfall")


def run(data_dir: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CLICKHOUSE_DATABASE_URL")
    }
    environment.update(DATA_DIR=str(data_dir), **env)
    return subprocess.run(
        [FOOTFALL, *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def test_site_create_then_list_shows_it(tmp_path: Path) -> None:
    created = run(tmp_path, "site", "create", "https://www.Example.com/", "--timezone", "Europe/Berlin")
    assert created.returncode == 0, created.stderr
    assert "created site example.com (Europe/Berlin)" in created.stdout
    listed = run(tmp_path, "site", "list")
    assert listed.returncode == 0
    assert "example.com" in listed.stdout and "Europe/Berlin" in listed.stdout


def test_migrate_reports_both_stores(tmp_path: Path) -> None:
    result = run(tmp_path, "migrate")
    assert result.returncode == 0, result.stderr
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert f"metadata (sqlite) at revision {head}" in result.stdout
    assert f"events at schema version {latest_version()}" in result.stdout


def test_user_and_api_key_are_created_and_the_key_printed_once(tmp_path: Path) -> None:
    made = run(
        tmp_path,
        "user",
        "create",
        "--email",
        "me@example.com",
        "--password",
        "a long password",
        "--name",
        "Me",
    )
    assert made.returncode == 0, made.stderr
    site = run(tmp_path, "site", "create", "mine.example.com", "--owner", "me@example.com")
    assert site.returncode == 0, site.stderr
    key = run(tmp_path, "apikey", "create", "--email", "me@example.com", "--name", "ci")
    assert key.returncode == 0, key.stderr
    raw = key.stdout.strip()
    assert raw.startswith("ff_") and len(raw) > 40
    assert raw.encode() not in (tmp_path / "footfall.db").read_bytes()


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (("site", "create", "not a domain"), {}, "is not a valid domain"),
        (("site", "create", "x.com", "--timezone", "Nowhere/Town"), {}, "is not an IANA time zone"),
        (("site", "create", "x.com", "--owner", "ghost@example.com"), {}, "no user with email"),
        (("user", "create", "--email", "bad", "--password", "long enough pw"), {}, "not a valid email"),
        (("user", "create", "--email", "a@b.co", "--password", "short"), {}, "at least 12 characters"),
        (("apikey", "create", "--email", "ghost@example.com"), {}, "no user with email"),
        (("site", "list"), {"HTTP_PORT": "http"}, "HTTP_PORT: must be an integer"),
        (("site", "list"), {"DATABASE_URL": "mysql://db/x"}, "DATABASE_URL:"),
        (
            ("site", "list"),
            {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"},
            "metadata store:",
        ),
    ],
)
def test_bad_input_is_one_line_and_a_nonzero_exit(tmp_path: Path, args, env, message) -> None:
    result = run(tmp_path, *args, **env)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("footfall: error: ") and message in lines[0]


def test_duplicate_site_is_refused(tmp_path: Path) -> None:
    assert run(tmp_path, "site", "create", "dup.example.com").returncode == 0
    again = run(tmp_path, "site", "create", "www.dup.example.com")
    assert again.returncode == 1
    assert again.stderr.strip() == "footfall: error: site dup.example.com already exists"


def test_postgres_metadata_store_from_the_cli(postgres_url: str, tmp_path: Path) -> None:
    url = postgres_url.replace("postgresql+psycopg://", "postgres://")
    assert run(tmp_path, "site", "create", "pg.example.com", DATABASE_URL=url).returncode == 0
    listed = run(tmp_path, "site", "list", DATABASE_URL=url)
    assert "pg.example.com" in listed.stdout
    assert not (tmp_path / "footfall.db").exists()


def test_apikey_scope_decides_what_the_key_may_do(tmp_path: Path) -> None:
    assert (
        run(
            tmp_path, "user", "create", "--email", "k@example.com", "--password", "a long password"
        ).returncode
        == 0
    )
    for scope in ("stats", "sites"):
        made = run(tmp_path, "apikey", "create", "--email", "k@example.com", "--scope", scope)
        assert made.returncode == 0, made.stderr
        assert made.stdout.strip().startswith("ff_")
    bad = run(tmp_path, "apikey", "create", "--email", "k@example.com", "--scope", "admin")
    assert bad.returncode != 0
    assert "'admin' is not one of" in bad.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    environment = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "CLICKHOUSE_DATABASE_URL", "REDIS_URL")
    }
    environment.update(DATA_DIR=str(data_dir), HTTP_PORT=str(port))
    server = subprocess.Popen(
        [FOOTFALL, "serve"],
        env=environment,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            raise AssertionError("footfall serve did not start")
        time.sleep(0.2)


def test_demo_creates_30_days_of_traffic_the_stats_api_then_reports(tmp_path: Path) -> None:
    made = run(tmp_path, "user", "create", "--email", "demo@example.com", "--password", "a long password")
    assert made.returncode == 0, made.stderr
    demo = run(tmp_path, "demo", "--events", "2000", "--owner", "demo@example.com")
    assert demo.returncode == 0, demo.stderr
    today = datetime.now(UTC).date()
    summary = re.search(r"demo\.example: (\d+) visits, (\d+) events from (\S+) to (\S+)", demo.stdout)
    assert summary, demo.stdout
    visits, events, first, last = summary.groups()
    assert int(visits) > 0 and int(events) >= 1000
    assert (first, last) == (str(today - timedelta(days=29)), str(today))
    key = run(tmp_path, "apikey", "create", "--email", "demo@example.com", "--scope", "stats").stdout.strip()

    port = free_port()
    server = serve(tmp_path, port)
    try:
        headers = {"Authorization": f"Bearer {key}"}
        aggregate = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/stats/aggregate",
            params={"site_id": "demo.example", "period": "30d", "metrics": "visitors,visits,pageviews"},
            headers=headers,
            timeout=30,
        )
        assert aggregate.status_code == 200, aggregate.text
        results = aggregate.json()["results"]
        assert results["visitors"]["value"] > 0
        assert results["visits"]["value"] == int(visits)
        assert results["pageviews"]["value"] > 0
        by_day = httpx.post(
            f"http://127.0.0.1:{port}/api/v2/query",
            json={
                "site_id": "demo.example",
                "metrics": ["visitors"],
                "date_range": "30d",
                "dimensions": ["time:day"],
            },
            headers=headers,
            timeout=30,
        )
        assert by_day.status_code == 200, by_day.text
        assert len(by_day.json()["results"]) == 30
        # The server holds the embedded event store: a second demo runs through its admin channel.
        other = run(
            tmp_path,
            "demo",
            "--domain",
            "other.example",
            "--events",
            "1000",
            "--days",
            "2",
            "--owner",
            "demo@example.com",
        )
        assert other.returncode == 0, other.stderr
        assert other.stderr.splitlines()[0].startswith("footfall: demo: through the running server (")
        assert re.match(r"other\.example: \d+ visits", other.stdout)
        aggregate = httpx.get(
            f"http://127.0.0.1:{port}/api/v1/stats/aggregate",
            params={"site_id": "other.example", "period": "7d", "metrics": "visits"},
            headers=headers,
            timeout=30,
        )
        assert aggregate.status_code == 200, aggregate.text
        assert aggregate.json()["results"]["visits"]["value"] > 0
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_demo_refuses_a_site_with_events_unless_replace(tmp_path: Path) -> None:
    assert run(tmp_path, "demo", "--events", "1000", "--days", "2").returncode == 0
    again = run(tmp_path, "demo", "--events", "1000", "--days", "2")
    assert again.returncode == 1
    route, *lines = again.stderr.strip().splitlines()
    assert route.startswith("footfall: demo: no server answers on "), again.stderr
    assert len(lines) == 1, again.stderr
    assert re.fullmatch(
        r"footfall: error: demo\.example already has \d+ events; pass --replace to regenerate them", lines[0]
    )
    replaced = run(tmp_path, "demo", "--events", "1000", "--days", "2", "--replace")
    assert replaced.returncode == 0, replaced.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("demo", "--owner", "ghost@example.com"), "no user with email"),
        (("demo", "--domain", "not a domain"), "is not a valid domain"),
        (("demo", "--domain", "tz.example", "--timezone", "Nowhere/Town"), "is not an IANA time zone"),
    ],
)
def test_demo_errors_are_one_line_and_exit_1(tmp_path: Path, args, message) -> None:
    result = run(tmp_path, *args, "--events", "1000")
    assert result.returncode == 1
    route, *lines = result.stderr.strip().splitlines()  # the first says which way it went
    assert route.startswith("footfall: demo: "), result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("footfall: error: ") and message in lines[0]


def test_funnel_create_list_and_delete(tmp_path: Path) -> None:
    assert run(tmp_path, "site", "create", "shop.example").returncode == 0
    made = run(
        tmp_path,
        "funnel",
        "create",
        "shop.example",
        "--name",
        "Checkout",
        *("--step", "/pricing", "--step", "Signup", "--step", "/checkout/**"),
    )
    assert made.returncode == 0, made.stderr
    assert (
        made.stdout.strip()
        == "funnel 1 on shop.example: Checkout: Visit /pricing -> Signup -> Visit /checkout/**"
    )
    listed = run(tmp_path, "funnel", "list", "shop.example")
    assert listed.stdout.strip() == "1  Checkout: Visit /pricing -> Signup -> Visit /checkout/**"
    gone = run(tmp_path, "funnel", "delete", "shop.example", "1")
    assert gone.stdout.strip() == "deleted funnel 1 (Checkout) from shop.example"
    assert run(tmp_path, "funnel", "list", "shop.example").stdout.startswith("no funnels yet")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("create", "shop.example", "--name", "One", "--step", "/a"),
            "steps: a funnel has 2 to 8 steps, not 1",
        ),
        (
            ("create", "shop.example", "--name", "Nine", *[f"--step=/{i}" for i in range(9)]),
            "steps: a funnel has 2 to 8 steps, not 9",
        ),
        (("create", "shop.example", "--name", "Twice", "--step", "/a", "--step", "/a"), "a goal is one step"),
        (
            ("create", "nowhere.example", "--name", "N", "--step", "/a", "--step", "B"),
            "no site nowhere.example",
        ),
        (("delete", "shop.example", "7"), "Funnel could not be found"),
    ],
)
def test_funnel_errors_are_one_line_and_exit_1(tmp_path: Path, args, message) -> None:
    assert run(tmp_path, "site", "create", "shop.example").returncode == 0
    result = run(tmp_path, "funnel", *args)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("footfall: error: ") and message in lines[0]
    # A refused funnel leaves nothing behind, not even the goals its steps named.
    assert run(tmp_path, "funnel", "list", "shop.example").stdout.startswith("no funnels yet")
    with closing(sqlite3.connect(tmp_path / "footfall.db")) as db:
        assert db.execute("SELECT count(*) FROM goals").fetchone() == (0,)


def test_version_is_the_codes_own(tmp_path: Path) -> None:
    """`--version` says what the code running is (not an installed package's stale metadata),
    the version written to DATA_DIR/VERSION and into backups."""
    import footfall

    result = run(tmp_path, "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"footfall, version {footfall.__version__}"


def test_the_first_user_is_the_instance_admin_and_make_admin_grants_and_revokes(tmp_path: Path) -> None:
    """An instance set up from the command line has an admin (the instance page, operator
    notices and alerts need one), as one set up at /register does."""
    first = run(
        tmp_path, "user", "create", "--email", "first@example.com", "--password", "a long passphrase!"
    )
    assert first.returncode == 0 and first.stdout.strip().endswith("(instance admin)"), first
    second = run(
        tmp_path, "user", "create", "--email", "second@example.com", "--password", "a long passphrase!"
    )
    assert second.returncode == 0 and "admin" not in second.stdout, second
    third = run(
        tmp_path,
        "user",
        "create",
        "--email",
        "third@example.com",
        "--password",
        "a long passphrase!",
        "--admin",
    )
    assert third.stdout.strip().endswith("(instance admin)"), third
    made = run(tmp_path, "user", "make-admin", "second@example.com")
    assert made.returncode == 0 and made.stdout.strip() == "second@example.com is now an instance admin"
    assert run(tmp_path, "user", "make-admin", "third@example.com", "--revoke").returncode == 0
    with closing(sqlite3.connect(tmp_path / "footfall.db")) as db:
        admins = dict(db.execute("SELECT email, is_admin FROM users"))
    assert admins == {"first@example.com": 1, "second@example.com": 1, "third@example.com": 0}
    missing = run(tmp_path, "user", "make-admin", "nobody@example.com")
    assert (
        missing.returncode != 0
        and missing.stderr.strip() == "footfall: error: no user with email nobody@example.com"
    )
