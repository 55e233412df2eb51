"""The pages' own stylesheet and script (`/assets/app.css`, `/assets/pages.js`), from `web/page_assets/`
(hand-written and committed; `web/static/` holds only what the builds write)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from footfall.web.pages import OPEN, declare

STATIC = Path(__file__).parent / "page_assets"
_TYPES = {"app.css": "text/css; charset=utf-8", "pages.js": "text/javascript; charset=utf-8"}


def _serve(name: str):
    body = (STATIC / name).read_bytes()
    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'

    async def serve(request: Request) -> Response:
        headers = {"ETag": etag, "Cache-Control": "public, max-age=300"}
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        return Response(body, media_type=_TYPES[name], headers=headers)

    serve.__name__ = "asset_" + name.replace(".", "_")
    return serve


def asset_routes() -> list[BaseRoute]:
    return declare(OPEN, [Route(f"/assets/{name}", _serve(name), methods=["GET"]) for name in _TYPES])
