"""HTTP handlers of the Sites API (`/api/v1/sites...`): sites, goals, funnels, shared links and
shields, by Bearer key.

Plausible offers this API to Enterprise plans; footfall includes it. A key acts for its
user: it lists the sites that user may see, creates sites the user then owns, and changes
or deletes sites where the user is an owner (or admin, except deletion). Any key may list
and read; only a Sites API key (scope `sites:provision:*`) may create, change or delete.

Lists are paged as Plausible pages them: `limit` (1-100, default 100) and the opaque
cursors `after` / `before` taken from the previous answer's `meta`, where `null` means
there is no further page that way.

Funnels are footfall's routes (Plausible keeps funnels behind its dashboard): a funnel is a
named, ordered list of 2 to 8 of the site's goals, given by their ids, and
`GET /api/v1/stats/funnel?funnel_id=` counts it.

Shields are footfall's routes too (`/api/v1/sites/shields/{kind}`; Plausible's Sites API has
none): the rules, limits and messages of `footfall.sites.shields`, which the settings page and
`footfall shield` use, for the site's owners and admins.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson
from sqlalchemy import Select, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from footfall.accounts.errors import DomainError, NotFound
from footfall.meta.models import Funnel, Goal, Membership, Role, Site, User
from footfall.meta.shields import ShieldKind, ShieldRule
from footfall.sites.deletion import delete_site
from footfall.sites.funnels import create_funnel, delete_funnel, funnels_query, get_funnel, goals_by_id
from footfall.sites.goals import delete_goal, find_or_create_event_goal, find_or_create_page_goal
from footfall.sites.shared_links import find_or_create_shared_link, share_url
from footfall.sites.shields import (
    MAX_RULES,
    add_rule,
    find_rule,
    get_rule,
    list_rules,
    parse_kind,
    remove_rule,
)
from footfall.sites.sites import change_domain, change_retention, change_timezone, create_site
from footfall.web.api_plumbing import find_site, handle
from footfall.web.auth import ApiError
from footfall.web.stats_api import row_id

# Who manages goals, funnels and shared links: the same roles as on the settings pages.
EDITORS = (Role.owner, Role.admin, Role.editor)


class _SiteIdConvertor(Convertor[str]):
    """A site id in the path: any text, even with slashes or control characters, so that a
    malformed one still reaches the handler and gets a JSON answer instead of a bare 404."""

    regex = r"[\s\S]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("site_id", _SiteIdConvertor())
MAX_PAGE = 100


def _site_json(site: Site) -> dict[str, Any]:
    return {"domain": site.domain, "timezone": site.timezone}


def _site_details(site: Site) -> dict[str, Any]:
    # retention_days: a footfall extension (null: the instance's DATA_RETENTION_DAYS).
    return {**_site_json(site), "retention_days": site.retention_days}


def _goal_json(goal: Goal) -> dict[str, Any]:
    return {
        "id": goal.id,
        "display_name": goal.display_name,
        "goal_type": "event" if goal.event_name is not None else "page",
        "event_name": goal.event_name,
        "page_path": goal.page_path,
        "currency": goal.currency,
    }


def _funnel_json(funnel: Funnel) -> dict[str, Any]:
    """A funnel and its steps, each step the goal as `GET /api/v1/sites/goals` shows it."""
    return {"id": funnel.id, "name": funnel.name, "steps": [_goal_json(step.goal) for step in funnel.steps]}


def _find_site(db: Session, user: User, site_id: Any, roles: tuple[Role, ...] | None = None) -> Site:
    return find_site(db, user, site_id, roles)[0]


def _int_param(body: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    raw = body.get(name, default)
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ApiError(400, f"Parameter `{name}` must be a number") from None
    if not low <= value <= high:
        raise ApiError(400, f"Parameter `{name}` must be between {low} and {high}")
    return value


def _id_param(body: dict[str, Any], name: str) -> int:
    """A row id from the path (see `row_id`)."""
    found = row_id(str(body.get(name, "")))
    if found is None:
        raise ApiError(400, f"Parameter `{name}` must be a number")
    return found


# --- pagination -----------------------------------------------------------------------------------


def _cursor(kind: str, value: str | int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([kind, value])).rstrip(b"=").decode()


def _read_cursor(body: dict[str, Any], name: str, kind: str, value_type: type) -> Any:
    raw = body.get(name)
    if raw is None or raw == "":
        return None
    invalid = ApiError(400, f"Parameter `{name}` is not a valid pagination cursor; pass one from `meta`")
    if not isinstance(raw, str) or len(raw) > 1024:
        raise invalid
    try:
        decoded = orjson.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (binascii.Error, ValueError):
        raise invalid from None
    if not (
        isinstance(decoded, list)
        and len(decoded) == 2
        and decoded[0] == kind
        and type(decoded[1]) is value_type
    ):
        raise invalid
    return decoded[1]


def _page(
    db: Session, query: Select, column: InstrumentedAttribute, kind: str, body: dict[str, Any]
) -> tuple[list[Any], dict[str, Any]]:
    """One page of `query`'s rows in `column` order (unique), and Plausible's `meta`."""
    limit = _int_param(body, "limit", MAX_PAGE, 1, MAX_PAGE)
    value_type = int if column.type.python_type is int else str
    after = _read_cursor(body, "after", kind, value_type)
    before = _read_cursor(body, "before", kind, value_type)
    if after is not None and before is not None:
        raise ApiError(400, "Pass either `after` or `before`, not both")
    if before is None:
        narrowed = query if after is None else query.where(column > after)
        rows = list(db.scalars(narrowed.order_by(column).limit(limit + 1)))
        more_after, rows = len(rows) > limit, rows[:limit]
        more_before = bool(rows) and _exists(db, query.where(column < getattr(rows[0], column.key)))
    else:
        rows = list(db.scalars(query.where(column < before).order_by(column.desc()).limit(limit + 1)))
        more_before, rows = len(rows) > limit, rows[:limit][::-1]
        more_after = bool(rows) and _exists(db, query.where(column > getattr(rows[-1], column.key)))
    meta = {
        "after": _cursor(kind, getattr(rows[-1], column.key)) if more_after else None,
        "before": _cursor(kind, getattr(rows[0], column.key)) if more_before else None,
        "limit": limit,
    }
    return rows, meta


def _exists(db: Session, query: Select) -> bool:
    return bool(db.scalar(select(query.exists())))


# --- sites ----------------------------------------------------------------------------------------


async def sites_index(request: Request) -> Response:
    def work(db: Session, user: User, body: dict[str, Any]) -> Any:
        query = select(Site)
        if not user.is_superuser:
            query = query.join(Membership).where(Membership.user_id == user.id)
        sites, meta = _page(db, query, Site.domain, "site", body)
        return {"sites": [_site_json(s) for s in sites], "meta": meta}

    return await handle(request, work, provision=False)


async def sites_create(request: Request) -> Response:
    def work(db: Session, user: User, body: dict[str, Any]) -> Any:
        domain = body.get("domain")
        if not isinstance(domain, str) or not domain.strip():
            raise ApiError(400, "domain: can't be blank")
        timezone = body.get("timezone", "Etc/UTC")
        if not isinstance(timezone, str):
            raise ApiError(400, "timezone: is invalid")
        site = create_site(db, domain, timezone, owner=user)
        return _site_json(site)

    return await handle(request, work)


async def sites_show(request: Request) -> Response:
    def work(db: Session, user: User, body: dict[str, Any]) -> Any:
        site = _find_site(db, user, body.get("site_id"))
        return {**_site_details(site), "custom_properties": []}

    return await handle(request, work, provision=False)


async def sites_update(request: Request) -> Response:
    def work(db: Session, user: User, body: dict[str, Any]) -> Any:
        site = _find_site(db, user, body.get("site_id"), (Role.owner, Role.admin))
        if not {"domain", "timezone", "retention_days"} & body.keys():
            raise ApiError(
                400,
                "Payload must contain at least one of the parameters 'domain', 'timezone', 'retention_days'",
            )
        if "domain" in body:
            if not isinstance(body["domain"], str):
                raise ApiError(400, "domain: is invalid")
            change_domain(db, site, body["domain"])
        if "timezone" in body:
            if not isinstance(body["timezone"], str):
                raise ApiError(400, "timezone: is invalid")
            change_timezone(db, site, body["timezone"])
        if "retention_days" in body:
            settings = request.app.state.services.settings
            change_retention(db, site, body["retention_days"], settings.data_retention_days)
        db.flush()
        return _site_details(site) if "retention_days" in body else _site_json(site)

    return await handle(request, work)


async def sites_delete(request: Request) -> Response:
    def work(db: Session, user: User, body: dict[str, Any]) -> Any:
        site = _find_site(db, user, body.get("site_id"), (Role.owner,))
        delete_site(db, request.app.state.services.events, site)
        return {"deleted": True}

    return await handle(request, work)


# --- shared links ---------------------------------------------------------------------------------


async def shared_links_put(request: Request) -> Response:
    def work(db: Session, user: User, body: dict[str, Any]) -> Any:
        site = _find_site(db, user, body.get("site_id"), EDITORS)
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ApiError(400, "Parameter `name` is required to create a shared link")
        name = name.strip()[:200]
        link = find_or_create_shared_link(db, site, name)
        return {"name": link.name, "url": share_url(request.app.state.settings.base_url, site.domain, link)}

    return await handle(request, work)


# --- goals ----------------------------------------------------------------------------------------


async def goals_put(request: Request) -> Response:
    def work(db: Session, user: User, body: dict[str, Any]) -> Any:
        site = _find_site(db, user, body.get("site_id"), EDITORS)
        goal_type = body.get("goal_type")
        display_name = body.get("display_name")
        if display_name is not None and not isinstance(display_name, str):
            raise ApiError(400, "display_name: must be a string")
        display_name = display_name or None
        if goal_type == "event":
            event_name = body.get("event_name")
            if not isinstance(event_name, str) or not event_name.strip() or len(event_name) > 120:
                raise ApiError(400, "Parameter `event_name` is required to create a goal")
            currency = body.get("currency")
            if currency is not None and (
                not isinstance(currency, str) or len(currency) != 3 or not currency.isalpha()
            ):
                raise ApiError(400, "currency: is invalid")
            return _goal_json(find_or_create_event_goal(db, site, event_name, currency, display_name))
        if goal_type == "page":
            page_path = body.get("page_path")
            if not isinstance(page_path, str) or not page_path.strip() or len(page_path) > 2000:
                raise ApiError(400, "Parameter `page_path` is required to create a goal")
            return _goal_json(find_or_create_page_goal(db, site, page_path, display_name))
        raise ApiError(400, "Parameter `goal_type` is required to create a goal (`event` or `page`)")

    return await handle(request, work)


async def goals_index(request: Request) -> Response:
    def work(db: Session, user: User, body: dict[str, Any]) -> Any:
        site = _find_site(db, user, body.get("site_id"))
        goals, meta = _page(db, select(Goal).where(Goal.site_id == site.id), Goal.id, "goal", body)
        return {"goals": [_goal_json(g) for g in goals], "meta": meta}

    return await handle(request, work, provision=False)


async def goals_delete(request: Request) -> Response:
    def work(db: Session, user: User, body: dict[str, Any]) -> Any:
        site = _find_site(db, user, body.get("site_id"), EDITORS)
        goal_id = _id_param(body, "goal_id")
        goal = db.scalar(select(Goal).where(Goal.id == goal_id, Goal.site_id == site.id))
        if goal is None:
            raise ApiError(404, "Goal could not be found")
        delete_goal(db, goal)
        return {"deleted": True}

    return await handle(request, work)


# --- funnels --------------------------------------------------------------------------------------


async def funnels_put(request: Request) -> Response:
    """Find or create a funnel: `{"site_id", "name", "steps": [goal id, ...]}`. The same name
    with the same steps answers the existing funnel; with other steps it is a 400."""

    def work(db: Session, user: User, body: dict[str, Any]) -> Any:
        site = _find_site(db, user, body.get("site_id"), EDITORS)
        if "steps" not in body:
            raise ApiError(400, "Parameter `steps` is required: the funnel's goal ids, in order")
        goals = goals_by_id(db, site, body["steps"])
        return _funnel_json(create_funnel(db, site, body.get("name"), goals))

    return await handle(request, work)


async def funnels_index(request: Request) -> Response:
    def work(db: Session, user: User, body: dict[str, Any]) -> Any:
        site = _find_site(db, user, body.get("site_id"))
        funnels, meta = _page(db, funnels_query(site), Funnel.id, "funnel", body)
        return {"funnels": [_funnel_json(f) for f in funnels], "meta": meta}

    return await handle(request, work, provision=False)


async def funnels_delete(request: Request) -> Response:
    def work(db: Session, user: User, body: dict[str, Any]) -> Any:
        site = _find_site(db, user, body.get("site_id"), EDITORS)
        delete_funnel(db, get_funnel(db, site, _id_param(body, "funnel_id")))
        return {"deleted": True}

    return await handle(request, work)


# --- shields (footfall's own routes: Plausible's Sites API has none) -------------------------------

# Who manages shields: the same roles as the settings page's Shields tab.
ADMINS = (Role.owner, Role.admin)


def _shield_json(rule: ShieldRule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "kind": rule.kind.value,
        "value": rule.value,
        "description": rule.description,
        "added_by": rule.added_by,
        "inserted_at": rule.created_at.isoformat(timespec="seconds") + "Z",
    }


def _shield_kind(body: dict[str, Any]) -> ShieldKind:
    try:
        return parse_kind(str(body.get("kind", "")))
    except DomainError as error:
        raise ApiError(404, str(error)) from None


async def shields_index(request: Request) -> Response:
    """The site's rules of one kind (`ip`, `country`, `page`, `hostname`), oldest first."""

    def work(db: Session, user: User, body: dict[str, Any]) -> Any:
        kind = _shield_kind(body)
        site = _find_site(db, user, body.get("site_id"), ADMINS)
        rules = list_rules(db, site, kind)
        return {"rules": [_shield_json(r) for r in rules], "limit": MAX_RULES[kind]}

    return await handle(request, work, provision=False)


