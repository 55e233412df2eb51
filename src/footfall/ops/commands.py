"""The admin commands footfall itself registers (footfall.ops.admin): status and flush;
backup and store migration register theirs in their own modules, listed in
`footfall.ops.admin.COMMAND_MODULES`."""

from __future__ import annotations

import os
import time
from typing import Any

import footfall
from footfall.events.store import schema_version
from footfall.meta.db import current_revision
from footfall.ops.admin import AdminError, Job, admin_command

_STARTED = time.time()


@admin_command("status", exclusive=False)
def status(job: Job, args: dict[str, Any]) -> dict[str, Any]:
    """Who answers: version, process, schema versions, what waits in the write-ahead log."""
    services = job.services
    assert services.events is not None
    buffer = job.buffer
    return {
        "version": footfall.__version__,
        "via": job.via,
        "pid": os.getpid(),
        "uptime_seconds": round(time.time() - _STARTED, 1),
        "metadata": {"backend": services.engine.dialect.name, "revision": current_revision(services.engine)},
        "events": {
            "backend": "chdb" if services.settings.embedded_events else "clickhouse",
            "schema_version": schema_version(services.events),
        },
        "write_ahead_log": None
        if buffer is None
        else {"pending_bytes": buffer.pending_bytes, "pending_rows": buffer.pending_rows},
    }


@admin_command("flush", exclusive=False)
def flush(job: Job, args: dict[str, Any]) -> dict[str, Any]:
    """Store everything acknowledged so far."""
    job.flush_events(float(args.get("timeout", 120)))
    rows = job.services.events.query("SELECT count() FROM {db}.events").scalar() if job.services.events else 0
    return {"events": int(rows or 0)}


@admin_command("demo")
def demo(job: Job, args: dict[str, Any]) -> dict[str, Any]:
    """`footfall demo`: a demo site with believable traffic (footfall.demo)."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from footfall.accounts.users import get_user_by_email
    from footfall.demo import DEMO_GOALS, generate, remove
    from footfall.meta.db import session_scope
    from footfall.meta.models import Funnel, FunnelStep, Goal, Membership, Role, Site
    from footfall.sites.sites import create_site, get_site, normalise_domain
    from footfall.stats import daily
    from footfall.stats.query import GoalSpec

    services = job.services
    assert services.events is not None
    days = int(args.get("days", 30))
    with session_scope(services.sessions) as db:
        name = normalise_domain(str(args["domain"]))
        existing = db.scalar(select(Site.id).where(Site.domain == name))
        created = (
            create_site(db, name, str(args.get("timezone") or "Etc/UTC"))
            if existing is None
            else get_site(db, name)
        )
        if args.get("owner"):
            owner = get_user_by_email(db, str(args["owner"]))
            member = db.scalar(
                select(Membership.id).where(Membership.site_id == created.id, Membership.user_id == owner.id)
            )
            if member is None:
                db.add(Membership(site_id=created.id, user_id=owner.id, role=Role.owner))
        have = services.events.query(
            "SELECT count() FROM {db}.events WHERE site_id = {site:UInt64}", {"site": created.id}
        ).scalar()
        if have and not args.get("replace"):
            raise AdminError(f"{name} already has {have} events; pass --replace to regenerate them")
        if have:
            remove(services.events, created.id)
        goals = {g.display_name: g for g in db.scalars(select(Goal).where(Goal.site_id == created.id))}
        for spec in DEMO_GOALS:
            display = spec.get("event_name") or f"Visit {spec['page_path']}"
            if display not in goals:
                goals[display] = Goal(site_id=created.id, display_name=display, **spec)
                db.add(goals[display])
        db.flush()
        if db.scalar(select(Funnel.id).where(Funnel.site_id == created.id)) is None:
            funnel = Funnel(site_id=created.id, name="Pricing to signup")
            db.add(funnel)
            db.flush()
            for order, display in enumerate(("Visit /pricing", "Signup"), start=1):
                db.add(FunnelStep(funnel_id=funnel.id, goal_id=goals[display].id, step_order=order))
        result = generate(
            services.events,
            created.id,
            name,
            events=int(args.get("events", 150_000)),
            days=days,
            progress=lambda done, _total: job.progress(done, days, f"generating {name}"),
        )
        db.flush()
        db.refresh(created)
        goal_specs = tuple(
            GoalSpec(g.display_name, g.event_name, g.page_path, g.currency)
            for g in sorted(created.goals, key=lambda g: g.id)
        )
        # Count the sealed days now, so the demo's dashboard is fast from the first load.
        daily.refresh(services.events, [(created.id, goal_specs)], datetime.now(UTC))
    return {
        "domain": name,
        "visits": result.visits,
        "events": result.events,
        "first_day": str(result.first_day),
        "last_day": str(result.last_day),
    }
