"""The footfall command end to end, as a user runs it (subprocesses, real stores)."""

import os
import subprocess
import sys
from pathlib import Path

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
