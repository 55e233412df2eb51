"""`/:domain/settings/imports-exports`: export the site's data (a background job, then a download
link), import a Plausible CSV export or GA4 CSV reports (an upload, then a progress state), and
the list of imports with a delete button each. Owners and admins only (the tab's rule)."""

from __future__ import annotations

import secrets
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from starlette.datastructures import UploadFile
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute

from footfall.accounts.errors import DomainError
from footfall.meta.models import Role, SiteImport
from footfall.moving import jobs
from footfall.moving.export import data_range
from footfall.moving.imports import (
    IMPORTS_PER_SITE,
    INTERRUPTED,
    SOURCES,
    delete_import,
    get_import,
    list_imports,
    why_not_resumable,
)
from footfall.web.pages import Page, page_route, settings_route, site

TAB = "imports-exports"
UPLOAD_FIELD = "file"


def imports_exports(page: Page) -> Response:
    assert page.site is not None
    errors: dict[str, str] = {}
    if page.posted:
        action = page.field("action")
        try:
            if action == "import":
                return _import(page)
            if action == "export":
                return _export(page)
            if action == "delete":
                return _delete(page)
            if action == "resume":
                return _resume(page)
            raise DomainError("unknown action", field="action")
        except DomainError as error:
            errors[error.field or action or "action"] = str(error)
    return _render(page, errors)


def _render(page: Page, errors: dict[str, str]) -> Response:
    assert page.site is not None
    imports = list_imports(page.db, page.site.id)
    export = jobs.export_job(page.services, page.site.id)
    assert page.services.events is not None
    held = data_range(page.services.events, page.site.id, page.site.timezone)
    if held is None:  # nothing of its own yet: offer the last 30 days
        today = datetime.now(UTC).date()
        held = (today - timedelta(days=29), today)
    busy = any(i.state in ("importing", "deleting") for i in imports) or (
        export and export.state == "running"
    )
    return page.render(
        "settings/imports_exports.html",
        tab=TAB,
        imports=imports,
        resumable={item.id for item in imports if resumable(page, item)},
        sources=SOURCES,
        limit=IMPORTS_PER_SITE,
        export=export,
        first=page.field("from") or held[0].isoformat(),
        last=page.field("to") or held[1].isoformat(),
        busy=busy,
        errors=errors,
        status=400 if errors else 200,
    )


def _import(page: Page) -> Response:
    assert page.site is not None and page.form is not None
    upload = page.form.get(UPLOAD_FIELD)
    if not isinstance(upload, UploadFile) or not upload.filename:
        raise DomainError("choose a file: a Plausible export (.zip) or a GA4 report (.csv)", field="file")
    name = Path(upload.filename).name
    folder = jobs.uploads_dir(page.services)
    folder.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(8)
    if name.lower().endswith(".csv"):
        # A single CSV file (a GA4 report, one Plausible table) is imported as a folder of one.
        target = folder / f"{page.site.id}-{token}"
        target.mkdir()
        path = target / name
    elif name.lower().endswith(".zip"):
        target = path = folder / f"{page.site.id}-{token}.zip"
    else:
        raise DomainError(f"{name}: upload a .zip (Plausible's export) or a .csv file", field="file")
    with open(path, "wb") as out:
        shutil.copyfileobj(upload.file, out, 1 << 20)
    jobs.start_import(page.services, page.site.id, target, name, page.user.id if page.user else None)
    return page.redirect(
        page.site_url(f"settings/{TAB}"), f"Importing {name}: the list below shows its progress."
    )


def _export(page: Page) -> Response:
    assert page.site is not None
    try:
        first, last = date.fromisoformat(page.field("from")), date.fromisoformat(page.field("to"))
    except ValueError:
        raise DomainError("give the first and last day as YYYY-MM-DD", field="export") from None
    if last < first:
        raise DomainError(f"the last day ({last}) is before the first ({first})", field="export")
    started = jobs.start_export(
        page.services, page.site.id, page.site.domain, page.site.timezone, first, last
    )
    if started is None:
        raise DomainError("an export is already being prepared; wait for it to finish", field="export")
    return page.redirect(
        page.site_url(f"settings/{TAB}"), "Preparing the export: a download link appears when it is ready."
    )


def _import_id(page: Page, field: str) -> int:
    raw = page.field("import_id")
    if not raw.isascii() or not raw.isdigit():
        raise DomainError("no such import", field=field)
    return int(raw)


def _delete(page: Page) -> Response:
    assert page.site is not None
    try:
        gone = delete_import(page.services, page.site.id, _import_id(page, "delete"))
    except DomainError as error:
        raise DomainError(str(error), field="delete") from None
    jobs.discard_upload(page.services, Path(str((gone.checkpoint or {}).get("path") or "")))
    return page.redirect(
        page.site_url(f"settings/{TAB}"), f"Deleted import {gone.id} ({gone.label}) and its rows."
    )


def _resume(page: Page) -> Response:
    assert page.site is not None
    import_id = _import_id(page, "delete")
    try:
        record = get_import(page.db, page.site.id, import_id)
        if record.state != INTERRUPTED:
            raise DomainError(why_not_resumable(record))
        if not resumable(page, record):
            raise DomainError(
                f"import {import_id} cannot be resumed from here: upload the same file again, or delete it"
            )
        jobs.start_resume(page.services, page.site.id, import_id)
    except DomainError as error:
        raise DomainError(str(error), field="delete") from None
    return page.redirect(
        page.site_url(f"settings/{TAB}"), f"Resuming import {import_id}: the list below shows its progress."
    )


def resumable(page: Page, item: SiteImport) -> bool:
    """An interrupted import whose files are still where it read them."""
    path = (item.checkpoint or {}).get("path")
    return item.state == INTERRUPTED and bool(path) and Path(str(path)).exists()


def download(page: Page) -> Response:
    assert page.site is not None
    export = jobs.export_job(page.services, page.site.id)
    if export is None or export.state != "ready" or not export.path.is_file():
        return page.redirect(
            page.site_url(f"settings/{TAB}"), "There is no export ready yet: prepare one first."
        )
    return FileResponse(
        export.path,
        media_type="application/zip",
        filename=export.name,
        headers={"Cache-Control": "no-store"},
    )


def moving_routes() -> list[BaseRoute]:
    return [
        page_route(f"/{{domain:path}}/settings/{TAB}/download", download, site(Role.admin)),
        settings_route(TAB, imports_exports, methods=["GET", "POST"], uploads=1),
    ]
