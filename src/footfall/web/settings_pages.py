"""The site settings tabs accounts owns: general, people, visibility, goals, properties,
funnels, danger zone; and accepting an invitation (`/invitations/:token`).

Each tab is one route (GET shows it, POST does the form's `action`), and every change goes
through the domain function the Sites API and the CLI use, so the three refuse the same
input for the same reasons. How to add a tab: see `footfall.web.pages`.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from starlette.responses import Response
from starlette.routing import BaseRoute

from footfall.accounts import invitations
from footfall.accounts.errors import DomainError
from footfall.accounts.notify import deliver_invitation, deliver_ownership_transfer
from footfall.meta.models import Funnel, Goal, Role
from footfall.meta.segments import Segment, SegmentType
from footfall.sites import members as people_domain
from footfall.sites.access import may
from footfall.sites.deletion import delete_site
from footfall.sites.funnels import create_funnel, delete_funnel, get_funnel, goals_by_id
from footfall.sites.goals import delete_goal, find_or_create_event_goal, find_or_create_page_goal, rename_goal
from footfall.sites.properties import allow_property, disallow_property
from footfall.sites.shared_links import create_shared_link, list_shared_links, revoke_shared_link, share_url
from footfall.sites.sites import change_domain, change_retention, change_timezone, remove_member
from footfall.stats.properties import recent_keys
from footfall.web.pages import PUBLIC, Page, page_route, settings_route, site_path
from footfall.web.site_pages import TIMEZONES
from footfall.web.stats_api import row_id

# What an action answers: the notice to show on the tab, or (where to go, the notice).
Notice = str | tuple[str, str]


def _id(page: Page, name: str) -> int:
    value = row_id(page.field(name))
    if value is None:
        raise DomainError(f"{name}: not a valid id", field=name)
    return value


def _tab(
    tab: str, template: str, actions: dict[str, Callable[[Page], Notice]], context: Callable[[Page], dict]
) -> Callable[[Page], Response]:
    """A tab: POST runs `actions[action]` (its answer is the notice shown after the redirect);
    a DomainError re-renders the tab with the message, status 400."""

    def handler(page: Page) -> Response:
        error = None
        if page.posted:
            action = actions.get(page.field("action"))
            if action is None:
                error = "Unknown action."
            else:
                try:
                    with page.db.begin_nested():
                        notice = action(page)
                except DomainError as failure:
                    error = str(failure)
                else:
                    if isinstance(notice, tuple):  # the action moved the page (a new domain, a deleted site)
                        return page.redirect(*notice)
                    return page.redirect(page.request.url.path, notice)
        return page.render(
            f"settings/{template}", tab=tab, error=error, status=400 if error else 200, **context(page)
        )

    handler.__name__ = f"settings_{tab.replace('-', '_')}"
    return handler


# --- general --------------------------------------------------------------------------------------


def _change_domain(page: Page) -> Notice:
    assert page.site is not None
    change_domain(page.db, page.site, page.field("domain"))
    return site_path(page.site.domain, "settings/general"), f"The domain is now {page.site.domain}."


def _change_timezone(page: Page) -> str:
    assert page.site is not None
    change_timezone(page.db, page.site, page.field("timezone"))
    return f"The reporting time zone is now {page.site.timezone}."


def _change_retention(page: Page) -> str:
    assert page.site is not None
    change_retention(page.db, page.site, page.field("retention_days"), page.settings.data_retention_days)
    if page.site.retention_days is None:
        return "This site keeps its events as long as the instance does."
    return f"Events older than {page.site.retention_days} days are now deleted (daily)."


def _general_context(page: Page) -> dict:
    assert page.site is not None
    # A refused retention shows what was typed, so it can be corrected.
    if page.posted and page.field("action") == "retention":
        value = page.field("retention_days")
    else:
        value = "" if page.site.retention_days is None else str(page.site.retention_days)
    return {
        "timezones": TIMEZONES,
        "instance_retention_days": page.settings.data_retention_days,
        "retention_value": value,
    }


general = _tab(
    "general",
    "general.html",
    {"domain": _change_domain, "timezone": _change_timezone, "retention": _change_retention},
    _general_context,
)


# --- people ---------------------------------------------------------------------------------------


def _invite(page: Page) -> str:
    assert page.site is not None and page.user is not None
    role = invitations.parse_role(page.field("role"))
    token, invitation = invitations.invite(page.db, page.site, page.field("email"), role, page.user)
    url = f"{page.settings.base_url}/invitations/{token}"
    deliver_invitation(
        page.db, page.settings, invitation.email, page.site.domain, role.value, url, page.user.email
    )
    return f"{invitation.email} is invited as {role.value}; the invitation link is valid for 48 hours."


def _change_role(page: Page) -> str:
    assert page.site is not None and page.role is not None
    role = invitations.parse_role(page.field("role"), people_domain.ASSIGNABLE)
    changed = people_domain.change_role(page.db, page.site, page.role, _id(page, "user_id"), role)
    return f"{changed.user.email} is now {role.value}."


def _remove(page: Page) -> str:
    assert page.site is not None and page.user is not None
    target = people_domain.membership(page.db, page.site, _id(page, "user_id"))
    if target.role is Role.owner:
        raise DomainError("the owner cannot be removed; transfer ownership first", field="user_id")
    email = target.user.email
    remove_member(page.db, page.site, target.user)
    return f"{email} no longer has access to {page.site.domain}."


def _revoke_invitation(page: Page) -> str:
    assert page.site is not None
    invitations.revoke(page.db, page.site, _id(page, "invitation_id"))
    return "The invitation is revoked."


def _people_context(page: Page) -> dict:
    assert page.site is not None
    return {
        "members": people_domain.list_members(page.db, page.site),
        "invitations": invitations.pending(page.db, page.site),
        "roles": [r.value for r in people_domain.ASSIGNABLE],
    }


people = _tab(
    "people",
    "people.html",
    {"invite": _invite, "role": _change_role, "remove": _remove, "revoke": _revoke_invitation},
    _people_context,
)


# --- visibility -----------------------------------------------------------------------------------


def _make_link(page: Page) -> str:
    assert page.site is not None
    segment = page.field("segment_id")
    segment_id = _id(page, "segment_id") if segment else None
    link = create_shared_link(
        page.db, page.site, page.field("name"), page.field("password") or None, segment_id
    )
    return f"The shared link {link.name!r} is made."


def _revoke_link(page: Page) -> str:
    assert page.site is not None
    revoke_shared_link(page.db, page.site, _id(page, "link_id"))
    return "The shared link is revoked: it no longer opens the dashboard."


def _public(page: Page) -> str:
    assert page.site is not None
    if not may(page.role, Role.admin):
        raise DomainError("only owners and admins make a dashboard public", field="public")
    page.site.public = page.field("public") == "true"
    page.db.flush()
    return "The dashboard is now public." if page.site.public else "The dashboard is now private."


def _visibility_context(page: Page) -> dict:
    assert page.site is not None
    site = page.site
    links = [
        (link, share_url(page.settings.base_url, site.domain, link))
        for link in list_shared_links(page.db, site)
    ]
    segments = list(
        page.db.scalars(
            select(Segment)
            .where(Segment.site_id == site.id, Segment.type == SegmentType.site)
            .order_by(Segment.name)
        )
    )
    return {"links": links, "segments": segments, "may_publish": may(page.role, Role.admin)}


visibility = _tab(
    "visibility",
    "visibility.html",
    {"link": _make_link, "revoke": _revoke_link, "public": _public},
    _visibility_context,
)


# --- goals ----------------------------------------------------------------------------------------


def _add_goal(page: Page) -> str:
    assert page.site is not None
    kind = page.field("goal_type")
    name = page.field("display_name") or None
    if kind == "page":
        goal = find_or_create_page_goal(page.db, page.site, page.field("page_path"), name)
    elif kind in ("event", "revenue"):
        currency = page.field("currency").upper() if kind == "revenue" else None
        if kind == "revenue" and not currency:
            raise DomainError("a revenue goal needs a currency", field="currency")
        goal = find_or_create_event_goal(page.db, page.site, page.field("event_name"), currency, name)
    else:
        raise DomainError("choose a pageview, custom event or revenue goal", field="goal_type")
    return f"The goal {goal.display_name!r} is set."


def _goal(page: Page) -> Goal:
    assert page.site is not None
    goal = page.db.scalar(select(Goal).where(Goal.id == _id(page, "goal_id"), Goal.site_id == page.site.id))
    if goal is None:
        raise DomainError("no such goal", field="goal_id")
    return goal


def _rename_goal(page: Page) -> str:
    assert page.site is not None
    goal = _goal(page)
    old = goal.display_name
    rename_goal(page.db, page.site, goal, page.field("display_name"))
    return f"The goal {old!r} is now named {goal.display_name!r}."


def _delete_goal(page: Page) -> str:
    goal = _goal(page)
    name = goal.display_name
    delete_goal(page.db, goal)
    return f"The goal {name!r} is deleted."


def _goals(page: Page) -> list[Goal]:
    assert page.site is not None
    return list(page.db.scalars(select(Goal).where(Goal.site_id == page.site.id).order_by(Goal.id)))


goals = _tab(
    "goals",
    "goals.html",
    {"add": _add_goal, "rename": _rename_goal, "delete": _delete_goal},
    lambda page: {"goals": _goals(page)},
)


# --- properties -----------------------------------------------------------------------------------


def _allow(page: Page) -> str:
    assert page.site is not None
    allow_property(page.db, page.site, page.field("key"))
    return f"The dashboard offers the property {page.field('key')!r}."


def _disallow(page: Page) -> str:
    assert page.site is not None
    disallow_property(page.db, page.site, page.field("key"))
    return f"The property {page.field('key')!r} is hidden from the dashboard."


def _properties_context(page: Page) -> dict:
    """The allow-list, and the keys the site's events carried in the last 30 days that it does
    not hold yet (the suggestions)."""
    assert page.site is not None
    allowed = page.site.allowed_props
    seen = recent_keys(page.services.events, page.site.id) if page.services.events is not None else []
    return {
        "keys": allowed,
        "suggestions": [key for key in seen if key not in (allowed or [])],
        "suggestion_days": 30,
    }


properties = _tab(
    "properties",
    "properties.html",
    {"allow": _allow, "disallow": _disallow},
    _properties_context,
)


# --- funnels --------------------------------------------------------------------------------------


def _add_funnel(page: Page) -> str:
    assert page.site is not None
    ids = []
    for raw in page.fields("step"):
        if raw:
            value = row_id(raw)
            if value is None:
                raise DomainError(f"steps: {raw!r} is not a goal id", field="steps")
            ids.append(value)
    funnel = create_funnel(page.db, page.site, page.field("name"), goals_by_id(page.db, page.site, ids))
    return f"The funnel {funnel.name!r} is saved."


def _delete_funnel(page: Page) -> str:
    assert page.site is not None
    funnel = get_funnel(page.db, page.site, _id(page, "funnel_id"))
    name = funnel.name
    delete_funnel(page.db, funnel)
    return f"The funnel {name!r} is deleted."


def _funnels(page: Page) -> list[Funnel]:
    assert page.site is not None
    return list(page.db.scalars(select(Funnel).where(Funnel.site_id == page.site.id).order_by(Funnel.id)))


funnels = _tab(
    "funnels",
    "funnels.html",
    {"add": _add_funnel, "delete": _delete_funnel},
    lambda page: {"funnels": _funnels(page), "goals": _goals(page), "step_slots": range(8)},
)


# --- danger zone ----------------------------------------------------------------------------------


def _transfer(page: Page) -> str:
    """Offer the site to someone (a member picked from the list, or any email): a link is
    mailed to them, and the site changes hands only when they accept."""
    assert page.site is not None and page.user is not None
    email = page.field("email")
    if not email and page.field("user_id"):
        email = people_domain.membership(page.db, page.site, _id(page, "user_id")).user.email
    if not email:
        raise DomainError("give the new owner's email", field="email")
    token, offer = invitations.offer_ownership(page.db, page.site, page.user, email)
    url = f"{page.settings.base_url}/invitations/{token}"
    deliver_ownership_transfer(page.db, page.settings, offer.email, page.site.domain, page.user.email, url)
    return (
        f"{offer.email} is asked to take over {page.site.domain}; you stay the owner until they accept "
        "(the link is valid for 48 hours)."
    )


def _cancel_transfer(page: Page) -> str:
    assert page.site is not None
    if not invitations.cancel_transfer(page.db, page.site):
        raise DomainError("no transfer is pending", field="email")
    return "The transfer is cancelled."


def _danger_context(page: Page) -> dict:
    if page.site is None or page.user is None:
        return {}
    members = [m for m in people_domain.list_members(page.db, page.site) if m.user_id != page.user.id]
    return {"members": members, "transfer": invitations.pending_transfer(page.db, page.site)}


def _delete(page: Page) -> Notice:
    assert page.site is not None
    if page.field("confirm") != page.site.domain:
        raise DomainError(f"type {page.site.domain} to confirm the deletion", field="confirm")
    domain = page.site.domain
    delete_site(page.db, page.services.events, page.site)
    return "/sites", f"{domain} and all its data are deleted."


danger_zone = _tab(
    "danger-zone",
    "danger_zone.html",
    {"transfer": _transfer, "cancel_transfer": _cancel_transfer, "delete": _delete},
    _danger_context,
)


# --- accepting an invitation ----------------------------------------------------------------------


def invitation_page(page: Page) -> Response:
    """`/invitations/:token`: an invitation to a site, or an offer of its ownership; the
    person it names accepts or declines it, logged in as themselves."""
    token = page.request.path_params["token"]
    try:
        invitation = invitations.find_invitation(page.db, token)
    except DomainError as error:
        return page.error(404, str(error))
    if page.user is None:
        return page.render("invitation.html", invitation=invitation, token=token)
    error = None
    if page.posted:
        domain = invitation.site.domain
        try:
            with page.db.begin_nested():
                if page.field("action") == "decline":
                    invitations.decline(page.db, token, page.user)
                    return page.redirect("/sites", f"You declined the invitation to {domain}.")
                membership = invitations.accept(page.db, token, page.user)
        except DomainError as failure:
            error = str(failure)
        else:
            if membership.role is Role.owner:
                return page.redirect(site_path(domain), f"You own {domain} now.")
            return page.redirect(site_path(domain), f"You are now {membership.role.value} of {domain}.")
    return page.render(
        "invitation.html", invitation=invitation, token=token, error=error, status=400 if error else 200
    )


def settings_routes() -> list[BaseRoute]:
    return [
        settings_route("general", general),
        settings_route("people", people),
        settings_route("visibility", visibility),
        settings_route("goals", goals),
        settings_route("properties", properties),
        settings_route("funnels", funnels),
        settings_route("danger-zone", danger_zone),
        page_route("/invitations/{token}", invitation_page, PUBLIC, methods=["GET", "POST"]),
    ]
