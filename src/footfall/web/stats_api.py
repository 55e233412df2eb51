"""HTTP handlers of the Stats API: v1 (`/api/v1/stats/...`) and v2 (`POST /api/v2/query`).

Handlers are thin: authenticate the Bearer key, count it against its hourly limit, find the
site, parse the request into a Query, and run it in a worker thread (the embedded engine
blocks). Every failure is a 4xx `{"error": "..."}` as Plausible answers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from footfall.accounts.apikeys import hash_key
from footfall.events.store import EventStore, EventStoreError
from footfall.meta.db import session_scope
from footfall.meta.models import Funnel
from footfall.meta.segments import segment_lookup
from footfall.services import Services
from footfall.sites.stats_sites import counted_sites, site_spec, with_stats_start
from footfall.stats import engine, v1, v2
from footfall.stats.query import GoalSpec, QueryError, SiteSpec
from footfall.web.auth import (
    ApiError,
    KeyGrant,
    auth_cache,
    authenticate,
    bearer_token,
    rate_limiter,
    site_domain,
    site_for,
)
from footfall.web.openapi import openapi_document

log = logging.getLogger("footfall.stats")

# Kept here for the handlers that import them from this module.
__all__ = ["counted_sites", "site_spec", "stats_routes", "with_stats_start"]

# ClickHouse's refusals of a statement too long or too deeply nested to parse or plan: the
# query's fault, not the store's, so a 400. The filter limits in stats.query keep them rare.
TOO_COMPLEX = (
    "max query size exceeded",
    "too_deep_ast",
    "too_big_ast",
    "too_deep_recursion",
    "too_deep_subqueries",
)


def row_id(raw: str) -> int | None:
    """A metadata row's id from a request (`42`), or None: ASCII digits only (`str.isdigit`
    also passes `²`, which `int` refuses) and within the store's 64-bit ids."""
    if not (raw.isascii() and raw.isdigit()) or int(raw) >= 2**63:
        return None
    return int(raw)


class OrjsonResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def error_response(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    return OrjsonResponse({"error": message}, status_code=status, headers=dict(headers or {}))


def _authorised(services: Services, request: Request, site_id: Any, wants_all: bool) -> SiteSpec:
    """The site `site_id` names, if the request's key may read it, once the request is counted
    against the key's hourly limit. The key and the site come from the auth cache while fresh
    (web/auth.py), else from the metadata store."""
    token = bearer_token(request)
    cache = auth_cache(request)
    key_entry = ("key", hash_key(token))
    grant: KeyGrant | None = cache.get(key_entry)
    if grant is None:
        ticket = cache.ticket()
        with session_scope(services.sessions) as db:
            grant = KeyGrant.of(*authenticate(db, token))
        cache.put(key_entry, grant, ticket)
    request.state.user_id = grant.user_id  # whose personal segments a v2 query may use
    rate_limiter(request).hit(grant.key_id, grant.hourly_request_limit)
    domain = site_domain(site_id)
    site_entry = ("site", grant.user_id, grant.is_superuser, domain)
    cached: tuple[SiteSpec, datetime] | None = cache.get(site_entry)
    if cached is None:
        ticket = cache.ticket()
        with session_scope(services.sessions) as db:
            site = site_for(db, grant.user_id, grant.is_superuser, domain)
            cached = (site_spec(site), site.created_at)
        cache.put(site_entry, cached, ticket)
    spec, created_at = cached
    if wants_all and services.events is not None:
        return with_stats_start(spec, services.events, created_at)
    return spec


async def _answer(request: Request, work: Callable[[], Any]) -> Response:
    try:
        payload = await run_in_threadpool(work)
    except ApiError as error:
        return error_response(error.status, error.message, error.headers)
    except QueryError as error:
        return error_response(error.status, error.message)
    except EventStoreError as error:
        reason = str(error).lower()
        if "re2" in reason or "regexp" in reason:
            # Python accepted the pattern but ClickHouse's RE2 does not (lookarounds, backreferences).
            return error_response(400, "Invalid regular expression: RE2 syntax is required (no lookarounds).")
        if any(code in reason for code in TOO_COMPLEX):
            log.warning("stats query refused by the event store: %s", error)
            return error_response(
                400, "Invalid filters: this query is too complex for the event store; use fewer filters."
            )
        log.error("stats query failed: %s", error)
        return error_response(503, "The event store could not answer; try again shortly.")
    if isinstance(payload, Response):
        return payload
    return OrjsonResponse(payload)


def _store(request: Request) -> EventStore:
    store = request.app.state.services.events
    if store is None:
        raise ApiError(503, "The event store is not open.")
    return store


def _now() -> datetime:
    return datetime.now(UTC)


# --- v1 -------------------------------------------------------------------------------------------


def _v1(request: Request, build: Callable, shape: Callable) -> Callable[[], Any]:
    params = dict(request.query_params)

    def work() -> Any:
        services = request.app.state.services
        spec = _authorised(services, request, params.get("site_id"), params.get("period") == "all")
        query = build(spec, params, _now())
        return shape(engine.execute(_store(request), query))

    return work


async def realtime_visitors(request: Request) -> Response:
    params = dict(request.query_params)

    def work() -> Any:
        spec = _authorised(request.app.state.services, request, params.get("site_id"), False)
        return engine.current_visitors(_store(request), spec, _now())

    return await _answer(request, work)


async def aggregate(request: Request) -> Response:
    return await _answer(request, _v1(request, v1.aggregate_query, v1.aggregate_response))


async def timeseries(request: Request) -> Response:
    return await _answer(request, _v1(request, v1.timeseries_query, v1.timeseries_response))


async def breakdown(request: Request) -> Response:
    return await _answer(request, _v1(request, v1.breakdown_query, v1.breakdown_response))


async def funnel(request: Request) -> Response:
    """footfall's extension: `GET /api/v1/stats/funnel?site_id=...&funnel_id=...&period=...`."""
    params = dict(request.query_params)

    def work() -> Any:
        services = request.app.state.services
        spec = _authorised(services, request, params.get("site_id"), params.get("period") == "all")
        funnel_id = row_id(params.get("funnel_id", ""))
        if funnel_id is None:
            raise QueryError("Please provide funnel_id as a number.")
        with session_scope(services.sessions) as db:
            row = db.scalar(select(Funnel).where(Funnel.id == funnel_id, Funnel.site_id == spec.id))
            if row is None:
                raise ApiError(404, "Funnel not found")
            steps = [GoalSpec(s.goal.display_name, s.goal.event_name, s.goal.page_path) for s in row.steps]
            name = row.name
        query = v1.build(spec, {k: v for k, v in params.items() if k != "compare"}, _now())
        return engine.funnel(_store(request), query, name, steps)

    return await _answer(request, work)


# --- v2 -------------------------------------------------------------------------------------------


def v2_answer(
    services: Services, store: EventStore, spec: SiteSpec, body: dict[str, Any], user_id: int | None
) -> dict[str, Any]:
    """The answer to a v2 query body on a site the caller may read, for `user_id` (whose
    personal segments it may use): `POST /api/v2/query` and the dashboard's
    `POST /api/stats/:domain/query` both answer with it."""
    segments = segment_lookup(services.sessions, spec.id, user_id)
    query = v2.parse(spec, body, _now(), segments)
    return v2.response(engine.execute(store, query), body)


async def query_v2(request: Request) -> Response:
    raw = await request.body()
    try:
        body = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        return error_response(400, "Invalid request body: not valid JSON.")
    if not isinstance(body, dict):
        return error_response(400, "Invalid request body: expected a JSON object.")

    def work() -> Any:
        services = request.app.state.services
        site_id = body.get("site_id")
        if site_id is not None and not isinstance(site_id, str):
            raise QueryError("#/site_id: Type mismatch. Expected String.")
        spec = _authorised(services, request, site_id, body.get("date_range") == "all")
        return v2_answer(services, _store(request), spec, body, getattr(request.state, "user_id", None))

    return await _answer(request, work)


# --- docs -----------------------------------------------------------------------------------------


async def openapi_json(request: Request) -> Response:
    return OrjsonResponse(openapi_document(str(request.base_url).rstrip("/")))


async def api_docs(request: Request) -> Response:
    return HTMLResponse(
        "<!doctype html><html><head><meta charset=utf-8><title>footfall API</title></head><body>"
        "<h1>footfall API</h1><p>The OpenAPI 3.1 description of the Stats API (v1 and v2) and the "
        "Sites API is at <a href=/api/docs/openapi.json>/api/docs/openapi.json</a>. Authenticate with "
        "<code>Authorization: Bearer &lt;key&gt;</code>; create a key with "
        "<code>footfall apikey create --email you@example.com</code>.</p></body></html>"
    )


def stats_routes() -> list[BaseRoute]:
    return [
        Route("/api/v1/stats/realtime/visitors", realtime_visitors, methods=["GET"]),
        Route("/api/v1/stats/aggregate", aggregate, methods=["GET"]),
        Route("/api/v1/stats/timeseries", timeseries, methods=["GET"]),
        Route("/api/v1/stats/breakdown", breakdown, methods=["GET"]),
        Route("/api/v1/stats/funnel", funnel, methods=["GET"]),
        Route("/api/v2/query", query_v2, methods=["POST"]),
        Route("/api/docs", api_docs, methods=["GET"]),
        Route("/api/docs/openapi.json", openapi_json, methods=["GET"]),
    ]
