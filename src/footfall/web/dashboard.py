"""The dashboard: the `/:domain` page, its built front end (`frontend/` → `static/dashboard/`),
and the JSON routes it reads through.

Every number comes from `POST /api/stats/:domain/query`, which takes a Stats API v2 body and
answers exactly as `POST /api/v2/query` does (the same `stats_api.v2_answer`); the site is
the path's, so a `site_id` in the body is ignored. A few small routes sit beside it: current
visitors, a funnel, the property keys seen in a range (only the site's allowed keys when
it has an allow-list), saving, editing and deleting a segment, the site's annotations
(read by everyone who sees the dashboard, written by editors and above).

Who may read is decided once per request by `viewer_for` (footfall.web.dashboard_access):
a logged-in member of the site, a superuser, a shared link of the site (`?auth=` or
`X-Shared-Link-Auth`), a Bearer API key of a member, or anyone when the site is public. The
JSON routes declare the rule `DASHBOARD_API` (`MEMBER_API` for members only,
`EDITOR_API` for editors and above); the pages are accounts' `page_route`s
(`/:domain`: SITE_VIEW, `/share/:domain`: SHARED), so the route walk covers them all.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from footfall.accounts.errors import DomainError
from footfall.meta.db import session_scope
from footfall.meta.models import Funnel, Membership, SharedLink, Site
from footfall.meta.segments import Segment, SegmentType, visible_to
from footfall.moving.imports import completed_imports
from footfall.sites import annotations as notes
from footfall.sites.properties import allowed_properties
from footfall.sites.sites import list_sites
from footfall.stats import engine, properties, v2
from footfall.stats.query import GoalSpec, QueryError
from footfall.web.auth import ApiError
from footfall.web.dashboard_access import (
    DASHBOARD_API,
    EDITOR_API,
    MEMBER_API,
    NOT_FOUND,
    Viewer,
    viewer_for,
)
from footfall.web.pages import LOGIN, OPEN, SITE_VIEW, Page, declare, page_route, site_path
from footfall.web.stats_api import (
    _answer,
    _now,
    _store,
    row_id,
    site_spec,
    v2_answer,
    with_stats_start,
)

log = logging.getLogger("footfall.dashboard")

STATIC_DIR = Path(__file__).parent / "static" / "dashboard"
BUILD_COMMAND = "make dashboard"


def _json_body(raw: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        raise ApiError(400, "Invalid request body: not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiError(400, "Invalid request body: expected a JSON object.")
    return body


def _viewer(request: Request, form: FormData | None = None) -> Viewer:
    return viewer_for(request, request.path_params["domain"], form=form)


def _all_time(request: Request, viewer: Viewer, body: dict[str, Any]) -> Viewer:
    """With `date_range: "all"`, the site's first day of stats (a query on the event store)."""
    if body.get("date_range") != "all":
        return viewer
    return replace(viewer, site=with_stats_start(viewer.site, _store(request), viewer.created_at))


EDITOR_ROLES = ("editor", "admin", "owner", "superuser")
SITE_SEGMENT_ROLES = ("admin", "owner", "superuser")


def _allowed(viewer: Viewer, least: str | None) -> None:
    """Members only (anonymous visitors, shared links: 404); with `least="editor"`, editors
    and above (a lesser role: 403)."""
    if viewer.user_id is None or viewer.read_only:
        raise ApiError(404, NOT_FOUND)
    if least == "editor" and viewer.role not in EDITOR_ROLES:
        raise ApiError(403, f"Only the site's editors and above may do this; you are a {viewer.role}.")


async def _with_body(
    request: Request,
    work: Callable[[Viewer, dict[str, Any]], Any],
    members_only: bool = False,
    least: str | None = None,
    needs_body: bool = True,
) -> Response:
    """Who asks is decided before the body is read: a refused request learns nothing from it."""
    raw = await request.body()
    form = None
    if request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form(max_files=0, max_fields=50)  # a CSRF token sent as a form field

    def run() -> Any:
        viewer = _viewer(request, form)
        if members_only or least:
            _allowed(viewer, least)
        if not needs_body:
            return work(viewer, {})
        body = _json_body(raw)
        try:
            return work(_all_time(request, viewer, body), body)
        except DomainError as error:
            raise ApiError(400, f"Invalid request: {error}.") from None

    return await _answer(request, run)


