"""Funnels: a site's named, ordered lists of 2 to 8 of its goals, as Plausible models them.

A funnel only names its steps; `stats.engine.funnel` counts the visitors who reach each one
in order. The Sites API and `footfall funnel` create, list and delete funnels through the
functions here, so both refuse the same funnels for the same reasons.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from footfall.accounts.errors import Conflict, DomainError, NotFound
from footfall.meta.models import Funnel, FunnelStep, Goal, Site

MIN_STEPS = 2
MAX_STEPS = 8
MAX_NAME = 200
_MAX_ID = 2**63 - 1  # the metadata store's largest id; a larger number cannot name a row


def funnel_name(name: object) -> str:
    """`name` without surrounding spaces, if it can name a funnel."""
    if not isinstance(name, str) or not name.strip():
        raise DomainError("name: a funnel needs a name", field="name")
    if len(name.strip()) > MAX_NAME:
        raise DomainError(f"name: a funnel's name is at most {MAX_NAME} characters", field="name")
    return name.strip()


def _check_step_count(count: int) -> None:
    if not MIN_STEPS <= count <= MAX_STEPS:
        raise DomainError(f"steps: a funnel has {MIN_STEPS} to {MAX_STEPS} steps, not {count}", field="steps")


def goals_by_id(db: Session, site: Site, goal_ids: object) -> list[Goal]:
    """The goals of `site` that `goal_ids` lists, in its order: the steps of a funnel.

    Each id must be one of the site's goals (`GET /api/v1/sites/goals` lists them), at most
    once: a goal can be only one step of a funnel, as in Plausible. A goal of another site
    reads as unknown, so that its existence is not given away."""
    if not isinstance(goal_ids, list):
        raise DomainError("steps: a list of goal ids, in the funnel's order", field="steps")
    _check_step_count(len(goal_ids))
    for goal_id in goal_ids:
        if type(goal_id) is not int or not 1 <= goal_id <= _MAX_ID:
            raise DomainError(f"steps: {goal_id!r} is not a goal id (a positive integer)", field="steps")
    repeated = sorted({goal_id for goal_id in goal_ids if goal_ids.count(goal_id) > 1})
    if repeated:
        raise DomainError(
            f"steps: goal {repeated[0]} is listed twice; a goal is one step at most", field="steps"
        )
    found = {
        goal.id: goal
        for goal in db.scalars(select(Goal).where(Goal.site_id == site.id, Goal.id.in_(goal_ids)))
    }
    unknown = [goal_id for goal_id in goal_ids if goal_id not in found]
    if unknown:
        listed = ", ".join(str(goal_id) for goal_id in unknown)
        raise DomainError(f"steps: {site.domain} has no goal {listed}", field="steps")
    return [found[goal_id] for goal_id in goal_ids]


def create_funnel(db: Session, site: Site, name: str, goals: Sequence[Goal]) -> Funnel:
    """A funnel of `goals`, in that order, named `name`.

    If the site already has a funnel of that name with the same steps, that funnel is the
    answer, so that a retried request creates nothing twice; with other steps, the name is
    taken (delete that funnel first to redefine it)."""
    name = funnel_name(name)
    _check_step_count(len(goals))
    if len({goal.id for goal in goals}) != len(goals):
        raise DomainError("steps: a goal is one step of a funnel at most", field="steps")
    if any(goal.site_id != site.id for goal in goals):
        raise DomainError(f"steps: every step must be a goal of {site.domain}", field="steps")
    existing = db.scalar(select(Funnel).where(Funnel.site_id == site.id, Funnel.name == name))
    if existing is not None:
        if [step.goal_id for step in existing.steps] == [goal.id for goal in goals]:
            return existing
        raise Conflict(
            f"name: {site.domain} already has a funnel named {name!r} with other steps", field="name"
        )
    funnel = Funnel(
        site_id=site.id,
        name=name,
        steps=[FunnelStep(goal=goal, step_order=order) for order, goal in enumerate(goals, start=1)],
    )
    db.add(funnel)
    db.flush()
    return funnel


def funnels_query(site: Site) -> Select[tuple[Funnel]]:
    """The site's funnels with their steps' goals loaded (for listing, a page at a time)."""
    return (
        select(Funnel)
        .where(Funnel.site_id == site.id)
        .options(selectinload(Funnel.steps).selectinload(FunnelStep.goal))
    )


def list_funnels(db: Session, site: Site) -> list[Funnel]:
    """Every funnel of the site, oldest first."""
    return list(db.scalars(funnels_query(site).order_by(Funnel.id)))


def get_funnel(db: Session, site: Site, funnel_id: int) -> Funnel:
    """The site's funnel with that id; another site's funnel reads as unknown."""
    funnel = None
    if 1 <= funnel_id <= _MAX_ID:
        funnel = db.scalar(select(Funnel).where(Funnel.id == funnel_id, Funnel.site_id == site.id))
    if funnel is None:
        raise NotFound("Funnel could not be found", field="funnel_id")
    return funnel


def delete_funnel(db: Session, funnel: Funnel) -> None:
    """Delete the funnel and its steps; its goals stay."""
    db.delete(funnel)
    db.flush()
