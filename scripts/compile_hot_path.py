"""Compile footfall's write-path hot modules with mypyc (see src/footfall/compiled.py).

    .venv/bin/python scripts/compile_hot_path.py          # what `make compile` runs
    .venv/bin/python scripts/compile_hot_path.py --clean  # back to the source alone

    .venv/bin/python scripts/compile_hot_path.py --require  # the image build: fail if not compiled

Builds one extension module beside each source file in src/footfall/ and mypyc's shared
runtime for them inside the package (`footfall/hot_path__mypyc.*.so`, so a wheel carries it
as package data, see setup.py), then records the sources' digests in
src/footfall/compiled.json. If mypyc or a C compiler is missing, or compiling fails, it says
so in one line, removes any partial result, and exits 0 (1 with `--require`): footfall then
runs its source, only slower.
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
sys.path.insert(0, str(SRC))

from footfall import compiled  # noqa: E402


# mypycify() run as the `mypyc` command runs it, but with a group name inside the package:
# the shared runtime is then `footfall.hot_path__mypyc`, installed with the package (the
# command's default, a top-level module named after a hash, is left out of every wheel).
BUILD = """
import sys
from setuptools import setup
from mypyc.build import mypycify
cache, *sources = sys.argv[1:]
setup(
    name="footfall-hot-path",
    ext_modules=mypycify(["--cache-dir", cache, *sources], group_name=%r),
    script_args=["build_ext", "--inplace"],
)
"""


def built_files() -> list[Path]:
    found = [p for m in compiled.HOT_MODULES for p in compiled.compiled_extensions(m)]
    # Top-level runtimes are what this script built before the runtime moved into the package.
    return found + compiled.shared_runtime() + sorted(SRC.glob("*__mypyc.*"))


def clean() -> None:
    for path in built_files():
        path.unlink()
    compiled.MANIFEST.unlink(missing_ok=True)


def compile_modules() -> str:
    if importlib.util.find_spec("mypyc") is None:
        return "mypyc is not installed (pip install mypy)"
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        return "no C compiler"
    sources = [str(compiled.source_path(m).relative_to(SRC)) for m in compiled.HOT_MODULES]
    with tempfile.TemporaryDirectory(prefix="footfall-mypyc-") as cache:
        done = subprocess.run(
            [sys.executable, "-c", BUILD % compiled.SHARED_RUNTIME, cache, *sources],
            cwd=SRC,
            capture_output=True,
            text=True,
        )
    shutil.rmtree(SRC / "build", ignore_errors=True)
    if done.returncode != 0:
        lines = [line for line in (done.stdout + done.stderr).splitlines() if "error" in line.lower()]
        return "mypyc failed: " + (lines[0] if lines else f"exit status {done.returncode}")
    compiled.write_manifest()
    return ""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clean", action="store_true", help="remove the compiled modules")
    parser.add_argument(
        "--require", action="store_true", help="exit 1 if the write path cannot be compiled (image builds)"
    )
    args = parser.parse_args()
    if not args.clean and compiled.use_source_if_stale() == "compiled":
        print("write path compiled: up to date")
        return
    clean()
    if args.clean:
        print("compiled write path removed: footfall runs its source")
        return
    problem = compile_modules()
    if problem:
        clean()
        print(f"write path not compiled ({problem}); footfall runs its source, slower")
        if args.require:
            sys.exit(1)
        return
    print(f"write path compiled: {len(compiled.HOT_MODULES)} modules (src/footfall/compiled.json)")


if __name__ == "__main__":
    main()