# --- the query route and its neighbours ------------------------------------------------------


async def query(request: Request) -> Response:
    def work(viewer: Viewer, body: dict[str, Any]) -> Any:
        body = {**body, "site_id": viewer.site.domain}
        if viewer.segment_id is not None:
            return _through_segment(request, viewer, body)
        return v2_answer(request.app.state.services, _store(request), viewer.site, body, viewer.user_id)

    return await _with_body(request, work)


def _through_segment(request: Request, viewer: Viewer, body: dict[str, Any]) -> Any:
    """A shared link limited to a segment: every query is the body's AND the segment's filters
    (the answer's `query.filters` echoes the body's own)."""
    services = request.app.state.services
    saved = _link_segment(services, viewer)
    filters = body.get("filters", [])
    if not isinstance(filters, list):
        raise QueryError("#/filters: Type mismatch. Expected Array.")
    query = v2.parse(viewer.site, {**body, "filters": [*filters, *saved]}, _now(), _segments(request, viewer))
    answer = v2.response(engine.execute(_store(request), query), body)
    answer["query"]["filters"] = filters
    return answer


def _link_segment(services: Any, viewer: Viewer) -> list[Any]:
    with session_scope(services.sessions) as db:
        segment = db.get(Segment, viewer.segment_id)
        if segment is None or segment.site_id != viewer.site.id:
            return []
        return list((segment.segment_data or {}).get("filters") or [])


async def current_visitors(request: Request) -> Response:
    def work() -> Any:
        viewer = _viewer(request)
        return {"visitors": engine.current_visitors(_store(request), viewer.site, _now())}

    return await _answer(request, work)


def _range_query(viewer: Viewer, request: Request, body: dict[str, Any]) -> Any:
    """A v2 query of the body's range and filters (its metrics and dimensions are ours)."""
    shaped = {k: body[k] for k in ("date_range", "date", "filters") if k in body}
    shaped |= {"site_id": viewer.site.domain, "metrics": ["visitors"]}
    if viewer.segment_id is not None:
        shaped["filters"] = [
            *(shaped.get("filters") or []),
            *_link_segment(request.app.state.services, viewer),
        ]
    segments = _segments(request, viewer)
    return v2.parse(viewer.site, shaped, _now(), segments)


def _segments(request: Request, viewer: Viewer) -> Any:
    from footfall.meta.segments import segment_lookup

    return segment_lookup(request.app.state.services.sessions, viewer.site.id, viewer.user_id)


async def funnel(request: Request) -> Response:
    """`{"funnel_id", "date_range", "date"?, "filters"?}` → the funnel's steps (as
    `GET /api/v1/stats/funnel` answers)."""

    def work(viewer: Viewer, body: dict[str, Any]) -> Any:
        funnel_id = row_id(str(body.get("funnel_id", "")))
        if funnel_id is None:
            raise QueryError("Please provide funnel_id as a number.")
        with session_scope(request.app.state.services.sessions) as db:
            row = db.scalar(select(Funnel).where(Funnel.id == funnel_id, Funnel.site_id == viewer.site.id))
            if row is None:
                raise ApiError(404, "Funnel not found")
            steps = [GoalSpec(s.goal.display_name, s.goal.event_name, s.goal.page_path) for s in row.steps]
            name = row.name
        return engine.funnel(_store(request), _range_query(viewer, request, body), name, steps)

    return await _with_body(request, work)


async def property_keys(request: Request) -> Response:
    """`{"date_range", "date"?}` → `{"keys": [...]}`: custom property keys seen in the range,
    most visitors first (what the Properties tab and the filter dialog offer)."""

    def work(viewer: Viewer, body: dict[str, Any]) -> Any:
        found = properties.keys_in_range(_store(request), _range_query(viewer, request, body))
        allowed = _allow_list(request, viewer)
        if allowed:  # an allow-list hides every other key (an empty list hides nothing)
            found = [key for key in found if key in allowed]
        return {"keys": found}

    return await _with_body(request, work)


