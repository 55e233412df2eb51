"""Import, export and the imports list as admin commands (`footfall.ops.admin`): run by a serving
footfall on its own stores when it runs (so the embedded event store stays in one process and
ingestion goes on), or on stores the CLI opens when it is stopped. `footfall.commands.moving`
calls them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from footfall.accounts.errors import DomainError
from footfall.meta.db import session_scope
from footfall.moving.export import archive_name, data_range, write_export
from footfall.moving.imports import (
    SOURCES,
    ImportOutcome,
    delete_import,
    list_imports,
    resume_import,
    run_import,
    settle_interrupted_imports,
)
from footfall.ops.admin import Job, admin_command
from footfall.sites.sites import get_site


def _site(job: Job, domain: str) -> tuple[int, str, str]:
    with session_scope(job.services.sessions) as db:
        found = get_site(db, domain)
        return found.id, found.domain, found.timezone


def _alone(job: Job) -> None:
    if job.via == "direct":  # this process opened the stores: what is `importing` was cut short
        settle_interrupted_imports(job.services)


@admin_command("import", exclusive=False)
def import_command(job: Job, args: dict[str, Any]) -> dict[str, Any]:
    _alone(job)
    site_id, domain, _ = _site(job, str(args["domain"]))
    path = Path(str(args["path"]))
    outcome = run_import(
        job.services,
        site_id,
        path,
        label=args.get("label"),
        progress=lambda done, total: job.progress(done, total, f"importing {path.name}"),
    )
    return _outcome(domain, outcome)


def _outcome(domain: str, outcome: ImportOutcome) -> dict[str, Any]:
    record = outcome.record
    return {
        "id": record.id,
        "domain": domain,
        "rows": record.rows,
        "source": SOURCES[record.source],
        "first": str(record.start_date),
        "last": str(record.end_date),
        "skipped": outcome.skipped,
        "resumed": None if outcome.resumed is None else list(outcome.resumed),
    }


@admin_command("imports.resume", exclusive=False)
def imports_resume_command(job: Job, args: dict[str, Any]) -> dict[str, Any]:
    _alone(job)
    site_id, domain, _ = _site(job, str(args["domain"]))
    outcome = resume_import(
        job.services,
        site_id,
        int(args["id"]),
        progress=lambda done, total: job.progress(done, total, f"resuming import {args['id']}"),
    )
    return _outcome(domain, outcome)


@admin_command("export", exclusive=False)
def export_command(job: Job, args: dict[str, Any]) -> dict[str, Any]:
    _alone(job)
    site_id, domain, timezone = _site(job, str(args["domain"]))
    assert job.services.events is not None
    job.flush_events()  # every event acknowledged so far is in the export
    first = date.fromisoformat(args["first"]) if args.get("first") else None
    last = date.fromisoformat(args["last"]) if args.get("last") else None
    if first is None or last is None:
        held = data_range(job.services.events, site_id, timezone)
        if held is None:
            raise DomainError(f"{domain} has no data to export; give --from and --to to export empty files")
        first, last = first or held[0], last or held[1]
    if last < first:
        raise DomainError(f"--to {last} is before --from {first}")
    today = datetime.now(UTC).date()
    target = Path(str(args["out"])) if args.get("out") else Path.cwd() / archive_name(domain, today)
    if target.is_dir():
        target = target / archive_name(domain, today)
    written = write_export(
        job.services.events,
        site_id,
        timezone,
        first,
        last,
        target,
        progress=lambda done, total: job.progress(done, total, f"exporting {domain}"),
    )
    return {"path": str(target), "rows": sum(written.values()), "files": len(written), "first": str(first),
            "last": str(last)}  # fmt: skip


@admin_command("imports.list", exclusive=False)
def imports_list_command(job: Job, args: dict[str, Any]) -> dict[str, Any]:
    _alone(job)
    site_id, domain, _ = _site(job, str(args["domain"]))
    with session_scope(job.services.sessions) as db:
        found = [
            {
                "id": r.id,
                "source": SOURCES.get(r.source, r.source),
                "label": r.label,
                "first": str(r.start_date) if r.start_date else None,
                "last": str(r.end_date) if r.end_date else None,
                "rows": r.rows,
                "state": r.state,
                "error": r.error,
                "progress": [r.progress_done, r.progress_total],
            }
            for r in list_imports(db, site_id)
        ]
    return {"domain": domain, "imports": found}


@admin_command("imports.delete", exclusive=False)
def imports_delete_command(job: Job, args: dict[str, Any]) -> dict[str, Any]:
    _alone(job)
    site_id, domain, _ = _site(job, str(args["domain"]))
    gone = delete_import(job.services, site_id, int(args["id"]))
    return {"domain": domain, "id": gone.id, "label": gone.label, "rows": gone.rows}
