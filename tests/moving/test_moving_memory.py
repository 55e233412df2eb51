"""An import is streamed: a 17 MB CSV (in a ZIP of a few MB) is imported while Python's heap
never holds more than a fraction of it (measured with tracemalloc, which sees every Python
allocation of this process: the parser, the rows, the batches)."""

from __future__ import annotations

import tracemalloc
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest

from footfall.meta.models import Site
from footfall.moving.imports import run_import
from footfall.services import Services

from .conftest import stored_rows

ROWS = 200_000


def _big_export(path: Path) -> int:
    """A Plausible export of 200,000 page rows (~17 MB of CSV); returns the CSV's size."""
    first = date(2019, 1, 1)
    last = first + timedelta(days=ROWS // 1000 - 1)
    name = f"imported_pages_{first:%Y%m%d}_{last:%Y%m%d}.csv"
    size = 0
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open(name, "w") as out,
    ):
        header = (
            b"date,hostname,page,visits,visitors,pageviews,total_scroll_depth,total_scroll_depth_visits\n"
        )
        out.write(header)
        size += len(header)
        for n in range(ROWS):
            day = first + timedelta(days=n // 1000)
            line = (
                f"{day},shop.example,/articles/{n % 1000:04d}/a-fairly-long-slug-for-the-page,3,2,5,120,2\n"
            )
            data = line.encode()
            out.write(data)
            size += len(data)
    return size


@pytest.mark.slow
def test_an_import_larger_than_its_memory_budget_is_streamed(
    services: Services, site: Site, tmp_path: Path
) -> None:
    archive = tmp_path / "big.zip"
    size = _big_export(archive)
    assert size > 15_000_000 and archive.stat().st_size < size / 5
    tracemalloc.start()
    try:
        outcome = run_import(services, site.id, archive)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert outcome.record.rows == ROWS
    assert stored_rows(services, site.id) == {"imported_pages": ROWS}
    # The whole file as rows would take several times its size; a streamed import holds one batch
    # (imports.BATCH_ROWS rows), whatever the size of the file.
    print(f"peak Python heap {peak / 1e6:.1f} MB for a {size / 1e6:.1f} MB CSV")
    assert peak < size / 3, f"peak {peak / 1e6:.1f} MB of Python heap for a {size / 1e6:.1f} MB file"