def _allow_list(request: Request, viewer: Viewer) -> set[str]:
    with session_scope(request.app.state.services.sessions) as db:
        site = db.get(Site, viewer.site.id)
        return set(allowed_properties(site) or []) if site is not None else set()


async def save_segment(request: Request) -> Response:
    """`{"name", "segment_data": {"filters": [...]}}` → a personal segment of the viewer."""

    def work(viewer: Viewer, body: dict[str, Any]) -> Any:
        name = body.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 255:
            raise ApiError(400, "Invalid segment: name must be 1-255 characters.")
        data = body.get("segment_data")
        filters = data.get("filters") if isinstance(data, dict) else None
        if not isinstance(filters, list) or not filters:
            raise ApiError(400, "Invalid segment: segment_data.filters must be a non-empty list.")
        # Checked as a query's filters are (known dimensions, goals, patterns).
        v2.parse(
            viewer.site,
            {"site_id": viewer.site.domain, "metrics": ["visitors"], "date_range": "day", "filters": filters},
            _now(),
        )
        with session_scope(request.app.state.services.sessions) as db:
            segment = Segment(
                site_id=viewer.site.id,
                owner_id=viewer.user_id,
                name=name.strip(),
                type=SegmentType.personal,
                segment_data={"filters": filters},
            )
            db.add(segment)
            db.flush()
            return {"id": segment.id, "name": segment.name, "type": str(segment.type)}

    return await _with_body(request, work, members_only=True)


def _editable_segment(db: Session, viewer: Viewer, raw_id: str) -> Segment:
    """A segment of this site the viewer sees and may change: their own personal ones; the
    site's when they are the site's owner or an admin (Plausible's rule)."""
    segment_id = row_id(raw_id)
    segment = None
    if segment_id is not None:
        segment = db.scalar(
            select(Segment).where(
                Segment.id == segment_id, Segment.site_id == viewer.site.id, visible_to(viewer.user_id)
            )
        )
    if segment is None:
        raise ApiError(404, f"Segment not found with ID {raw_id[:20]}")
    if segment.type is SegmentType.site and viewer.role not in SITE_SEGMENT_ROLES:
        raise ApiError(403, "Only the site's owners and admins may change site segments.")
    return segment


async def update_segment(request: Request) -> Response:
    """`{"name"?, "segment_data"?: {"filters": [...]}}` → the segment, changed. Checked as the
    Segments API checks it (footfall.web.segments_api); whoever edits it owns it from then on."""
    from footfall.web.segments_api import _name, _segment_data

    def work(viewer: Viewer, body: dict[str, Any]) -> Any:
        unknown = set(body) - {"name", "segment_data"}
        if unknown:
            raise ApiError(400, f"Invalid segment: unknown key `{sorted(unknown)[0]}`.")
        with session_scope(request.app.state.services.sessions) as db:
            segment = _editable_segment(db, viewer, request.path_params["segment_id"])
            site = db.get(Site, viewer.site.id)
            assert site is not None
            if "name" in body:
                segment.name = _name(body["name"])
            if "segment_data" in body:
                segment.segment_data = _segment_data(body["segment_data"], site)
            segment.owner_id = viewer.user_id
            db.flush()
            return {
                "id": segment.id,
                "name": segment.name,
                "type": str(segment.type),
                "segment_data": segment.segment_data,
            }

    return await _with_body(request, work, members_only=True)


async def delete_segment(request: Request) -> Response:
    def work(viewer: Viewer, _: dict[str, Any]) -> Any:
        with session_scope(request.app.state.services.sessions) as db:
            segment = _editable_segment(db, viewer, request.path_params["segment_id"])
            shown = {"id": segment.id, "name": segment.name, "type": str(segment.type)}
            db.delete(segment)
            return shown

    return await _with_body(request, work, members_only=True, needs_body=False)


