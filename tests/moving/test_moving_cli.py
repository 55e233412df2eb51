"""`footfall import`, `export` and `imports` as a user runs them: through a running `footfall
serve` (its admin channel) while it keeps taking events, and directly with it stopped; an import
killed (SIGKILL) half way is listed as interrupted, never counted, and resumed to the numbers of
an import that was never cut short."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import threading
import time
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.e2e.harness import FOOTFALL, FootfallServer

UA = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


def run(server: FootfallServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FOOTFALL, *args],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def _visitors_zip(path: Path, first: date, days: int) -> Path:
    last = first + timedelta(days=days - 1)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        lines = ["date,visitors,pageviews,bounces,visits,visit_duration"]
        lines += [f"{first + timedelta(days=i)},10,20,5,12,600" for i in range(days)]
        archive.writestr(f"imported_visitors_{first:%Y%m%d}_{last:%Y%m%d}.csv", "\n".join(lines) + "\n")
        pages = ["date,hostname,page,visits,visitors,pageviews"]
        pages += [f"{first + timedelta(days=i // 200)},a.example,/p/{i},1,1,1" for i in range(days * 200)]
        archive.writestr(f"imported_pages_{first:%Y%m%d}_{last:%Y%m%d}.csv", "\n".join(pages) + "\n")
    return path


@pytest.mark.slow
def test_import_and_export_go_through_the_running_server_without_stopping_ingestion(tmp_path: Path) -> None:
    server = FootfallServer(tmp_path / "data")
    server.create_sites("live.example", "copy.example")
    server.cli(
        "user",
        "create",
        "--email",
        "me@example.com",
        "--password",
        "correct horse battery staple",
        "--superuser",
    )
    key = server.cli("apikey", "create", "--email", "me@example.com").strip()
    archive = _visitors_zip(tmp_path / "old.zip", date(2025, 1, 1), 300)
    server.start()
    answers: list[int] = []
    stop = threading.Event()

    def post() -> None:
        with httpx.Client(base_url=server.url, timeout=10) as client:
            n = 0
            while not stop.is_set():
                n += 1
                body = {"n": "pageview", "u": f"https://live.example/p{n % 7}", "d": "live.example"}
                answers.append(
                    client.post(
                        "/api/event",
                        json=body,
                        headers={"User-Agent": UA, "X-Forwarded-For": f"203.0.113.{n % 200}"},
                    ).status_code
                )
                time.sleep(0.01)

    poster = threading.Thread(target=post)
    poster.start()
    try:
        imported = run(server, "import", "copy.example", str(archive))
        assert imported.returncode == 0, imported.stderr
        assert "import: through the running server" in imported.stderr
        assert "60300 rows of Plausible CSV export from 2025-01-01 to 2025-10-27" in imported.stdout
        today = datetime.now(UTC).date().isoformat()
        exported = run(
            server,
            "export",
            "live.example",
            "--from",
            today,
            "--to",
            today,
            "--out",
            str(tmp_path / "live.zip"),
        )
        assert exported.returncode == 0, exported.stderr
        assert "export: through the running server" in exported.stderr
        listed = run(server, "imports", "list", "copy.example")
        assert "60300 rows  completed" in listed.stdout
        query = {
            "site_id": "copy.example",
            "metrics": ["visitors", "pageviews"],
            "date_range": ["2025-01-01", "2025-12-31"],
            "include": {"imports": True},
        }
        answer = httpx.post(
            f"{server.url}/api/v2/query", json=query, headers={"Authorization": f"Bearer {key}"}
        )
        assert answer.json()["results"] == [{"metrics": [3000, 6000], "dimensions": []}]
    finally:
        stop.set()
        poster.join()
        server.stop()
    assert answers and set(answers) == {202}, set(answers)
    with zipfile.ZipFile(tmp_path / "live.zip") as written:
        visitors = next(n for n in written.namelist() if n.startswith("imported_visitors_"))
        assert (
            written.read(visitors).decode().splitlines()[0]
            == "date,visitors,pageviews,bounces,visits,visit_duration"
        )
        assert len(written.read(visitors).decode().splitlines()) == 2  # today's row: the posts were exported
    direct = run(server, "imports", "delete", "copy.example", "1")
    assert direct.returncode == 0, direct.stderr
    assert "opening the stores directly" in direct.stderr
    assert "deleted import 1 (old.zip) and its 60300 rows from copy.example" in direct.stdout
    bad = run(server, "import", "copy.example", str(tmp_path / "missing.zip"))
    assert bad.returncode == 1 and bad.stderr.strip().endswith("missing.zip: no such file or folder")
    assert bad.stderr.startswith("footfall: error: ")


@pytest.mark.slow
def test_an_import_killed_half_way_is_never_counted_and_resumes_to_a_clean_imports_numbers(
    tmp_path: Path,
) -> None:
    server = FootfallServer(tmp_path / "data")
    server.create_sites("copy.example", "clean.example")
    server.cli("user", "create", "--email", "me@example.com", "--password", "correct horse battery staple",
               "--superuser")  # fmt: skip
    key = server.cli("apikey", "create", "--email", "me@example.com").strip()
    archive = _visitors_zip(tmp_path / "big.zip", date(2020, 1, 1), 500)  # visitors, then 100,000 pages
    process = subprocess.Popen(
        [FOOTFALL, "import", "copy.example", str(archive)],
        env=server.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    database = server.data_dir / "footfall.db"
    deadline = time.monotonic() + 120
    checkpoint: dict = {}
    while time.monotonic() < deadline and process.poll() is None:
        with sqlite3.connect(database) as db:
            row = db.execute("SELECT state, checkpoint FROM site_imports").fetchone()
        if row and row[0] == "importing" and row[1] and json.loads(row[1]).get("tables"):
            checkpoint = json.loads(row[1])
            break
        time.sleep(0.02)
    assert list(checkpoint.get("tables", {})) == ["imported_visitors"], "killed after visitors, in pages"
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT state FROM site_imports").fetchone() == ("importing",)
    listed = run(server, "imports", "list", "copy.example")
    assert listed.returncode == 0, listed.stderr
    assert (
        "500 rows  interrupted: footfall stopped while importing with 1 of 2 tables in; counted only "
        "once it is resumed and complete (resume: footfall imports resume copy.example 1)"
    ) in listed.stdout
    stored = _stored_counts(server)
    assert stored == {"imported_visitors": 500, "imported_pages": 0}  # nothing of the cut-short table

    query = {
        "metrics": ["visitors", "pageviews"],
        "date_range": ["2020-01-01", "2021-12-31"],
        "include": {"imports": True},
    }
    pages = {**query, "dimensions": ["event:page"], "order_by": [["visitors", "desc"], ["event:page", "asc"]],
             "pagination": {"limit": 5}}  # fmt: skip

    def ask(domain: str, body: dict) -> dict:
        answer = httpx.post(
            f"{server.url}/api/v2/query",
            json={**body, "site_id": domain},
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    server.start()
    try:
        partial = ask("copy.example", query)
        assert partial["results"] == [{"metrics": [0, 0], "dimensions": []}]  # the partial import counts nil
        assert partial["meta"]["imports_included"] is False
        clean = run(server, "import", "clean.example", str(archive))
        assert clean.returncode == 0, clean.stderr
        resumed = run(server, "imports", "resume", "copy.example", "1")
        assert resumed.returncode == 0, resumed.stderr
        assert "through the running server" in resumed.stderr
        assert "resumed import 1: visitors complete from the run that was cut short" in resumed.stderr
        assert "import 1 into copy.example: 100500 rows of Plausible CSV export" in resumed.stdout
        assert ask("copy.example", query)["results"] == ask("clean.example", query)["results"]
        assert ask("copy.example", query)["results"] == [{"metrics": [5000, 10000], "dimensions": []}]
        assert ask("copy.example", pages)["results"] == ask("clean.example", pages)["results"]
        listed = run(server, "imports", "list", "copy.example")
        assert "1  Plausible CSV export  big.zip  2020-01-01 to 2021-05-14  100500 rows  completed" in (
            listed.stdout
        )
    finally:
        server.stop()
    assert _stored_counts(server) == {"imported_visitors": 1000, "imported_pages": 200_000}  # both sites


def _stored_counts(server: FootfallServer) -> dict[str, int]:
    """Rows of the imported tables, read by a process of its own (chDB: one store per process)."""
    count = subprocess.run(
        [
            str(Path(FOOTFALL).parent / "python"),
            "-c",
            "import sys, json; from footfall.events.chdb_store import ChdbStore; s = ChdbStore(sys.argv[1]); "
            "print(json.dumps({t: s.query(f'SELECT count() FROM {{db}}.{t}').scalar() "
            "for t in ('imported_visitors', 'imported_pages')}))",
            str(server.data_dir / "events"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert count.returncode == 0, count.stderr
    return json.loads(count.stdout)
