"""Upgrades never break: a data directory written by footfall v0.1.0's own CLI and server
(tests/ops/fixtures/v0.1.0-data.tar.gz: a user, a site with goals, a funnel, a saved segment,
two API keys, 2,544 demo events; expected.json holds v0.1.0's Stats API answers over fixed
dates) is opened by today's `footfall serve`, which migrates it, and answers the same. A data
directory or a backup from a newer footfall is refused in one line naming both versions.

How the fixture was made: `git worktree add /tmp/v010 v0.1.0`, then with
`PYTHONPATH=/tmp/v010/src` its CLI: `user create`, `site create shop.example --timezone
Europe/Berlin --owner ...`, `funnel create shop.example --name Checkout --step /pricing --step
Signup`, `apikey create --scope stats`, `demo --domain shop.example --events 3000 --days 3`;
then its `serve`, a segment through its Sites API, and `fixtures/stats_answers.py` against it.
"""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

import pytest

import footfall
from tests.e2e.harness import FOOTFALL, FootfallServer
from tests.ops.fixtures.stats_answers import stats_answers

pytestmark = pytest.mark.slow
FIXTURE = Path(__file__).with_name("fixtures") / "v0.1.0-data.tar.gz"


def unpack(into: Path) -> dict:
    with tarfile.open(FIXTURE) as archive:
        archive.extractall(into, filter="data")
    return json.loads((into / "expected.json").read_text())


def test_a_v0_1_0_data_dir_is_migrated_by_todays_serve_and_answers_the_same(tmp_path: Path) -> None:
    expected = unpack(tmp_path)
    server = FootfallServer(tmp_path / "data", env={"LOG_LEVEL": "info"})
    server.start()
    try:
        assert stats_answers(server.url, expected["api_key"], expected["segment_id"]) == expected["answers"]
        assert (tmp_path / "data" / "VERSION").read_text().strip() == footfall.__version__
        # ... and a backup of the upgraded directory restores to the same answers.
        made = subprocess.run(
            [FOOTFALL, "backup", "create", "--to", str(tmp_path / "backups")],
            env=server.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert made.returncode == 0, made.stderr
    finally:
        server.stop()
    restored = FootfallServer(tmp_path / "restored", env={"LOG_LEVEL": "info"})
    done = subprocess.run(
        [FOOTFALL, "backup", "restore", str(tmp_path / "backups")],
        env=restored.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    restored.start()
    try:
        assert stats_answers(restored.url, expected["api_key"], expected["segment_id"]) == expected["answers"]
    finally:
        restored.stop()


def test_a_data_dir_from_a_newer_footfall_is_refused_in_one_line(tmp_path: Path) -> None:
    unpack(tmp_path)
    (tmp_path / "data" / "VERSION").write_text("99.1.0\n")
    server = FootfallServer(tmp_path / "data")
    before = sorted(p.name for p in (tmp_path / "data").iterdir())
    for args in (("serve",), ("migrate",)):
        result = subprocess.run(
            [FOOTFALL, *args], env=server.env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 1
        lines = [line for line in result.stderr.strip().splitlines() if "error" in line]
        assert lines == [
            f"footfall: error: {tmp_path / 'data'} was written by footfall 99.1.0, newer than this footfall "
            f"{footfall.__version__}: downgrades are not supported; run footfall 99.1.0 or later"
        ], result.stderr
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == before  # nothing written


def test_a_backup_from_a_newer_footfall_is_refused_naming_both_versions(tmp_path: Path) -> None:
    from footfall.ops.admin import AdminError
    from footfall.ops.backup import check_version

    with pytest.raises(AdminError) as refused:
        check_version({"footfall_version": "1.4.2"})
    assert str(refused.value) == (
        f"this backup was made by footfall 1.4.2, newer than this footfall {footfall.__version__}; "
        "restore it with footfall 1.4.2 or later"
    )
    check_version({"footfall_version": "0.1.0"})  # older: fine
