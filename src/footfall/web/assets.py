"""The pages' own stylesheet, script and icon (`/assets/app.css`, `/assets/pages.js`,
`/assets/favicon.svg`, which `/favicon.ico` answers too, for the clients that ask it without
reading the pages' `<link rel=icon>`), from `web/page_assets/` (hand-written and committed;
`web/static/` holds only what the builds write)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from footfall.web.pages import OPEN, declare

STATIC = Path(__file__).parent / "page_assets"
_TYPES = {
    "app.css": "text/css; charset=utf-8",
    "pages.js": "text/javascript; charset=utf-8",
    "favicon.svg": "image/svg+xml",
}


def _serve(name: str, route_name: str | None = None):
    body = (STATIC / name).read_bytes()
    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'

    async def serve(request: Request) -> Response:
        headers = {"ETag": etag, "Cache-Control": "public, max-age=300"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type=_TYPES[name], headers=headers)

    serve.__name__ = route_name or "asset_" + name.replace(".", "_")
    return serve


def asset_routes() -> list[BaseRoute]:
    routes = [Route(f"/assets/{name}", _serve(name), methods=["GET"]) for name in _TYPES]
    # Ahead of `/:domain`, which would take the path for a site's dashboard.
    routes.append(Route("/favicon.ico", _serve("favicon.svg", "favicon"), methods=["GET"]))
    return declare(OPEN, routes)