async def list_annotations(request: Request) -> Response:
    """`{"annotations": [{"id", "date", "text"}, ...]}`, oldest day first: for everyone who
    sees the dashboard (a shared link's visitors too)."""

    def work() -> Any:
        viewer = _viewer(request)
        with session_scope(request.app.state.services.sessions) as db:
            return {
                "annotations": [notes.annotation_json(n) for n in notes.site_annotations(db, viewer.site.id)]
            }

    return await _answer(request, work)


async def add_annotation(request: Request) -> Response:
    """`{"date": "YYYY-MM-DD", "text": "..."}` → the note (editors and above)."""

    def work(viewer: Viewer, body: dict[str, Any]) -> Any:
        unknown = set(body) - {"date", "text"}
        if unknown:
            raise ApiError(400, f"Invalid annotation: unknown key `{sorted(unknown)[0]}`.")
        with session_scope(request.app.state.services.sessions) as db:
            try:
                note = notes.add_annotation(
                    db, viewer.site.id, viewer.user_id, body.get("date"), body.get("text")
                )
            except DomainError as error:
                raise ApiError(400, f"Invalid annotation: {error}.") from None
            return notes.annotation_json(note)

    return await _with_body(request, work, least="editor")


async def remove_annotation(request: Request) -> Response:
    def work(viewer: Viewer, _: dict[str, Any]) -> Any:
        found = row_id(request.path_params["annotation_id"])
        with session_scope(request.app.state.services.sessions) as db:
            note = notes.delete_annotation(db, viewer.site.id, found) if found is not None else None
            if note is None:
                raise ApiError(404, "Annotation not found")
            return notes.annotation_json(note)

    return await _with_body(request, work, least="editor", needs_body=False)


# --- the built front end --------------------------------------------------------------------


@dataclass(frozen=True)
class _Asset:
    body: bytes
    gzipped: bytes
    etag: str
    media_type: str


_assets: dict[str, _Asset] = {}
MEDIA_TYPES = {
    ".js": "application/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
}


def _asset(name: str) -> _Asset | None:
    if name in _assets:
        return _assets[name]
    path = STATIC_DIR / name
    if "/" in name or name.startswith(".") or path.suffix not in MEDIA_TYPES or not path.is_file():
        return None
    body = path.read_bytes()
    zipped = path.with_name(name + ".gz")
    gzipped = zipped.read_bytes() if zipped.is_file() else gzip.compress(body, 9)
    asset = _Asset(body, gzipped, '"' + hashlib.sha256(body).hexdigest()[:20] + '"', MEDIA_TYPES[path.suffix])
    _assets[name] = asset
    return asset


async def static_file(request: Request) -> Response:
    name = request.path_params["name"]
    asset = await run_in_threadpool(_asset, name)
    if asset is None:
        return Response(f"No dashboard file {name!r}; build the dashboard with `{BUILD_COMMAND}`.", 404)
    headers = {"ETag": asset.etag, "Cache-Control": "public, max-age=300", "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == asset.etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(
            asset.gzipped, media_type=asset.media_type, headers=headers | {"Content-Encoding": "gzip"}
        )
    return Response(asset.body, media_type=asset.media_type, headers=headers)


