"""HTTP handlers for saved segments (`/api/v1/sites/segments...`), by Bearer key.

Plausible keeps segments behind its dashboard's internal API; footfall offers them next to
the Sites API, in the same shapes: a segment is `{id, name, type, segment_data, owner_id,
inserted_at, updated_at}`, `segment_data` holds `filters` (Stats API v2 filters, checked as a
query would check them) and optionally `labels`. A key's user sees the site's segments and
their own personal ones; anyone who can see the site may save personal segments, only its
owners and admins site segments. Saving, changing and deleting need a Sites API key
(scope `sites:provision:*`); a Stats API key may read.

    GET    /api/v1/sites/segments?site_id=DOMAIN          the segments the user can see
    POST   /api/v1/sites/segments                         {site_id, name, type, segment_data}
    GET    /api/v1/sites/segments/ID?site_id=DOMAIN       one segment
    PATCH  /api/v1/sites/segments/ID                      {site_id, name?, type?, segment_data?}
    DELETE /api/v1/sites/segments/ID?site_id=DOMAIN       answers the deleted segment
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from footfall.meta.models import Role, Site, User
from footfall.meta.segments import Segment, SegmentType, visible_to
from footfall.stats import v2
from footfall.stats.query import QueryError
from footfall.web.api_plumbing import find_site, handle
from footfall.web.auth import ApiError
from footfall.web.stats_api import row_id, site_spec

MAX_NAME_BYTES = 255
MAX_DATA_BYTES = 5 * 1024
# Plausible's labels are a flat object (a filter value -> its label); nesting is bounded so that
# every answer holding a segment can be encoded (orjson stops at 255 levels).
MAX_LABELS_DEPTH = 10
MAX_SEGMENTS_PER_SITE = 500  # Plausible's limit
SITE_SEGMENT_ROLES = (Role.owner, Role.admin)


# --- shapes and checks ----------------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.replace(tzinfo=UTC).isoformat().replace("+00:00", "Z")


def segment_json(segment: Segment) -> dict[str, Any]:
    return {
        "id": segment.id,
        "name": segment.name,
        "type": str(segment.type),
        "segment_data": segment.segment_data,
        "owner_id": segment.owner_id,
        "inserted_at": _iso(segment.created_at),
        "updated_at": _iso(segment.updated_at),
    }


def _find_site(db: Session, user: User, site_id: Any) -> tuple[Site, Role]:
    return find_site(db, user, site_id)


def _segment_id(raw: str) -> int:
    found = row_id(raw)
    if found is None:
        raise ApiError(400, f"Invalid segment id {orjson.dumps(raw).decode()}: expected a positive integer.")
    return found


def _find_segment(db: Session, site: Site, user: User, segment_id: int) -> Segment:
    segment = db.scalar(
        select(Segment).where(Segment.id == segment_id, Segment.site_id == site.id, visible_to(user.id))
    )
    if segment is None:
        raise ApiError(404, f"Segment not found with ID {segment_id}")
    return segment


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or "\x00" in value:
        raise ApiError(400, "Invalid segment: `name` must be a non-empty string (without NUL characters).")
    if len(value.encode()) > MAX_NAME_BYTES:
        raise ApiError(400, f"Invalid segment: `name` must be at most {MAX_NAME_BYTES} bytes.")
    return value.strip()


def _type(value: Any, role: Role) -> SegmentType:
    if value not in ("personal", "site"):
        raise ApiError(400, 'Invalid segment: `type` must be "personal" or "site".')
    kind = SegmentType(value)
    if kind is SegmentType.site and role not in SITE_SEGMENT_ROLES:
        raise ApiError(403, "Only the site's owners and admins may save site segments.")
    return kind


def _segment_data(value: Any, site: Site) -> dict[str, Any]:
    """`{"filters": [...], "labels": {...}?}`, the filters valid in a v2 query on this site."""
    if not isinstance(value, dict):
        raise ApiError(400, "Invalid segment: `segment_data` must be an object holding `filters`.")
    unknown = set(value) - {"filters", "labels"}
    if unknown:
        raise ApiError(400, f"Invalid segment: `segment_data` may not hold `{sorted(unknown)[0]}`.")
    labels = value.get("labels")
    if labels is not None and not isinstance(labels, dict):
        raise ApiError(400, "Invalid segment: `segment_data.labels` must be an object.")
    if labels is not None and _nesting(labels) > MAX_LABELS_DEPTH:
        raise ApiError(
            400,
            f"Invalid segment: `segment_data.labels` may be nested at most {MAX_LABELS_DEPTH} levels deep.",
        )
    try:
        # Parsed before anything encodes them: the parser refuses filters nested deeper than
        # a query allows, which could be too deep for the encoder.
        v2.segment_filters(0, value.get("filters"))
    except QueryError as error:
        raise _invalid_filters(error) from None
    encoded = orjson.dumps(value)
    if b"\\u0000" in encoded:
        raise ApiError(400, "Invalid segment: `segment_data` may not hold NUL characters.")
    if len(encoded) > MAX_DATA_BYTES:
        raise ApiError(
            400, f"Invalid segment: `segment_data` must be at most {MAX_DATA_BYTES} bytes of JSON."
        )
    try:
        # Checked as the filters of a query would be: known dimensions, configured goals, RE2...
        naive = {
            "site_id": site.domain,
            "metrics": ["visitors"],
            "date_range": "7d",
            "filters": value["filters"],
        }
        v2.parse(site_spec(site), naive, _now())
    except QueryError as error:
        raise _invalid_filters(error) from None
    return value


def _invalid_filters(error: QueryError) -> ApiError:
    message = error.message.replace("Invalid segment 0: ", "")
    return ApiError(400, f"Invalid segment_data.filters: {message}")


def _nesting(value: Any) -> int:
    """How many levels of lists and objects `value` has, counted without recursion."""
    deepest = 0
    pending = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth + 1)
            pending.extend((child, depth + 1) for child in item)
    return deepest


def _now() -> datetime:
    return datetime.now(UTC)


# --- handlers -------------------------------------------------------------------------------------


async def segments_index(request: Request) -> Response:
    def work(db: Session, user: User, body: dict[str, Any]) -> Any:
        site, _ = _find_site(db, user, body.get("site_id"))
        found = db.scalars(
            select(Segment)
            .where(Segment.site_id == site.id, visible_to(user.id))
            .order_by(Segment.updated_at.desc(), Segment.type, Segment.name, Segment.id)
        ).all()
        return {"segments": [segment_json(s) for s in found]}

    return await handle(request, work, provision=False, path=False)


async def segments_create(request: Request) -> Response:
    def work(db: Session, user: User, body: dict[str, Any]) -> Any:
        site, role = _find_site(db, user, body.get("site_id"))
        unknown = set(body) - {"site_id", "name", "type", "segment_data"}
        if unknown:
            raise ApiError(400, f"Invalid segment: unknown key `{sorted(unknown)[0]}`.")
        saved = db.scalar(select(func.count()).select_from(Segment).where(Segment.site_id == site.id))
        if (saved or 0) >= MAX_SEGMENTS_PER_SITE:
            raise ApiError(
                400, f"A site may have at most {MAX_SEGMENTS_PER_SITE} segments; delete one first."
            )
        segment = Segment(
            site_id=site.id,
            owner_id=user.id,
            name=_name(body.get("name")),
            type=_type(body.get("type"), role),
            segment_data=_segment_data(body.get("segment_data"), site),
        )
        db.add(segment)
        db.flush()
        return segment_json(segment)

    return await handle(request, work, path=False)


async def segments_show(request: Request) -> Response:
    def work(db: Session, user: User, body: dict[str, Any]) -> Any:
        site, _ = _find_site(db, user, body.get("site_id"))
        return segment_json(_find_segment(db, site, user, _segment_id(request.path_params["segment_id"])))

    return await handle(request, work, provision=False, path=False)


async def segments_update(request: Request) -> Response:
    def work(db: Session, user: User, body: dict[str, Any]) -> Any:
        site, role = _find_site(db, user, body.get("site_id"))
        segment = _find_segment(db, site, user, _segment_id(request.path_params["segment_id"]))
        unknown = set(body) - {"site_id", "name", "type", "segment_data"}
        if unknown:
            raise ApiError(400, f"Invalid segment: unknown key `{sorted(unknown)[0]}`.")
        if segment.type is SegmentType.site and role not in SITE_SEGMENT_ROLES:
            raise ApiError(403, "Only the site's owners and admins may change site segments.")
        if "name" in body:
            segment.name = _name(body["name"])
        if "type" in body:
            segment.type = _type(body["type"], role)
        if "segment_data" in body:
            segment.segment_data = _segment_data(body["segment_data"], site)
        # Whoever edits a segment owns it from then on, as in Plausible.
        segment.owner_id = user.id
        segment.updated_at = datetime.now(UTC).replace(tzinfo=None)
        db.flush()
        return segment_json(segment)

    return await handle(request, work, path=False)


async def segments_delete(request: Request) -> Response:
    def work(db: Session, user: User, body: dict[str, Any]) -> Any:
        site, role = _find_site(db, user, body.get("site_id"))
        segment = _find_segment(db, site, user, _segment_id(request.path_params["segment_id"]))
        if segment.type is SegmentType.site and role not in SITE_SEGMENT_ROLES:
            raise ApiError(403, "Only the site's owners and admins may delete site segments.")
        shown = segment_json(segment)
        db.delete(segment)
        return shown

    return await handle(request, work, path=False)


def segments_routes() -> list[BaseRoute]:
    """Register ahead of the Sites API routes: `/api/v1/sites/{site_id}` would match these paths."""
    return [
        Route("/api/v1/sites/segments", segments_index, methods=["GET"]),
        Route("/api/v1/sites/segments", segments_create, methods=["POST"]),
        Route("/api/v1/sites/segments/{segment_id}", segments_show, methods=["GET"]),
        Route("/api/v1/sites/segments/{segment_id}", segments_update, methods=["PATCH"]),
        Route("/api/v1/sites/segments/{segment_id}", segments_delete, methods=["DELETE"]),
    ]