async def shields_put(request: Request) -> Response:
    """Find or create a rule: `{"site_id", "value", "description"?}`; the value is normalised
    (so `2001:DB8::1/128` finds `2001:db8::1`); a bad value or one over the kind's limit is a 400,
    with the settings page's and the CLI's message."""

    def work(db: Session, user: User, body: dict[str, Any]) -> Any:
        kind = _shield_kind(body)
        site = _find_site(db, user, body.get("site_id"), ADMINS)
        value, description = body.get("value"), body.get("description", "")
        if not isinstance(value, str) or not value.strip():
            raise ApiError(
                400, "Parameter `value` is required: the rule's address, country, page or hostname"
            )
        if not isinstance(description, str):
            raise ApiError(400, "Parameter `description` must be a string")
        try:
            return _shield_json(find_rule(db, site, kind, value))
        except NotFound:
            return _shield_json(add_rule(db, site, kind, value, description, added_by=user.email))

    return await handle(request, work)


async def shields_delete(request: Request) -> Response:
    def work(db: Session, user: User, body: dict[str, Any]) -> Any:
        kind = _shield_kind(body)
        site = _find_site(db, user, body.get("site_id"), ADMINS)
        rule = get_rule(db, site, _id_param(body, "rule_id"))
        if rule.kind is not kind:
            raise ApiError(404, f"{site.domain} has no {kind.value} rule {rule.id}")
        remove_rule(db, rule)
        return {"deleted": True}

    return await handle(request, work)


