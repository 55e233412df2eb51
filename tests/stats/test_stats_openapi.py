"""The OpenAPI description at /api/docs/openapi.json: it describes every route the app serves,
the key scopes, paging and rate limits as the app applies them; and schemathesis against the
keyed API: no 5xx, ever."""

from __future__ import annotations

import re

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from starlette.routing import Route

from footfall.web.auth import NOT_A_SITES_KEY
from footfall.web.openapi import openapi_document
from footfall.web.pages import API, OPEN, access_of
from tests.stats.shop import SHOP, shop_hits

DOCUMENT = openapi_document()
METHODS = ("get", "put", "post", "delete", "patch")
SITES_SCOPE = "sites:provision:*"
# The Sites API's writes, which only a Sites API key may make.
PROVISIONING = {
    ("post", "/api/v1/sites"),
    ("put", "/api/v1/sites/{site_id}"),
    ("delete", "/api/v1/sites/{site_id}"),
    ("put", "/api/v1/sites/goals"),
    ("delete", "/api/v1/sites/goals/{goal_id}"),
    ("put", "/api/v1/sites/shared-links"),
    ("put", "/api/v1/sites/funnels"),
    ("delete", "/api/v1/sites/funnels/{funnel_id}"),
    ("put", "/api/v1/sites/shields/{kind}"),
    ("delete", "/api/v1/sites/shields/{kind}/{rule_id}"),
    ("post", "/api/v1/sites/segments"),
    ("patch", "/api/v1/sites/segments/{segment_id}"),
    ("delete", "/api/v1/sites/segments/{segment_id}"),
}
PAGED = ("/api/v1/sites", "/api/v1/sites/goals", "/api/v1/sites/funnels")


