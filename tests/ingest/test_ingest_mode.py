"""The write path runs as the environment says: `make test` runs the ingest and stats tests
once compiled and once more with FOOTFALL_PURE_PYTHON=1, and this test tells the two runs
apart, so neither can silently run the other's code."""

from __future__ import annotations

import os

import footfall.ingest.pipeline
import footfall.web.event
from footfall import compiled


def test_the_hot_modules_are_the_source_exactly_when_told_or_not_compiled() -> None:
    loaded = [footfall.ingest.pipeline.__file__, footfall.web.event.__file__]
    wanted_source = os.environ.get("FOOTFALL_PURE_PYTHON", "") not in ("", "0")
    built = all(compiled.compiled_extensions(m) for m in compiled.HOT_MODULES) and compiled.shared_runtime()
    if wanted_source or not built or compiled.stale_modules():
        assert all(path.endswith(".py") for path in loaded), loaded
    else:
        assert not any(path.endswith(".py") for path in loaded), loaded