def boot_config(request: Request, db: Session, viewer: Viewer, embed: bool = False) -> dict[str, Any]:
    """What the front end needs of the site and the viewer (frontend/src/config.ts)."""
    params = request.query_params
    site = db.get(Site, viewer.site.id)
    assert site is not None
    role = viewer.role
    funnels = db.scalars(select(Funnel).where(Funnel.site_id == site.id).order_by(Funnel.id)).all()
    segments = db.scalars(
        select(Segment).where(Segment.site_id == site.id, visible_to(viewer.user_id)).order_by(Segment.id)
    ).all()
    sites: list[str] = [site.domain]
    if viewer.user_id is not None:
        sites = list(
            db.scalars(
                select(Site.domain)
                .join(Membership)
                .where(Membership.user_id == viewer.user_id)
                .order_by(Site.domain)
            )
        ) or [site.domain]
    theme = params.get("theme", "system")
    background = params.get("background")
    return {
        "domain": site.domain,
        "timezone": site.timezone,
        "role": role,
        "goals": [
            {"name": g.display_name, "currency": g.currency} for g in sorted(site.goals, key=lambda g: g.id)
        ],
        "funnels": [{"id": f.id, "name": f.name} for f in funnels],
        # The site's allow-list of property keys (empty: every key is offered).
        "props": allowed_properties(site) or [],
        "sites": sites,
        "segments": []
        if viewer.segment_id is not None
        else [
            {
                "id": s.id,
                "name": s.name,
                "type": str(s.type),
                "owner_id": s.owner_id,
                "segment_data": s.segment_data,
            }
            for s in segments
        ],
        "shared_auth": viewer.shared_slug,
        "embed": embed,
        "theme": theme if theme in ("light", "dark", "system") else "system",
        "background": background if embed and background and _is_colour(background) else None,
        "csrf_token": viewer.csrf_token,
        "can_annotate": viewer.user_id is not None and not viewer.read_only and role in EDITOR_ROLES,
        "can_edit_site_segments": viewer.user_id is not None and role in SITE_SEGMENT_ROLES,
        "user_id": viewer.user_id,
        # The days covered by the site's completed imports (the graph marks where they end).
        "imports": [
            {"start_date": r.start_date.isoformat(), "end_date": r.end_date.isoformat()}
            for r in completed_imports(db, site.id)
        ],
        "can_save_segments": viewer.user_id is not None and not viewer.read_only,
        "settings_url": site_path(site.domain, "settings/general")
        if role in ("owner", "admin", "superuser")
        else None,
        "stats_start": None,
    }


def _is_colour(text: str) -> bool:
    """`transparent`, `#abc`, `#aabbcc` or a CSS colour name: nothing that could break out of CSS."""
    if text == "transparent":
        return True
    if text.startswith("#"):
        return len(text) in (4, 7, 9) and all(c in "0123456789abcdefABCDEF" for c in text[1:])
    return text.isascii() and text.isalpha() and len(text) <= 20


def dashboard_page(page: Page) -> Response:
    """`GET /:domain`: the dashboard (accounts' SITE_VIEW rule has decided who may see it)."""
    assert page.site is not None
    if page.user is not None and page.role is not None:
        viewer = Viewer(site_spec(page.site), page.user.id, str(page.role), False, csrf_token=page.csrf_token)
    else:  # a public site's visitor
        viewer = Viewer(site_spec(page.site), None, "public", True, csrf_token=page.csrf_token)
    config = boot_config(page.request, page.db, viewer)
    return page_response(config, page.site.domain, header=_header(page))


def shared_dashboard(page: Page, site: Site, link: SharedLink) -> Response:
    """The read-only dashboard a shared link shows, once accounts' share page has decided
    (footfall.web.share); `embed=true` renders it without chrome, for an iframe."""
    viewer = Viewer(
        site_spec(site),
        None,
        "shared",
        True,
        csrf_token=page.csrf_token,
        shared_slug=link.slug,
        segment_id=link.segment_id,
    )
    embed = page.request.query_params.get("embed") == "true"
    config = boot_config(page.request, page.db, viewer, embed=embed)
    return page_response(config, site.domain, header="" if embed else _header(page), embed=embed)


def compare_page(page: Page) -> Response:
    """`GET /sites/compare`: the same top stats side by side for every site the user can see
    (the front end queries each site's `POST /api/stats/:domain/query`, which checks again)."""
    assert page.user is not None
    sites = list_sites(page.db, page.user)
    config = {
        "mode": "compare",
        "domain": "",
        "timezone": sites[0].timezone if sites else "Etc/UTC",
        "role": "viewer",
        # The filter dialog offers every site's goals by name; without a currency, as one
        # goal may carry different currencies on different sites (no revenue side by side).
        "goals": [
            {"name": name, "currency": None}
            for name in sorted({g.display_name for s in sites for g in s.goals})
        ],
        "funnels": [],
        "props": [],
        "sites": [s.domain for s in sites],
        "compare_sites": [{"domain": s.domain, "timezone": s.timezone} for s in sites],
        "segments": [],
        "shared_auth": None,
        "embed": False,
        "theme": "system",
        "background": None,
        "csrf_token": page.csrf_token,
        "can_annotate": False,
        "can_edit_site_segments": False,
        "user_id": page.user.id,
        "imports": [],
        "can_save_segments": False,
        "settings_url": None,
        "stats_start": None,
    }
    return page_response(config, "Compare sites", header=_header(page))


