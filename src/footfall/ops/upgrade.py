"""Versions: which footfall wrote a data directory or a backup, and refusing a downgrade.

`footfall serve` (and every command that opens the stores) records its version in
`DATA_DIR/VERSION` once it has migrated them; a data directory written by a newer footfall
is refused in one line naming both versions, before anything is migrated or written.
"""

from __future__ import annotations

import re
from pathlib import Path

import footfall

VERSION_FILE = "VERSION"


class DowngradeRefused(RuntimeError):
    pass


def parse(version: str) -> tuple[int, ...]:
    """`0.1.0` -> (0, 1, 0); anything after the numbers (`.dev1`, `+local`) is ignored."""
    match = re.match(r"\s*v?(\d+(?:\.\d+)*)", version)
    if not match:
        return ()
    return tuple(int(part) for part in match.group(1).split("."))


def newer_than_running(version: str) -> bool:
    other, running = parse(version), parse(footfall.__version__)
    return bool(other) and other > running


def recorded_version(data_dir: Path) -> str | None:
    path = data_dir / VERSION_FILE
    if not path.is_file():
        return None
    return path.read_text().strip() or None


def check_data_dir(data_dir: Path) -> None:
    """Refuse a data directory a newer footfall wrote."""
    recorded = recorded_version(data_dir)
    if recorded is not None and newer_than_running(recorded):
        raise DowngradeRefused(
            f"{data_dir} was written by footfall {recorded}, newer than this footfall "
            f"{footfall.__version__}: downgrades are not supported; run footfall {recorded} or later"
        )


def record_version(data_dir: Path) -> None:
    """Note this footfall's version in DATA_DIR (after its migrations ran), unless newer is noted."""
    recorded = recorded_version(data_dir)
    if recorded is not None and parse(recorded) >= parse(footfall.__version__):
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / VERSION_FILE).write_text(footfall.__version__ + "\n")
