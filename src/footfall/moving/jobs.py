"""Imports and exports run in the background of a serving footfall (the settings page starts
them): one thread each, on the server's own stores, so the embedded event store stays in one
process and ingestion goes on (each statement holds the store for one batch at a time).

An import's progress is its row in `site_imports` (see `footfall.moving.imports`); an export's
is kept here, and its finished archive is a file under `DATA_DIR/exports/<site id>/`.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import select

from footfall.accounts.errors import DomainError
from footfall.meta.db import session_scope
from footfall.meta.models import SiteImport
from footfall.moving.export import archive_name, write_export
from footfall.moving.imports import INTERRUPTED, get_import, resume_import, run_import
from footfall.services import Services

log = logging.getLogger("footfall.moving")
EXPORTS = "moving_exports"  # key in Services.extras: site id -> ExportJob


@dataclass
class ExportJob:
    state: str  # running | ready | failed
    name: str
    path: Path
    error: str | None = None
    first: date | None = None
    last: date | None = None


def uploads_dir(services: Services) -> Path:
    return services.settings.data_dir / "imports"


def exports_dir(services: Services, site_id: int) -> Path:
    return services.settings.data_dir / "exports" / str(site_id)


def start_import(
    services: Services, site_id: int, upload: Path, label: str, user_id: int | None
) -> threading.Thread:
    """Import an uploaded file in the background; the upload is deleted when the import is done
    (completed or failed), and kept while it is interrupted, to resume from."""
    return _in_background(
        services,
        site_id,
        lambda: run_import(services, site_id, upload, label=label, user_id=user_id).record.id,
        upload,
    )


def start_resume(services: Services, site_id: int, import_id: int) -> threading.Thread:
    """Resume an interrupted import in the background (its upload, if it was one, is then deleted)."""
    with session_scope(services.sessions) as db:
        path = Path(str((get_import(db, site_id, import_id).checkpoint or {}).get("path") or ""))
    upload = path if _is_upload(services, path) else None
    return _in_background(
        services, site_id, lambda: resume_import(services, site_id, import_id).record.id, upload
    )


def _in_background(
    services: Services, site_id: int, run: Callable[[], int], upload: Path | None
) -> threading.Thread:
    def work() -> None:
        try:
            run()
        except DomainError as error:
            log.info("import into site %s refused: %s", site_id, error)
        except Exception:
            log.exception("import into site %s was interrupted", site_id)
        finally:
            if upload is not None and not _still_needed(services, upload):
                discard_upload(services, upload)

    thread = threading.Thread(target=work, name=f"import-{site_id}", daemon=True)
    thread.start()
    return thread


def _is_upload(services: Services, path: Path) -> bool:
    return path.name != "" and path.resolve().parent == uploads_dir(services).resolve()


def _still_needed(services: Services, upload: Path) -> bool:
    """Whether an interrupted import will read the upload again when it is resumed."""
    with session_scope(services.sessions) as db:
        return any(
            Path(str((record.checkpoint or {}).get("path") or "")) == upload.resolve()
            for record in db.scalars(select(SiteImport).where(SiteImport.state == INTERRUPTED))
        )


def discard_upload(services: Services, path: Path) -> None:
    """Delete an uploaded file (or the folder a single uploaded CSV sits in); nothing else."""
    if not _is_upload(services, path):
        return
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def export_job(services: Services, site_id: int) -> ExportJob | None:
    """The site's export: running, failed, or the last archive made (found on disk after a restart)."""
    jobs: dict[int, ExportJob] = services.extras.setdefault(EXPORTS, {})
    job = jobs.get(site_id)
    if job is not None:
        return job
    folder = exports_dir(services, site_id)
    made = sorted(folder.glob("*.zip")) if folder.is_dir() else []
    if made:
        return ExportJob("ready", made[-1].name, made[-1])
    return None


def start_export(
    services: Services, site_id: int, domain: str, timezone: str, first: date, last: date
) -> threading.Thread | None:
    """Write the site's export in the background (one at a time per site); None if one is running."""
    jobs: dict[int, ExportJob] = services.extras.setdefault(EXPORTS, {})
    running = jobs.get(site_id)
    if running is not None and running.state == "running":
        return None
    assert services.events is not None
    folder = exports_dir(services, site_id)
    name = archive_name(domain, datetime.now(UTC).date())
    job = ExportJob("running", name, folder / name, first=first, last=last)
    jobs[site_id] = job

    def work() -> None:
        try:
            assert services.events is not None
            folder.mkdir(parents=True, exist_ok=True)
            write_export(services.events, site_id, timezone, first, last, job.path)
            for older in folder.glob("*.zip"):
                if older != job.path:
                    older.unlink(missing_ok=True)
            job.state = "ready"
        except Exception as error:
            log.exception("export of site %s failed", site_id)
            job.state, job.error = (
                "failed",
                str(error).strip().splitlines()[0] if str(error).strip() else "failed",
            )

    thread = threading.Thread(target=work, name=f"export-{site_id}", daemon=True)
    thread.start()
    return thread
