"""Upgrades never break: a data directory written by each earlier release's own CLI and server
(tests/ops/fixtures/vX.Y.Z-data.tar.gz, with expected.json holding that release's Stats API
answers over fixed dates) is opened by today's `footfall serve`, which migrates it, and answers
the same; a backup of it restores the same; and from 0.2.0 on (the first release with `backup`)
the backup that release made while serving restores to the same answers. A data directory or a
backup from a newer footfall is refused in one line naming both versions.

v0.1.0's fixture (a user, a site with goals, a funnel, a saved segment, two API keys, 2,544 demo
events) was made by hand: `git worktree add /tmp/v010 v0.1.0`, then with
`PYTHONPATH=/tmp/v010/src` its CLI: `user create`, `site create shop.example --timezone
Europe/Berlin --owner ...`, `funnel create shop.example --name Checkout --step /pricing --step
Signup`, `apikey create --scope stats`, `demo --domain shop.example --events 3000 --days 3`;
then its `serve`, a segment through its Sites API, and `fixtures/stats_answers.py` against it.
Later releases' fixtures are made by `fixtures/make_release_fixture.py` (its docstring says how):
the same, plus a shield rule, an import of a Plausible CSV export and a backup.
"""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

import pytest

import footfall
from tests.e2e.harness import FOOTFALL, FootfallServer
from tests.ops.fixtures.stats_answers import RANGE, stats_answers

pytestmark = pytest.mark.slow
FIXTURES = Path(__file__).with_name("fixtures")
RELEASES = sorted(p.name.removesuffix("-data.tar.gz") for p in FIXTURES.glob("v*-data.tar.gz"))


def unpack(into: Path, release: str = "v0.1.0") -> dict:
    with tarfile.open(FIXTURES / f"{release}-data.tar.gz") as archive:
        archive.extractall(into, filter="data")
    return json.loads((into / "expected.json").read_text())


def answers(url: str, expected: dict) -> list:
    ranges = {"date_range": tuple(expected.get("range", RANGE))}
    if "imports_range" in expected:
        ranges["imports_range"] = tuple(expected["imports_range"])
    return stats_answers(url, expected["api_key"], expected["segment_id"], **ranges)


def restored_answers(backup: Path, into: Path, expected: dict) -> list:
    """`footfall backup restore` of `backup` into a fresh DATA_DIR `into`, then the answers of
    a server on it."""
    restored = FootfallServer(into, env={"LOG_LEVEL": "info"})
    done = subprocess.run(
        [FOOTFALL, "backup", "restore", str(backup)],
        env=restored.env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    restored.start()
    try:
        return answers(restored.url, expected)
    finally:
        restored.stop()


def test_every_release_has_a_fixture() -> None:
    """Each tagged release of the code before today's has its data dir here."""
    assert "v0.1.0" in RELEASES and "v0.2.0" in RELEASES, RELEASES
    assert footfall.__version__ not in {r.removeprefix("v") for r in RELEASES}


@pytest.mark.parametrize("release", RELEASES)
def test_an_earlier_releases_data_dir_is_migrated_by_todays_serve_and_answers_the_same(
    tmp_path: Path, release: str
) -> None:
    expected = unpack(tmp_path, release)
    assert (tmp_path / "data" / "VERSION").exists() == (release != "v0.1.0")
    server = FootfallServer(tmp_path / "data", env={"LOG_LEVEL": "info"})
    server.start()
    try:
        assert answers(server.url, expected) == expected["answers"]
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
    assert restored_answers(tmp_path / "backups", tmp_path / "restored", expected) == expected["answers"]


@pytest.mark.parametrize("release", [r for r in RELEASES if r != "v0.1.0"])
def test_a_backup_an_earlier_release_made_while_serving_restores_to_its_answers(
    tmp_path: Path, release: str
) -> None:
    expected = unpack(tmp_path, release)
    manifest = next((tmp_path / "backup").glob("*/manifest.json"))
    assert json.loads(manifest.read_text())["footfall_version"] == release.removeprefix("v")
    assert restored_answers(tmp_path / "backup", tmp_path / "restored", expected) == expected["answers"]


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
