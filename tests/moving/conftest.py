"""Fixtures for moving in and out: one metadata store and event database per module, a new site
per test (so tests share the stores and never each other's rows)."""

from __future__ import annotations

import io
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from footfall.config import load_settings
from footfall.events.chdb_store import ChdbStore
from footfall.events.schema import IMPORTED_TABLES
from footfall.events.store import migrate_events
from footfall.meta.db import make_engine, make_sessionmaker, migrate, session_scope
from footfall.meta.models import Site
from footfall.services import Services
from footfall.sites.sites import create_site


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory, chdb_engine: ChdbStore) -> Iterator[Services]:
    tmp = tmp_path_factory.mktemp("moving")
    settings = load_settings({"DATA_DIR": str(tmp / "data"), "DATABASE_URL": f"sqlite:///{tmp / 'meta.db'}"})
    engine = make_engine(settings.database_url)
    migrate(engine)
    store = chdb_engine.scoped(f"moving_{uuid.uuid4().hex[:12]}")
    migrate_events(store)
    yield Services(settings=settings, engine=engine, sessions=make_sessionmaker(engine), events=store)
    store.command("DROP DATABASE IF EXISTS {db}")
    engine.dispose()


@pytest.fixture
def site(services: Services) -> Site:
    with session_scope(services.sessions) as db:
        return create_site(db, f"s{uuid.uuid4().hex[:10]}.example")


def stored_rows(services: Services, site_id: int) -> dict[str, int]:
    """Rows per imported table of the site (tables without rows left out)."""
    assert services.events is not None
    counts = {}
    for table in IMPORTED_TABLES:
        count = services.events.query(
            f"SELECT count() FROM {{db}}.{table} WHERE site_id = {{s:UInt64}}", {"s": site_id}
        ).scalar()
        if count:
            counts[table] = int(count)
    return counts


def write_zip(path: Path, files: dict[str, str | bytes]) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text.encode() if isinstance(text, str) else text)
    path.write_bytes(buffer.getvalue())
    return path


def import_cut_short(
    services: Services, site_id: int, path: Path, table: str, batch_rows: int, **options
) -> None:
    """`run_import` in batches of `batch_rows` rows, interrupted (Ctrl-C) as soon as `table`
    holds some of the import's rows: the tables before it complete, `table` half in."""
    import footfall.moving.imports as imports

    assert services.events is not None
    store = services.events

    def interrupt(done: int, total: int) -> None:
        if (
            done < total
            and store.query(
                f"SELECT count() FROM {{db}}.{table} WHERE site_id = {{s:UInt64}}", {"s": site_id}
            ).scalar()
        ):
            raise KeyboardInterrupt

    saved = imports.BATCH_ROWS, imports.PROGRESS_EVERY_SECONDS
    imports.BATCH_ROWS, imports.PROGRESS_EVERY_SECONDS = batch_rows, 0.0
    try:
        with pytest.raises(KeyboardInterrupt):
            imports.run_import(services, site_id, path, progress=interrupt, **options)
    finally:
        imports.BATCH_ROWS, imports.PROGRESS_EVERY_SECONDS = saved
