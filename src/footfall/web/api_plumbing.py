"""What the Sites and Segments APIs share: reading a request's parameters, authenticating and
counting its key, finding the site it names, and mapping failures to Plausible's JSON errors.
One copy, so the two APIs answer the same failure the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from footfall.accounts.errors import DomainError, NotFound
from footfall.meta.db import session_scope
from footfall.meta.models import Role, Site, User
from footfall.sites.sites import normalise_domain, role_of
from footfall.web.auth import ApiError, authenticate, bearer_token, rate_limiter, require_provision
from footfall.web.stats_api import OrjsonResponse, error_response

SITE_NOT_FOUND = "Site could not be found"
BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")

Work = Callable[[Session, User, dict[str, Any]], Any]


def find_site(
    db: Session, user: User, site_id: Any, roles: tuple[Role, ...] | None = None
) -> tuple[Site, Role]:
    """The site `site_id` names and the user's role there; 404 when the user may not see it,
    403 when their role is not one of `roles`."""
    if not isinstance(site_id, str) or not site_id.strip():
        raise ApiError(400, "Parameter `site_id` is required")
    try:
        domain = normalise_domain(site_id)
    except DomainError:
        raise ApiError(404, SITE_NOT_FOUND) from None
    site = db.scalar(select(Site).where(Site.domain == domain))
    role = role_of(db, user, site) if site is not None else None
    if site is None or role is None:
        raise ApiError(404, SITE_NOT_FOUND)
    if roles is not None and role not in roles:
        raise ApiError(403, "Your role on this site does not allow this action")
    return site, role


async def parameters(request: Request, path: bool = True) -> dict[str, Any] | Response:
    """The JSON body's fields, then the query string's and (with `path`) the path's; a 400 for
    a bad body."""
    body: dict[str, Any] = {}
    if request.method in BODY_METHODS:
        raw = await request.body()
        if raw.strip():
            try:
                parsed = orjson.loads(raw)
            except orjson.JSONDecodeError:
                return error_response(400, "Invalid request body: not valid JSON.")
            if not isinstance(parsed, dict):
                return error_response(400, "Invalid request body: expected a JSON object.")
            body = parsed
    for key, value in request.query_params.items():
        body.setdefault(key, value)
    if path:
        body.update(request.path_params)
    return body


async def handle(request: Request, work: Work, *, provision: bool = True, path: bool = True) -> Response:
    """Read the parameters, authenticate the key, count it, check its scope (`provision`: the
    endpoint changes something, so a Stats API key is refused), then run `work` in a worker
    thread with a metadata session; every failure becomes a 4xx `{"error": ...}`. `path=False`
    leaves the path's parameters out of the body (an API that checks the body's keys)."""
    body = await parameters(request, path)
    if isinstance(body, Response):
        return body

    def run() -> Any:
        token = bearer_token(request)
        limiter = rate_limiter(request)
        with session_scope(request.app.state.services.sessions) as db:
            key, user = authenticate(db, token)
            limiter.hit(key.id, key.hourly_request_limit)
            if provision:
                require_provision(key)
            return work(db, user, body)

    try:
        payload = await run_in_threadpool(run)
    except ApiError as error:
        return error_response(error.status, error.message, error.headers)
    except NotFound as error:
        return error_response(404, str(error))
    except DomainError as error:  # Conflict included
        return error_response(400, str(error))
    return OrjsonResponse(payload)
