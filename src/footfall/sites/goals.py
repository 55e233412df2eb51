"""A site's goals: the pageviews and custom events it counts as conversions.

Finding or creating a goal, renaming one and deleting one live here so that the settings
page, the Sites API and `footfall funnel create` (which finds or creates the goals its steps
name) agree on what a goal is, and so that deleting a goal always takes its funnel steps with
it. A goal's display name is what the dashboard and reports show; it is unique per site (as
Plausible's) and may be changed; what the goal counts may not.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from footfall.accounts.errors import DomainError
from footfall.meta.models import Funnel, FunnelStep, Goal, Site
from footfall.sites.funnels import MIN_STEPS

MAX_EVENT_NAME = 120
MAX_PAGE_PATH = 2000
MAX_DISPLAY_NAME = 120


def _display_name(db: Session, site: Site, raw: str, goal: Goal | None = None) -> str:
    name = " ".join((raw or "").split())
    if not name or len(name) > MAX_DISPLAY_NAME:
        raise DomainError(
            f"a goal's display name is 1 to {MAX_DISPLAY_NAME} characters", field="display_name"
        )
    clash = db.scalar(
        select(Goal.id).where(
            Goal.site_id == site.id, Goal.display_name == name, Goal.id != (goal.id if goal else -1)
        )
    )
    if clash is not None:
        raise DomainError(f"another goal of this site is already named {name!r}", field="display_name")
    return name


def rename_goal(db: Session, site: Site, goal: Goal, display_name: str) -> Goal:
    """Give `goal` another display name (what it counts stays)."""
    goal.display_name = _display_name(db, site, display_name, goal)
    db.flush()
    return goal


def currency_code(raw: str) -> str:
    """An ISO 4217 currency code (`eur` -> `EUR`) a revenue goal may count in."""
    import pycountry

    code = (raw or "").strip().upper()
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        raise DomainError(f"currency: {raw!r} is not an ISO 4217 currency code such as EUR", field="currency")
    return code


def find_or_create_event_goal(
    db: Session, site: Site, event_name: str, currency: str | None = None, display_name: str | None = None
) -> Goal:
    """The site's goal for custom events named `event_name`, created if it has none; with
    `display_name`, named so (an existing goal is renamed).

    An existing goal keeps its currency, whatever `currency` says: a goal's currency is
    fixed when it is created. (Plausible's Sites API refuses a different currency instead.)"""
    name = event_name.strip()
    if not name or len(name) > MAX_EVENT_NAME:
        raise DomainError(f"an event name is 1 to {MAX_EVENT_NAME} characters", field="event_name")
    if currency is not None:
        currency = currency_code(currency)
    existing = db.scalar(select(Goal).where(Goal.site_id == site.id, Goal.event_name == name))
    if existing is not None:
        return rename_goal(db, site, existing, display_name) if display_name else existing
    goal = Goal(
        site_id=site.id,
        event_name=name,
        display_name=_display_name(db, site, display_name or name),
        currency=currency.upper() if currency else None,
    )
    db.add(goal)
    db.flush()
    return goal


def find_or_create_page_goal(
    db: Session, site: Site, page_path: str, display_name: str | None = None
) -> Goal:
    """The site's goal for pageviews of `page_path` (`*` and `**` wildcards allowed), created
    if it has none (named `display_name`, or renamed so); a path without its leading `/` gets one."""
    path = page_path.strip()
    if path and not path.startswith("/"):
        path = "/" + path
    if not path or len(path) > MAX_PAGE_PATH:
        raise DomainError(f"a page path is 1 to {MAX_PAGE_PATH} characters", field="page_path")
    existing = db.scalar(select(Goal).where(Goal.site_id == site.id, Goal.page_path == path))
    if existing is not None:
        return rename_goal(db, site, existing, display_name) if display_name else existing
    goal = Goal(
        site_id=site.id, page_path=path, display_name=_display_name(db, site, display_name or f"Visit {path}")
    )
    db.add(goal)
    db.flush()
    return goal


def goal_for_step(db: Session, site: Site, step: str) -> Goal:
    """The goal a command-line funnel step names, found or created: a step that starts with
    `/` is a pageview of that path (`/pricing`, `/blog/**`), any other an event's name."""
    text = step.strip()
    if text.startswith("/"):
        return find_or_create_page_goal(db, site, text)
    return find_or_create_event_goal(db, site, text)


def delete_goal(db: Session, goal: Goal) -> None:
    """Delete `goal` and its step in every funnel, as Plausible does. A funnel that would be
    left with fewer than two steps is deleted with it: it could no longer be counted."""
    funnels = db.scalars(select(Funnel).join(FunnelStep).where(FunnelStep.goal_id == goal.id)).all()
    for funnel in funnels:
        if len(funnel.steps) <= MIN_STEPS:
            db.delete(funnel)
        else:
            # The later steps keep their numbers: the order, not the numbering, is the funnel.
            funnel.steps = [step for step in funnel.steps if step.goal_id != goal.id]
    db.flush()
    db.delete(goal)
    db.flush()