def _header(page: Page) -> str:
    links = ""
    if page.user is not None:
        links = (
            "<a href=/sites>Sites</a><a href=/settings>"
            + html.escape(page.user.email)
            + f"</a><form method=post action=/logout>{page.csrf_field()}"
            + "<button class=link>Log out</button></form>"
        )
    elif page.request.url.path.startswith("/share/"):
        links = ""
    else:
        links = "<a href=/login>Log in</a>"
    return f"<header class=app-head><a class=brand href=/>footfall</a><nav>{links}</nav></header>"


def page_html(config: dict[str, Any], title: str, header: str = "") -> str:
    """The dashboard's HTML shell: the config as JSON (escaped for a script tag), the bundle."""
    payload = orjson.dumps(config).decode()
    payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    built = (STATIC_DIR / "main.js").is_file()
    missing = (
        "" if built else f"<p class=unbuilt>The dashboard is not built: run <code>{BUILD_COMMAND}</code>.</p>"
    )
    transparent = config.get("background") == "transparent"
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta name=viewport content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)} · footfall</title>"
        "<link rel=icon href=/assets/favicon.svg type=image/svg+xml>"
        "<link rel=stylesheet href=/static/dashboard/styles.css>"
        f"<script id=dashboard-config type=application/json>{payload}</script>"
        f"</head><body{' class=transparent' if transparent else ''}>{header}<div id=dashboard>{missing}</div>"
        "<script type=module src=/static/dashboard/main.js></script></body></html>"
    )


def page_response(config: dict[str, Any], title: str, header: str = "", embed: bool = False) -> HTMLResponse:
    headers = {"Cache-Control": "no-store", "Referrer-Policy": "same-origin"}
    if not embed:  # a dashboard is framed only when embedded through a shared link
        headers |= {"X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'"}
    return HTMLResponse(page_html(config, title, header), headers=headers)


def dashboard_api_routes() -> list[BaseRoute]:
    """The JSON routes, the built files and the compare page: ahead of accounts'
    `/{domain}/...` pages."""
    return [
        page_route("/sites/compare", compare_page, LOGIN),
        *declare(
            DASHBOARD_API,
            [
                Route("/api/stats/{domain:path}/query", query, methods=["POST"]),
                Route("/api/stats/{domain:path}/current-visitors", current_visitors, methods=["GET"]),
                Route("/api/stats/{domain:path}/funnel", funnel, methods=["POST"]),
                Route("/api/stats/{domain:path}/property-keys", property_keys, methods=["POST"]),
            ],
        ),
        *declare(
            DASHBOARD_API, [Route("/api/stats/{domain:path}/annotations", list_annotations, methods=["GET"])]
        ),
        *declare(
            EDITOR_API,
            [
                Route("/api/stats/{domain:path}/annotations", add_annotation, methods=["POST"]),
                Route(
                    "/api/stats/{domain:path}/annotations/{annotation_id}",
                    remove_annotation,
                    methods=["DELETE"],
                ),
            ],
        ),
        *declare(
            MEMBER_API,
            [
                Route("/api/stats/{domain:path}/segments", save_segment, methods=["POST"]),
                Route("/api/stats/{domain:path}/segments/{segment_id}", update_segment, methods=["PATCH"]),
                Route("/api/stats/{domain:path}/segments/{segment_id}", delete_segment, methods=["DELETE"]),
            ],
        ),
        *declare(OPEN, [Route("/static/dashboard/{name}", static_file, methods=["GET"])]),
    ]


def dashboard_routes() -> list[BaseRoute]:
    """The pages: last in the app's routes (`/{domain:path}` matches any path)."""
    return [
        page_route("/{domain:path}", dashboard_page, SITE_VIEW),
    ]
