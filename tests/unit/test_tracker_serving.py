"""The tracker script is served at Plausible's paths, in any extension order, cacheable."""

from __future__ import annotations

import gzip
import itertools
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from footfall.web.tracker import DEFAULT_STATIC_DIR, EXTENSIONS, canonical_variant, tracker_routes
from tests.conftest import unavailable

BASE = b"(function(){/* base */})();"
HASH_OUTBOUND = b"(function(){/* hash + outbound-links */})();"
HASH = b"(function(){/* hash */})();"


@pytest.fixture
def built_dir(tmp_path: Path) -> Path:
    """A tracker build with three variants, laid out as tracker/build.mjs writes it."""
    for prefix in ("script", "plausible"):
        (tmp_path / f"{prefix}.js").write_bytes(BASE)
        (tmp_path / f"{prefix}.hash.js").write_bytes(HASH)
        (tmp_path / f"{prefix}.hash.outbound-links.js").write_bytes(HASH_OUTBOUND)
    return tmp_path


def client_for(static_dir: Path) -> TestClient:
    return TestClient(Starlette(routes=tracker_routes(static_dir)))


@pytest.fixture
def client(built_dir: Path) -> TestClient:
    return client_for(built_dir)


def plain(client: TestClient, path: str, **headers: str) -> httpx.Response:
    return client.get(path, headers={"Accept-Encoding": "identity", **headers})


def test_script_js_and_plausible_js_serve_the_base_script(client: TestClient) -> None:
    for path in ("/js/script.js", "/js/plausible.js"):
        response = plain(client, path)
        assert response.status_code == 200
        assert response.content == BASE
        assert response.headers["content-type"] == "application/javascript; charset=utf-8"
        assert response.headers["access-control-allow-origin"] == "*"
        assert response.headers["cache-control"] == "public, max-age=86400"


def test_extensions_are_accepted_in_any_order(client: TestClient) -> None:
    for path in (
        "/js/script.hash.outbound-links.js",
        "/js/script.outbound-links.hash.js",
        "/js/plausible.outbound-links.hash.js",
    ):
        response = plain(client, path)
        assert response.status_code == 200, path
        assert response.content == HASH_OUTBOUND


def test_every_order_of_the_same_extensions_has_the_same_etag(client: TestClient) -> None:
    paths = ("/js/script.hash.outbound-links.js", "/js/plausible.outbound-links.hash.js")
    etags = {plain(client, path).headers["etag"] for path in paths}
    assert len(etags) == 1
    assert plain(client, "/js/script.js").headers["etag"] not in etags


def test_a_matching_if_none_match_gets_304_without_a_body(client: TestClient) -> None:
    etag = plain(client, "/js/script.hash.js").headers["etag"]
    assert etag.startswith('"') and etag.endswith('"'), "a strong ETag"

    for if_none_match in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        response = plain(client, "/js/script.hash.js", **{"If-None-Match": if_none_match})
        assert response.status_code == 304, if_none_match
        assert response.content == b""
        assert response.headers["etag"] == etag
        assert response.headers["cache-control"] == "public, max-age=86400"


def test_a_stale_if_none_match_gets_the_script(client: TestClient) -> None:
    response = plain(client, "/js/script.hash.js", **{"If-None-Match": '"stale"'})
    assert response.status_code == 200
    assert response.content == HASH


def test_clients_accepting_gzip_get_it_compressed_with_its_own_etag(client: TestClient) -> None:
    compressed = client.get("/js/script.js", headers={"Accept-Encoding": "gzip, br"})
    assert compressed.status_code == 200
    assert compressed.headers["content-encoding"] == "gzip"
    assert compressed.headers["vary"] == "Accept-Encoding"
    assert compressed.content == BASE  # httpx decodes it

    uncompressed = plain(client, "/js/script.js")
    assert "content-encoding" not in uncompressed.headers
    assert uncompressed.headers["etag"] != compressed.headers["etag"]

    refused = client.get("/js/script.js", headers={"Accept-Encoding": "gzip;q=0"})
    assert "content-encoding" not in refused.headers


def test_the_gzipped_body_is_real_gzip(built_dir: Path) -> None:
    client = client_for(built_dir)
    with client.stream("GET", "/js/script.js", headers={"Accept-Encoding": "gzip"}) as response:
        raw = b"".join(response.iter_raw())
    assert gzip.decompress(raw) == BASE
    assert int(response.headers["content-length"]) == len(raw)


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/js/script.unknown.js", "unknown extension 'unknown'"),
        ("/js/script.hash.hash.js", "more than once"),
        ("/js/analytics.js", "must start with script. or plausible."),
        ("/js/script.hash", "must end in .js"),
    ],
)
def test_unknown_names_get_a_404_json_error(client: TestClient, path: str, reason: str) -> None:
    response = plain(client, path)
    assert response.status_code == 404
    assert reason in response.json()["error"]
    assert response.headers["access-control-allow-origin"] == "*"


def test_a_known_variant_missing_from_the_build_gets_a_404(client: TestClient) -> None:
    response = plain(client, "/js/script.tagged-events.js")
    assert response.status_code == 404
    assert "was not built" in response.json()["error"]


def test_an_unbuilt_tracker_gets_a_503_saying_how_to_build_it(tmp_path: Path) -> None:
    response = plain(client_for(tmp_path / "missing"), "/js/script.js")
    assert response.status_code == 503
    assert "npm --prefix tracker" in response.json()["error"]


def test_a_build_made_after_start_is_picked_up(tmp_path: Path) -> None:
    client = client_for(tmp_path)
    assert plain(client, "/js/script.js").status_code == 503
    (tmp_path / "script.js").write_bytes(BASE)
    assert plain(client, "/js/script.js").content == BASE


def test_files_are_read_once_then_served_from_memory(built_dir: Path) -> None:
    client = client_for(built_dir)
    assert plain(client, "/js/script.hash.js").content == HASH
    for path in built_dir.iterdir():
        path.unlink()
    assert plain(client, "/js/script.hash.js").content == HASH
    assert plain(client, "/js/script.js").content == BASE


def test_canonical_order_is_alphabetical_like_plausibles_file_names() -> None:
    assert list(EXTENSIONS) == sorted(EXTENSIONS)
    assert canonical_variant("script.js") == ""
    assert canonical_variant("script.tagged-events.hash.compat.js") == "compat.hash.tagged-events"


def test_the_real_build_serves_every_variant_in_any_order() -> None:
    if not (DEFAULT_STATIC_DIR / "script.js").is_file():
        unavailable("the built tracker", FileNotFoundError("run `make tracker` (make test builds it)"))
    client = client_for(DEFAULT_STATIC_DIR)
    base = plain(client, "/js/script.js")
    assert base.status_code == 200
    assert b"/api/event" in base.content
    assert plain(client, "/js/plausible.js").content == base.content

    for count in range(len(EXTENSIONS) + 1):
        for extensions in itertools.combinations(EXTENSIONS, count):
            canonical = ".".join(["script", *extensions, "js"])
            shuffled = ".".join(["plausible", *reversed(extensions), "js"])
            response = plain(client, f"/js/{shuffled}")
            assert response.status_code == 200, shuffled
            assert response.content == (DEFAULT_STATIC_DIR / canonical).read_bytes(), shuffled