def described() -> dict[tuple[str, str], dict]:
    return {
        (method, path): operation
        for path, item in DOCUMENT["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def keyed() -> dict[tuple[str, str], dict]:
    """The operations that take an API key: the Stats API and the Sites API."""
    return {k: op for k, op in described().items() if op.get("security", DOCUMENT["security"])}


@pytest.fixture(scope="module")
def world(world_factory):
    return world_factory([SHOP], shop_hits())


@pytest.fixture(scope="module")
def api_schema(world):
    return schemathesis.openapi.from_asgi("/api/docs/openapi.json", world.client.app)


# schemathesis' own pytest plugin does not run under pytest 9 yet, so each operation's
# hypothesis strategy is drawn from directly.
# Only the keyed API is fuzzed: the open routes (health, metrics, tracker script) depend on the
# deployment (a tracker build, a trusted address) rather than on what a client sends.
KEYED_LABELS = {f"{method.upper()} {path}" for method, path in keyed()}
OPERATIONS = [
    op
    for op in (result.ok() for result in schemathesis.openapi.from_dict(DOCUMENT).get_all_operations())
    if op.label in KEYED_LABELS
]


def test_docs_are_served(world) -> None:
    page = world.client.get("/api/docs")
    assert page.status_code == 200
    assert "/api/docs/openapi.json" in page.text
    document = world.client.get("/api/docs/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert "/api/v2/query" in document["paths"]
    assert "/api/v1/stats/breakdown" in document["paths"]


def test_every_route_the_app_serves_is_described_and_nothing_else(world) -> None:
    served = set()
    for route in world.client.app.routes:
        assert isinstance(route, Route), route
        if access_of(route) not in (API, OPEN) or route.path.startswith(
            ("/assets/", "/static/", "/email-reports/unsubscribe/", "/favicon.ico")
        ):
            # Pages (the unsubscribe page is open: its token is the permission), their files
            # (the icon too) and the dashboard's JSON routes: in the README, not the API.
            continue
        path = re.sub(r"\{(\w+)(:\w+)?\}", r"{\1}", route.path)
        served |= {(method.lower(), path) for method in route.methods or () if method != "HEAD"}
    assert served == set(described())
    assert len(OPERATIONS) == len(keyed()) == len(served) - 6  # docs, openapi.json, 2 health, metrics, js


def test_the_documented_schemas_compile_and_their_examples_fit_them() -> None:
    for (method, path), operation in described().items():
        for response in operation["responses"].values():
            for media in response.get("content", {}).values():
                jsonschema_rs.validator_for(media["schema"])  # each schema compiles
                if "example" in media:
                    assert jsonschema_rs.is_valid(media["schema"], media["example"]), (method, path)


def test_the_bearer_scheme_explains_both_scopes() -> None:
    scheme = DOCUMENT["components"]["securitySchemes"]["bearer"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    assert "`stats:read:*`" in scheme["description"]
    assert "`sites:provision:*`" in scheme["description"]


def test_the_sites_api_writes_need_a_sites_api_key() -> None:
    assert NOT_A_SITES_KEY == (
        "Invalid API key. Please make sure you're using a valid API key with access to the resource "
        "you've requested."
    )
    needing = {k for k, op in described().items() if op.get("security") == [{"bearer": [SITES_SCOPE]}]}
    assert needing == PROVISIONING
    for key in PROVISIONING:
        unauthorised = described()[key]["responses"]["401"]["content"]["application/json"]
        assert unauthorised["example"] == {"error": NOT_A_SITES_KEY}
        assert SITES_SCOPE in described()[key]["description"]
    for key, operation in keyed().items():
        if key not in PROVISIONING:
            assert "security" not in operation, key  # any key: the document's [{"bearer": []}]


def test_a_stats_key_is_refused_where_the_document_says(world) -> None:
    from tests.stats.test_sites_api import new_user_with_key

    stats_key = new_user_with_key(world, "openapi-stats@example.com", "stats:read:*", ["oa.example"])
    world.services.extras.pop("api_rate_limiter", None)
    answer = world.client.post(
        "/api/v1/sites", json={"domain": "oa-new.example"}, headers={"Authorization": f"Bearer {stats_key}"}
    )
    assert answer.status_code == 401
    example = described()[("post", "/api/v1/sites")]["responses"]["401"]["content"]["application/json"]
    assert answer.json() == example["example"]


@pytest.mark.parametrize("path", PAGED)
def test_lists_are_paged_with_cursors(path) -> None:
    operation = described()[("get", path)]
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert parameters["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100, "default": 100}
    assert parameters["after"]["schema"] == parameters["before"]["schema"] == {"type": "string"}
    assert "Not with `before`" in parameters["after"]["description"]
    assert "Not with `after`" in parameters["before"]["description"]
    answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
    meta = answer["properties"]["meta"]
    assert meta["required"] == ["after", "before", "limit"]
    assert meta["properties"]["after"]["type"] == ["string", "null"]
    bad = operation["responses"]["400"]
    assert "cursor" in bad["description"] and "limit" in bad["description"]
    assert set(bad["content"]["application/json"]["schema"]["required"]) == {"error"}


@pytest.mark.parametrize(
    "query",
    [{"after": "not-a-cursor"}, {"before": "@@"}, {"limit": "0"}, {"limit": "101"}, {"limit": "ten"}],
)
def test_a_bad_page_request_is_the_documented_400(world, query) -> None:
    world.services.extras.pop("api_rate_limiter", None)
    schema = described()[("get", "/api/v1/sites")]["responses"]["400"]["content"]["application/json"]
    answer = world.client.get("/api/v1/sites", params=query, headers={"Authorization": f"Bearer {world.key}"})
    assert answer.status_code == 400, answer.text
    assert jsonschema_rs.is_valid(schema["schema"], answer.json())


def test_both_cursors_at_once_is_a_400(world) -> None:
    world.services.extras.pop("api_rate_limiter", None)
    headers = {"Authorization": f"Bearer {world.key}"}
    first = world.client.get(
        "/api/v1/sites/goals", params={"site_id": "shop.example", "limit": 1}, headers=headers
    )
    cursor = first.json()["meta"]["after"]
    assert cursor is not None
    answer = world.client.get(
        "/api/v1/sites/goals",
        params={"site_id": "shop.example", "after": cursor, "before": cursor},
        headers=headers,
    )
    assert answer.status_code == 400
    assert answer.json() == {"error": "Pass either `after` or `before`, not both"}


def test_every_keyed_operation_may_answer_429_with_retry_after() -> None:
    for key, operation in keyed().items():
        limited = operation["responses"]["429"]
        assert limited["headers"]["Retry-After"]["schema"]["type"] == "integer", key
        body = limited["content"]["application/json"]
        assert body["example"] == {
            "error": "Too many API requests. Your API key is limited to 600 requests per hour."
        }
    for key, operation in described().items():
        if key not in keyed():
            assert "429" not in operation["responses"], key


def test_a_429_is_as_documented(world) -> None:
    from footfall.accounts.apikeys import hash_key
    from footfall.meta.db import session_scope
    from footfall.meta.models import ApiKey
    from tests.stats.test_sites_api import new_user_with_key

    limited_key = new_user_with_key(
        world, "openapi-limited@example.com", "sites:provision:*", ["oa2.example"]
    )
    with session_scope(world.services.sessions) as db:
        db.query(ApiKey).filter(ApiKey.key_hash == hash_key(limited_key)).one().hourly_request_limit = 1
    world.services.extras.pop("api_rate_limiter", None)
    headers = {"Authorization": f"Bearer {limited_key}"}
    assert world.client.get("/api/v1/sites", headers=headers).status_code == 200
    refused = world.client.get("/api/v1/sites", headers=headers)
    assert refused.status_code == 429
    documented = described()[("get", "/api/v1/sites")]["responses"]["429"]
    assert jsonschema_rs.is_valid(documented["content"]["application/json"]["schema"], refused.json())
    assert refused.json() == {
        "error": "Too many API requests. Your API key is limited to 1 requests per hour."
    }
    assert jsonschema_rs.is_valid(
        documented["headers"]["Retry-After"]["schema"], int(refused.headers["retry-after"])
    )


@pytest.mark.parametrize("label", [op.label for op in OPERATIONS])
def test_api_never_answers_with_a_server_error(api_schema, world, label) -> None:
    operation = next(result.ok() for result in api_schema.get_all_operations() if result.ok().label == label)

    @given(case=operation.as_strategy())
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    def check(case) -> None:
        world.services.extras.pop("api_rate_limiter", None)
        # Keep the fixture site: fuzz renames and deletions on other names only.
        named = str((case.path_parameters or {}).get("site_id", "")).strip().lower().rstrip("/")
        if case.method in ("PUT", "DELETE") and named == "shop.example":
            case.path_parameters["site_id"] = "fuzz.example"
        response = case.call(headers={"Authorization": f"Bearer {world.key}"})
        assert response.status_code < 500, (case.method, case.formatted_path, response.text)
        if response.status_code >= 400:
            content_type = response.headers.get("content-type") or [""]
            content_type = content_type[0] if isinstance(content_type, list) else content_type
            assert content_type.startswith("application/json"), (
                case.method,
                case.formatted_path,
                response.status_code,
                response.text,
            )
            assert "error" in response.json()

    check()
