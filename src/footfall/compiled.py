"""The write path's hot modules, compiled to C with mypyc where the machine allows.

Every tracker post runs the same few functions (parse the body, resolve the address, the
pipeline's steps, frame the log record): in CPython they cost about 23 µs an event on the
development machine, compiled about 16 µs (`python -m bench.ingest.per_event`), which is most
of what limits one `footfall serve` process. `make run` and `make test` compile them with
`scripts/compile_hot_path.py`: an extension module (`pipeline.cpython-311-...so`) beside
each source file, which Python imports instead of the source, mypyc's shared runtime for
them (`footfall/hot_path__mypyc...so`), and `compiled.json`, the SHA-256 of each source as it
was compiled. All of them are package data, so a wheel built after `make compile` carries
the compiled write path (setup.py marks such a wheel as specific to its platform).

The source stays the truth. `use_source_if_stale` (run when `footfall` is imported) looks at
`compiled.json`: if any of the modules changed since it was compiled, or
`FOOTFALL_PURE_PYTHON=1` is set, all of them are imported from their source (the compiled
modules call each other directly, so they are used together or not at all). Without a
compiler, or in an install without the extensions, nothing is compiled and the source runs.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

HOT_MODULES = (
    "footfall.ingest.client_ip",
    "footfall.ingest.identity",
    "footfall.ingest.pipeline",
    "footfall.ingest.request",
    "footfall.ingest.sessions",
    "footfall.web.event",
)
# The compiled modules' shared runtime is the extension module `<SHARED_RUNTIME>__mypyc`.
SHARED_RUNTIME = "footfall.hot_path"
PACKAGE = Path(__file__).resolve().parent
MANIFEST = PACKAGE / "compiled.json"


def source_path(module: str) -> Path:
    """`footfall.ingest.pipeline` -> .../footfall/ingest/pipeline.py"""
    return PACKAGE.joinpath(*module.split(".")[1:]).with_suffix(".py")


def source_digest(module: str) -> str:
    return hashlib.sha256(source_path(module).read_bytes()).hexdigest()


def write_manifest() -> None:
    """Record the sources as they are now (after compiling them)."""
    MANIFEST.write_text(json.dumps({m: source_digest(m) for m in HOT_MODULES}, indent=1) + "\n")


def compiled_extensions(module: str) -> list[Path]:
    source = source_path(module)
    return [
        source.with_name(source.stem + suffix)
        for suffix in importlib.machinery.EXTENSION_SUFFIXES
        if source.with_name(source.stem + suffix).exists()
    ]


def shared_runtime() -> list[Path]:
    stem = SHARED_RUNTIME.rsplit(".", 1)[1] + "__mypyc"
    return [
        PACKAGE / (stem + suffix)
        for suffix in importlib.machinery.EXTENSION_SUFFIXES
        if (PACKAGE / (stem + suffix)).exists()
    ]


def stale_modules() -> list[str]:
    """The hot modules whose source differs from what was compiled ([] if none was)."""
    if not MANIFEST.exists() or not any(compiled_extensions(m) for m in HOT_MODULES):
        return []
    try:
        recorded = json.loads(MANIFEST.read_text())
    except (OSError, ValueError):
        return list(HOT_MODULES)
    return [m for m in HOT_MODULES if recorded.get(m) != source_digest(m)]


class _SourceFirst(importlib.abc.MetaPathFinder):
    """Finds the hot modules' source files, ahead of their compiled extensions."""

    def __init__(self, modules: Sequence[str]) -> None:
        self.modules = frozenset(modules)

    def find_spec(self, name: str, path: object = None, target: ModuleType | None = None):
        if name not in self.modules:
            return None
        return importlib.util.spec_from_file_location(name, source_path(name))


def use_source_if_stale() -> str:
    """Decide, before any hot module is imported, which of the two runs: 'compiled',
    'source' (nothing compiled), or why the source runs although something is compiled."""
    if not any(compiled_extensions(m) for m in HOT_MODULES):
        return "source"
    stale = stale_modules()
    if os.environ.get("FOOTFALL_PURE_PYTHON", "") not in ("", "0"):
        reason = "source (FOOTFALL_PURE_PYTHON is set)"
    elif not shared_runtime():
        reason = "source (the compiled modules' runtime is missing: run `make compile`)"
    elif stale:
        reason = f"source ({', '.join(stale)} changed since compiled: run `make compile`)"
    else:
        return "compiled"
    if not any(isinstance(finder, _SourceFirst) for finder in sys.meta_path):
        sys.meta_path.insert(0, _SourceFirst(HOT_MODULES))
    return reason