def sites_routes() -> list[BaseRoute]:
    return [
        Route("/api/v1/sites", sites_index, methods=["GET"]),
        Route("/api/v1/sites", sites_create, methods=["POST"]),
        Route("/api/v1/sites/goals", goals_index, methods=["GET"]),
        Route("/api/v1/sites/goals", goals_put, methods=["PUT"]),
        Route("/api/v1/sites/goals/{goal_id}", goals_delete, methods=["DELETE"]),
        Route("/api/v1/sites/funnels", funnels_index, methods=["GET"]),
        Route("/api/v1/sites/funnels", funnels_put, methods=["PUT"]),
        Route("/api/v1/sites/funnels/{funnel_id}", funnels_delete, methods=["DELETE"]),
        Route("/api/v1/sites/shared-links", shared_links_put, methods=["PUT"]),
        Route("/api/v1/sites/shields/{kind}", shields_index, methods=["GET"]),
        Route("/api/v1/sites/shields/{kind}", shields_put, methods=["PUT"]),
        Route("/api/v1/sites/shields/{kind}/{rule_id}", shields_delete, methods=["DELETE"]),
        Route("/api/v1/sites/{site_id:site_id}", sites_show, methods=["GET"]),
        Route("/api/v1/sites/{site_id:site_id}", sites_update, methods=["PUT"]),
        Route("/api/v1/sites/{site_id:site_id}", sites_delete, methods=["DELETE"]),
    ]
