"""Serves the tracker script at the paths Plausible's snippet uses: `/js/script.js`,
`/js/plausible.js` and their extension variants such as `/js/script.hash.outbound-links.js`.

The files come from `tracker/build.mjs`, one per combination of extensions, named in
canonical (alphabetical) order; a request may list the extensions in any order. They are
read into memory on first use and served from there, gzipped when the client accepts it.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from footfall.sites.snippet import EXTENSIONS

# Canonical order: alphabetical, as Plausible names its files (one list, kept with the snippet).
PREFIXES: tuple[str, ...] = ("script", "plausible")
DEFAULT_STATIC_DIR = Path(__file__).parent / "static" / "tracker"

BUILD_COMMAND = "npm --prefix tracker ci && npm --prefix tracker run build"
# A day in caches; after that the ETag makes a check cheap (a 304 with no body).
CACHE_CONTROL = "public, max-age=86400"
JAVASCRIPT = "application/javascript; charset=utf-8"


class UnknownVariant(ValueError):
    """The requested file name is no tracker variant; the message says why."""


def canonical_variant(name: str) -> str:
    """The canonical extension list of a requested file name: `""` for `script.js`,
    `"hash.outbound-links"` for `plausible.outbound-links.hash.js`."""
    if not name.endswith(".js"):
        raise UnknownVariant(f"{name!r} is not a tracker script: its name must end in .js")
    prefix, *extensions = name[: -len(".js")].split(".")
    if prefix not in PREFIXES:
        raise UnknownVariant(
            f"{name!r} is not a tracker script: its name must start with script. or plausible."
        )
    unknown = [extension for extension in extensions if extension not in EXTENSIONS]
    if unknown:
        raise UnknownVariant(
            f"{name!r} asks for unknown extension {unknown[0]!r}; known extensions: {', '.join(EXTENSIONS)}"
        )
    if len(set(extensions)) != len(extensions):
        raise UnknownVariant(f"{name!r} lists an extension more than once")
    return ".".join(sorted(extensions, key=EXTENSIONS.index))


@dataclass(frozen=True)
class _Representation:
    body: bytes
    etag: str


@dataclass(frozen=True)
class _Variant:
    plain: _Representation
    gzipped: _Representation

    @classmethod
    def of(cls, source: bytes) -> _Variant:
        digest = hashlib.sha256(source).hexdigest()[:24]
        # mtime=0 keeps the gzipped bytes, and so their ETag, the same across restarts.
        compressed = gzip.compress(source, compresslevel=9, mtime=0)
        return cls(_Representation(source, f'"{digest}"'), _Representation(compressed, f'"{digest}-gz"'))


def _load_variants(static_dir: Path) -> dict[str, _Variant] | None:
    """Every built variant, keyed by its canonical extension list; None if not built."""
    if not (static_dir / "script.js").is_file():
        return None
    variants: dict[str, _Variant] = {}
    # The build writes each variant as script.*.js and plausible.*.js, same bytes.
    for path in static_dir.glob("script*.js"):
        try:
            key = canonical_variant(path.name)
        except UnknownVariant:
            continue
        variants[key] = _Variant.of(path.read_bytes())
    return variants


def _accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header allows gzip (`q=0` refuses it)."""
    qualities: dict[str, float] = {}
    for item in accept_encoding.lower().split(","):
        coding, *parameters = (part.strip() for part in item.split(";"))
        quality = 1.0
        for parameter in parameters:
            if parameter.startswith("q="):
                try:
                    quality = float(parameter[2:])
                except ValueError:
                    quality = 0.0
        if coding:
            qualities[coding] = quality
    return qualities.get("gzip", qualities.get("x-gzip", qualities.get("*", 0.0))) > 0


def _etag_matches(if_none_match: str, etag: str) -> bool:
    # Weak comparison, as RFC 9110 prescribes for If-None-Match.
    tags = [tag.strip() for tag in if_none_match.split(",")]
    return "*" in tags or any(tag.removeprefix("W/") == etag for tag in tags)


def _error(status_code: int, message: str) -> JSONResponse:
    return JSONResponse(
        {"error": message}, status_code=status_code, headers={"Access-Control-Allow-Origin": "*"}
    )


class _TrackerFiles:
    """The built variants of one static directory, read on first use."""

    def __init__(self, static_dir: Path) -> None:
        self.static_dir = static_dir
        self._variants: dict[str, _Variant] | None = None

    async def variants(self) -> dict[str, _Variant] | None:
        # Not cached while unbuilt, so a build made after start is picked up.
        if self._variants is None:
            self._variants = await run_in_threadpool(_load_variants, self.static_dir)
        return self._variants

    async def serve(self, request: Request) -> Response:
        name: str = request.path_params["name"]
        try:
            key = canonical_variant(name)
        except UnknownVariant as reason:
            return _error(404, str(reason))
        variants = await self.variants()
        if variants is None:
            return _error(
                503,
                f"The tracker script has not been built (no script.js in {self.static_dir}). "
                f"Build it with `{BUILD_COMMAND}`.",
            )
        variant = variants.get(key)
        if variant is None:
            return _error(404, f"{name!r} was not built; rebuild the tracker with `{BUILD_COMMAND}`")

        gzipped = _accepts_gzip(request.headers.get("accept-encoding", ""))
        representation = variant.gzipped if gzipped else variant.plain
        headers = {
            "ETag": representation.etag,
            "Cache-Control": CACHE_CONTROL,
            "Vary": "Accept-Encoding",
            "Access-Control-Allow-Origin": "*",
            "X-Content-Type-Options": "nosniff",
        }
        if _etag_matches(request.headers.get("if-none-match", ""), representation.etag):
            return Response(status_code=304, headers=headers)
        if gzipped:
            headers["Content-Encoding"] = "gzip"
        return Response(representation.body, headers=headers, media_type=JAVASCRIPT)


def tracker_routes(static_dir: Path | None = None) -> list[BaseRoute]:
    """Routes serving `GET /js/{name}` for every tracker variant built into `static_dir`
    (by default the package's `web/static/tracker`)."""
    files = _TrackerFiles(static_dir or DEFAULT_STATIC_DIR)
    return [Route("/js/{name:str}", files.serve, methods=["GET"], name="tracker_script")]
