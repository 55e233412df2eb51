"""The compiled write path (footfall.compiled): used when it matches its source, else the source."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from footfall import compiled
from tests.conftest import unavailable

PROBE = (
    "import footfall, footfall.ingest.pipeline as p, footfall.web.event as e; "
    "print(footfall.HOT_PATH); print(p.__file__); print(e.__file__)"
)


def probe(**env: str) -> list[str]:
    inherited = {name: value for name, value in os.environ.items() if name != "FOOTFALL_PURE_PYTHON"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env={**inherited, **env}, capture_output=True, text=True, check=True
    )
    return done.stdout.splitlines()


def test_a_module_changed_since_it_was_compiled_is_stale(tmp_path: Path, monkeypatch) -> None:
    manifest = tmp_path / "compiled.json"
    digests = {module: compiled.source_digest(module) for module in compiled.HOT_MODULES}
    manifest.write_text(json.dumps(digests))
    monkeypatch.setattr(compiled, "MANIFEST", manifest)
    monkeypatch.setattr(compiled, "compiled_extensions", lambda module: [Path("x.so")])
    assert compiled.stale_modules() == []
    manifest.write_text(json.dumps({**digests, "footfall.ingest.request": "0" * 64}))
    assert compiled.stale_modules() == ["footfall.ingest.request"]
    manifest.write_text("{not json")
    assert compiled.stale_modules() == list(compiled.HOT_MODULES)


def test_the_source_finder_finds_each_hot_module_s_source() -> None:
    finder = compiled._SourceFirst(compiled.HOT_MODULES)
    for module in compiled.HOT_MODULES:
        spec = finder.find_spec(module)
        assert spec is not None and spec.origin == str(compiled.source_path(module))
    assert finder.find_spec("footfall.stats.sql") is None


def test_make_compiles_the_write_path_and_pure_python_still_runs_it() -> None:
    if not any(compiled.compiled_extensions(m) for m in compiled.HOT_MODULES):
        # make test compiles it (scripts/compile_hot_path.py): under CI=true this fails.
        unavailable("the compiled write path", FileNotFoundError("run `make compile`"))
    mode, pipeline, event = probe()
    assert mode == "compiled"
    assert not pipeline.endswith(".py") and not event.endswith(".py")
    mode, pipeline, event = probe(FOOTFALL_PURE_PYTHON="1")
    assert mode == "source (FOOTFALL_PURE_PYTHON is set)"
    assert pipeline.endswith("pipeline.py") and event.endswith("event.py")
