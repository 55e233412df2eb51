"""Every route of the app, every method, as every kind of visitor: exactly the documented answer.

The routes come from the application's own route table, so a route added later is walked
too; each must declare its access rule (`footfall.web.pages`). Visitors: anonymous, a
logged-in user with no access to the site, a viewer, an editor, an admin, the owner, a
shared-link visitor (`?auth=` and `X-Shared-Link-Auth`), and the instance admin (`is_admin`,
no role on the site: an instance admin sees no site it is not a member of). Rules and their answers:

| rule | anonymous, shared-link visitor | no access | role below the rule | role at or above |
|---|---|---|---|---|
| `public` | the page | the page | the page | the page |
| `login` | 303 to /login?next= | the page | the page | the page |
| `instance_admin` | 303 to /login?next= | 403 (the instance admin: the page) | 403 | 403 |
| `site:<role>` | 303 to /login?next= | 404 | 403 | the page (GET: 200) |
| `site_view` | 303 to /login (a public site: the page) | 404 | - | 200 |
| `shared` | 404 without a valid link, the page with one | as anonymous | | |
| `site_or_shared` | 404 (a valid link or a public site: the answer) | 404 | - | the answer |
| `site_member_api` | 404 | 404 | 403 (editor rule: a viewer) | the answer |
| `api` | 401 (cookies grant nothing: logged-in users too) | | | |
| `open` | never a 5xx | | | |

Every state-changing method of a page (any rule but `api` and `open`) is refused with 403
when it comes without a CSRF token or with a wrong one, from a visitor who may use it.
A route with a path parameter this walk does not know fails it: add the parameter to
`EXAMPLES` below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest
from starlette.routing import Route

from footfall.accounts.invitations import invite
from footfall.meta.annotations import Annotation
from footfall.meta.db import session_scope
from footfall.meta.models import Funnel, FunnelStep, Goal, Role, SharedLink, Site
from footfall.meta.segments import Segment, SegmentType
from footfall.web.pages import CSRF_REFUSED, access_of
from tests.web.conftest import Visitor

SITE = "walk.example"
PUBLIC_SITE = "public.example"
ROLE_ORDER = [Role.viewer, Role.editor, Role.admin, Role.owner]
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
LOGIN = re.compile(r"^/login(\?next=|$)")


@dataclass
class Actor:
    name: str
    visitor: Visitor
    role: Role | None = None  # on SITE
    logged_in: bool = True
    shared: bool = False
    instance_admin: bool = False


@pytest.fixture
def walk_world(web_factory, metadata_url):
    web = web_factory(metadata_url)
    for email in (
        "owner@example.com",
        "admin@example.com",
        "editor@example.com",
        "viewer@example.com",
        "stranger@example.com",
    ):
        web.user(email)
    web.user("operator@example.com", is_admin=True)
    site_id = web.site(SITE, "owner@example.com")
    web.site("stranger.example", "stranger@example.com")
    web.add_member(site_id, "admin@example.com", Role.admin)
    web.add_member(site_id, "editor@example.com", Role.editor)
    web.add_member(site_id, "viewer@example.com", Role.viewer)
    public_id = web.site(PUBLIC_SITE, "stranger@example.com")
    with session_scope(web.services.sessions) as db:
        db.get(Site, public_id).public = True
        first = Goal(site_id=site_id, event_name="Signup", display_name="Signup")
        second = Goal(site_id=site_id, page_path="/thanks", display_name="Visit /thanks")
        db.add_all([first, second])
        db.flush()
        funnel = Funnel(site_id=site_id, name="Signup funnel")
        db.add(funnel)
        db.flush()
        db.add_all(
            [
                FunnelStep(funnel_id=funnel.id, goal_id=first.id, step_order=1),
                FunnelStep(funnel_id=funnel.id, goal_id=second.id, step_order=2),
            ]
        )
        segment = Segment(
            site_id=site_id,
            owner_id=None,
            name="Walkers",
            type=SegmentType.site,
            segment_data={"filters": [["is", "visit:source", ["Google"]]]},
        )
        db.add(segment)
        db.add(SharedLink(site_id=site_id, name="Walk link", slug="walk-link-slug"))
        note = Annotation(site_id=site_id, day=date(2026, 1, 5), text="Walked")
        db.add(note)
        db.flush()
        token, _ = invite(db, db.get(Site, site_id), "newcomer@example.com", Role.viewer, None)
        ids = {"goal_id": first.id, "funnel_id": funnel.id, "segment_id": segment.id, "token": token}
        ids["annotation_id"] = note.id
    actors = [
        Actor("anonymous", web.visitor(), logged_in=False),
        Actor("shared-link visitor", web.visitor(), logged_in=False, shared=True),
        Actor("no access", web.visitor()),
        Actor("viewer", web.visitor(), Role.viewer),
        Actor("editor", web.visitor(), Role.editor),
        Actor("admin", web.visitor(), Role.admin),
        Actor("owner", web.visitor(), Role.owner),
        Actor("instance admin", web.visitor(), instance_admin=True),
    ]
    emails = {
        "no access": "stranger@example.com",
        "viewer": "viewer@example.com",
        "editor": "editor@example.com",
        "admin": "admin@example.com",
        "owner": "owner@example.com",
        "instance admin": "operator@example.com",
    }
    for actor in actors:
        if actor.logged_in:
            actor.visitor.log_in(emails[actor.name])
    return web, actors, ids


# Example values of path parameters: extend when you add a route with a new one.
def examples(ids: dict[str, Any]) -> dict[str, str]:
    return {
        "domain": SITE,
        "site_id": SITE,
        "name": "script.js",
        "goal_id": str(ids["goal_id"]),
        "funnel_id": str(ids["funnel_id"]),
        "segment_id": str(ids["segment_id"]),
        "annotation_id": str(ids["annotation_id"]),
        "token": ids["token"],
        "session_id": "1",
        "key_id": "1",
        "member_id": "1",
        "link_id": "1",
        "invitation_id": "1",
        "kind": "ip",
        "rule_id": "1",
    }


def concrete(route: Route, values: dict[str, str]) -> str:
    path = route.path
    for name in route.param_convertors:
        assert name in values, f"{route.path}: add an example for path parameter {name!r} to EXAMPLES"
        path = re.sub(r"\{" + name + r"(:[^}]+)?\}", values[name], path)
    return path


def ask(actor: Actor, method: str, path: str, *, token: str | None, api: bool = False) -> Any:
    headers = {}
    params = {}
    if actor.shared:
        params["auth"] = "walk-link-slug"
        headers["X-Shared-Link-Auth"] = "walk-link-slug"
    if api:  # a JSON body naming the site, as API clients send
        body = {"site_id": SITE, "metrics": ["visitors"], "date_range": "day"} if method in UNSAFE else None
        return actor.visitor.client.request(method, path, params=params, headers=headers, json=body)
    data = None
    if method in UNSAFE:
        data = {} if token is None else {"_csrf": token}
    return actor.visitor.client.request(method, path, params=params, headers=headers, data=data)


def token_of(actor: Actor) -> str:
    return actor.visitor.csrf("/settings" if actor.logged_in else "/login")


def expectation(rule_kind: str, least: Role | None, actor: Actor, path: str) -> str:
    """What `actor` must get: "page", "public", "login", "404", "403", "401", "any"."""
    if rule_kind == "open":
        return "any"
    if rule_kind == "api":
        return "401"
    if rule_kind == "public":
        return "public"
    if rule_kind == "pending_2fa":
        return "login"
    if rule_kind == "shared":
        return "page" if actor.shared else "404"
    if rule_kind == "site_or_shared":  # the dashboard's JSON (footfall.web.dashboard_access)
        if actor.shared or PUBLIC_SITE in path:
            return "page"
        return "page" if actor.role is not None else "404"
    if rule_kind == "site_member_api":
        if actor.role is None:
            return "404"
        assert least is not None
        return "page" if ROLE_ORDER.index(actor.role) >= ROLE_ORDER.index(least) else "403"
    if rule_kind == "login":
        return "page" if actor.logged_in else "login"
    if rule_kind == "instance_admin":
        if not actor.logged_in:
            return "login"
        return "page" if actor.instance_admin else "403"
    if rule_kind == "site_view" and PUBLIC_SITE in path:
        return "page"
    if not actor.logged_in:
        return "login"
    if actor.role is None:
        return "404"
    assert least is not None
    return "page" if ROLE_ORDER.index(actor.role) >= ROLE_ORDER.index(least) else "403"


def check(answer: Any, expected: str, method: str) -> str | None:
    status = answer.status_code
    location = answer.headers.get("location", "")
    if expected == "any":  # an open route's own answer (e.g. readiness: 503 while a store is down)
        return None if status != 500 else "500 (a server error)"
    if status >= 500:
        return f"{status} (a server error)"
    if expected == "public":  # its own answer, which may send a visitor elsewhere (`/` -> /login)
        return None if status not in (401, 403, 404) else f"{status}: refused on a public page"
    if expected == "401":
        return None if status == 401 else f"{status}, not 401"
    if expected == "login":
        return (
            None
            if status == 303 and LOGIN.match(location)
            else f"{status} {location}, not a redirect to /login"
        )
    if expected in ("404", "403"):
        if str(status) != expected:
            return f"{status}, not {expected}"
        if expected == "403" and CSRF_REFUSED in answer.text:
            return "403 for the CSRF token, not for the role"
        return None
    # "page": the visitor may use it
    if status in (401, 403, 404) or (status == 303 and LOGIN.match(location)):
        return f"{status} {location}: refused a visitor who may use it"
    if method == "GET" and status not in (200, 303):
        return f"{status}, not 200"
    return None


def test_every_route_answers_every_visitor_as_its_rule_says(walk_world):
    web, actors, ids = walk_world
    values = examples(ids)
    failures: list[str] = []
    walked = 0
    tokens = {actor.name: token_of(actor) for actor in actors}
    for route in web.app.routes:
        assert isinstance(route, Route), f"{route!r}: the walk knows only Route entries"
        rule = access_of(route)
        assert rule is not None, f"{route.path}: no access rule; declare it (footfall.web.pages)"
        for method in sorted((route.methods or set()) - {"HEAD"}):
            for template_path in [route.path] if "{domain" not in route.path else [route.path, "PUBLIC"]:
                if template_path == "PUBLIC":
                    if rule.kind not in ("site_view", "site_or_shared"):
                        continue
                    path = concrete(route, {**values, "domain": PUBLIC_SITE})
                else:
                    path = concrete(route, values)
                for actor in actors:
                    expected = expectation(rule.kind, rule.least, actor, path)
                    # A state-changing request from a visitor it would be refused to anyway is
                    # sent with a valid token, so that the refusal is the rule's, not the token's.
                    token = tokens[actor.name] if method in UNSAFE else None
                    if method in UNSAFE and expected in ("page", "public") and rule.csrf:
                        for bad in (None, "x" * 43):
                            answer = ask(actor, method, path, token=bad)
                            walked += 1
                            if answer.status_code != 403 or CSRF_REFUSED not in answer.text:
                                failures.append(
                                    f"{method} {path} as {actor.name} with token {bad!r}: "
                                    f"{answer.status_code}, not the CSRF 403"
                                )
                        continue
                    answer = ask(actor, method, path, token=token, api=not rule.csrf)
                    walked += 1
                    problem = check(answer, expected, method)
                    if problem:
                        failures.append(f"{method} {path} ({rule}) as {actor.name}: {problem}")
    assert not failures, f"{len(failures)} of {walked} requests got the wrong answer:\n" + "\n".join(failures)
    assert walked > 300
