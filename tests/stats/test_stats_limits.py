"""How big a Stats API request may be: filter nesting, values per filter, conditions per query,
and the size of the SQL they make. Past a limit the answer is a 400 naming it, never a 500 (a
stack overflow) or a 503 (the event store refusing the statement); up to it, real numbers from
the shop.example fixture (see tests/stats/shop.py).

On 2026-03-10: visitors A (Germany, Chrome) and B (United Kingdom, Safari) viewed /pricing,
A and B viewed /, A and C viewed /blog/post-1; A signed up.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from footfall.events.store import EventStoreError
from footfall.stats.query import MAX_FILTER_CONDITIONS, MAX_FILTER_DEPTH, MAX_FILTER_VALUES
from tests.stats.shop import DAY, SHOP, shop_hits

BASE = {"site_id": "shop.example", "metrics": ["visitors"], "date_range": [DAY, DAY]}
GERMANY = ["is", "visit:country", ["DE"]]
TOO_DEEP = (
    f"Invalid filters: filters may be nested at most {MAX_FILTER_DEPTH} levels deep "
    "(each `and`, `or`, `not`, `has_done` and `has_not_done` is a level)."
)
# Made-up pages that nobody visited, to pad a list of values.
NOWHERE = [f"/nowhere/{i}" for i in range(MAX_FILTER_VALUES)]


@pytest.fixture(scope="module")
def world(world_factory):
    return world_factory([SHOP], shop_hits())


def nested_text(operator: str, levels: int, leaf: list[Any] = GERMANY) -> str:
    """A filter `levels` deep as JSON text: Python's json module cannot write a thousand levels."""
    text = json.dumps(leaf)
    for _ in range(levels):
        text = f'["{operator}", [{text}]]' if operator in ("and", "or") else f'["{operator}", {text}]'
    return text


def nested(operators: list[str], leaf: list[Any]) -> list[Any]:
    """`leaf` inside the operators, the first outermost."""
    node = leaf
    for operator in reversed(operators):
        node = [operator, [node]] if operator in ("and", "or") else [operator, node]
    return node


def post_v2(world, filters_text: str, **body: Any):
    """POST /api/v2/query with the filters given as JSON text."""
    fields = json.dumps({**BASE, **body})[:-1]
    content = f'{fields}, "filters": [{filters_text}]}}'.encode()
    headers = {"Authorization": f"Bearer {world.key}", "Content-Type": "application/json"}
    return world.client.post("/api/v2/query", content=content, headers=headers)


def refused(response) -> str:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/json"
    assert set(response.json()) == {"error"}
    return response.json()["error"]


def answered(response) -> list[Any]:
    assert response.status_code == 200, response.text
    return [row["metrics"] + row["dimensions"] for row in response.json()["results"]]


def save_segment(world, filters_json: str):
    headers = {"Authorization": f"Bearer {world.key}", "Content-Type": "application/json"}
    content = (
        '{"site_id": "shop.example", "name": "Deep", "type": "site", '
        f'"segment_data": {{"filters": {filters_json}}}}}'
    )
    return world.client.post("/api/v1/sites/segments", content=content.encode(), headers=headers)


# --- nesting ------------------------------------------------------------------------------------


@pytest.mark.parametrize("operator", ["not", "or", "and", "has_not_done"])
@pytest.mark.parametrize("levels", [MAX_FILTER_DEPTH + 1, 150, 450])
def test_v2_filters_nested_past_the_limit_are_refused(world, operator, levels) -> None:
    assert refused(post_v2(world, nested_text(operator, levels))) == TOO_DEEP


def test_v2_filters_nested_as_deep_as_json_allows_are_refused(world) -> None:
    """orjson reads up to 1,024 levels: a thousand `not`s reach the filter parser."""
    assert refused(post_v2(world, nested_text("not", 1000))) == TOO_DEEP
    error = refused(post_v2(world, nested_text("and", 1000)))
    assert error == "Invalid request body: not valid JSON."


def test_v2_filters_nested_to_the_limit_are_answered(world) -> None:
    levels = ["or", "and"] * (MAX_FILTER_DEPTH // 2)
    response = world.v2({**BASE, "filters": [nested(levels, GERMANY)]})
    assert answered(response) == [[1]]
    assert response.json()["query"]["filters"] == [nested(levels, GERMANY)]
    without_signup = nested(["not"] * (MAX_FILTER_DEPTH - 1) + ["has_done"], ["is", "event:name", ["Signup"]])
    assert answered(world.v2({**BASE, "filters": [without_signup]})) == [[2]]


def test_has_done_counts_as_a_level(world) -> None:
    signup = ["is", "event:name", ["Signup"]]
    deep = nested(["or"] * MAX_FILTER_DEPTH + ["has_done"], signup)
    assert refused(world.v2({**BASE, "filters": [deep]})) == TOO_DEEP


def test_v1_json_filters_nested_past_the_limit_are_refused(world) -> None:
    response = world.v1(
        "aggregate", site_id="shop.example", period="day", date=DAY, filters=f"[{nested_text('not', 300)}]"
    )
    assert refused(response) == TOO_DEEP
    at_the_limit = f"[{nested_text('not', MAX_FILTER_DEPTH)}]"
    response = world.v1("aggregate", site_id="shop.example", period="day", date=DAY, filters=at_the_limit)
    assert response.json() == {"results": {"visitors": {"value": 1}}}


def test_v1_json_filters_deeper_than_json_allows_are_not_valid_json(world) -> None:
    response = world.v1("aggregate", site_id="shop.example", filters="[" * 15_000)
    assert refused(response) == "Invalid filters: not valid JSON."


def test_a_segment_nested_past_the_limit_is_not_saved(world) -> None:
    filters = f"[{nested_text('not', 300)}]"
    assert len(filters) < 3_000
    assert refused(save_segment(world, filters)) == f"Invalid segment_data.filters: {TOO_DEEP}"


def test_segment_labels_nested_too_deep_are_not_saved(world) -> None:
    headers = {"Authorization": f"Bearer {world.key}", "Content-Type": "application/json"}
    labels = '{"DE": ' + "[" * 300 + "]" * 300 + "}"
    content = (
        '{"site_id": "shop.example", "name": "Labelled", "type": "site", '
        f'"segment_data": {{"filters": [{json.dumps(GERMANY)}], "labels": {labels}}}}}'
    )
    response = world.client.post("/api/v1/sites/segments", content=content.encode(), headers=headers)
    assert refused(response) == "Invalid segment: `segment_data.labels` may be nested at most 10 levels deep."


def test_a_segment_nested_to_the_limit_inside_filters_nested_to_the_limit_is_answered(world) -> None:
    """A segment filter stands for the filters saved with it, so the two depths add up: still
    well within what the event store can run."""
    saved = save_segment(world, json.dumps([nested(["and", "or"] * (MAX_FILTER_DEPTH // 2), GERMANY)]))
    assert saved.status_code == 200, saved.text
    segment = ["is", "segment", [saved.json()["id"]]]
    filters = [nested(["not"] * MAX_FILTER_DEPTH, segment)]
    assert answered(
        world.v2({**BASE, "metrics": ["visitors", "visits", "pageviews"], "filters": filters})
    ) == [[1, 1, 3]]


# --- values and conditions -----------------------------------------------------------------------


def test_a_v2_filter_with_more_values_than_the_limit_is_refused(world) -> None:
    values = [f"/p{i}" for i in range(20_000)]
    error = refused(world.v2({**BASE, "filters": [["is", "event:page", values]]}))
    assert error == (
        f"Invalid filters: a filter may list at most {MAX_FILTER_VALUES} values; "
        "the `event:page` filter lists 20000."
    )


def test_a_v1_filter_with_more_values_than_the_limit_is_refused(world) -> None:
    pages = "|".join(f"/p{i}" for i in range(MAX_FILTER_VALUES + 1))
    error = refused(world.v1("aggregate", site_id="shop.example", filters=f"event:page=={pages}"))
    assert error.startswith(f"Invalid filters: a filter may list at most {MAX_FILTER_VALUES} values;")


def test_a_v2_filter_with_as_many_values_as_the_limit_is_answered(world) -> None:
    pages = ["/pricing", *NOWHERE[1:]]
    assert len(pages) == MAX_FILTER_VALUES
    body = {**BASE, "metrics": ["visitors", "pageviews", "percentage"], "dimensions": ["event:page"]}
    assert answered(world.v2({**body, "filters": [["is", "event:page", pages]]})) == [
        [2, 2, 100.0, "/pricing"]
    ]
    shouted = [["is", "event:page", [page.upper() for page in pages], {"case_sensitive": False}]]
    assert answered(world.v2({**body, "filters": shouted})) == [[2, 2, 100.0, "/pricing"]]
    # Visits with a page other than these: A1, B1 (a bounce) and C1; B2 saw /pricing only.
    excluded = {
        **BASE,
        "metrics": ["visitors", "visits", "bounce_rate"],
        "filters": [["is_not", "event:page", pages]],
    }
    assert answered(world.v2(excluded)) == [[3, 3, 33]]


def test_a_v1_filter_with_as_many_values_as_the_limit_is_answered(world) -> None:
    pages = "|".join(["/pricing", *NOWHERE[1:]])
    response = world.v1(
        "aggregate", site_id="shop.example", period="day", date=DAY, filters=f"event:page=={pages}"
    )
    assert response.json() == {"results": {"visitors": {"value": 2}}}
    response = world.v1(
        "breakdown",
        site_id="shop.example",
        period="day",
        date=DAY,
        property="event:page",
        filters=f"event:page=={pages}",
    )
    assert response.json() == {"results": [{"page": "/pricing", "visitors": 2}]}


def test_more_conditions_than_the_limit_are_refused(world) -> None:
    conditions = [["is_not", "event:page", [page]] for page in NOWHERE[: MAX_FILTER_CONDITIONS + 1]]
    error = refused(world.v2({**BASE, "filters": [["and", conditions]]}))
    assert error == (
        f"Invalid filters: a query may use at most {MAX_FILTER_CONDITIONS} filter conditions "
        f"(a saved segment counts the conditions it holds); this one uses {MAX_FILTER_CONDITIONS + 1}."
    )
    conditions = ";".join(f"event:page!={page}" for page in NOWHERE[: MAX_FILTER_CONDITIONS + 1])
    error = refused(world.v1("aggregate", site_id="shop.example", filters=conditions))
    assert error.startswith(
        f"Invalid filters: a query may use at most {MAX_FILTER_CONDITIONS} filter conditions"
    )


def test_as_many_conditions_as_the_limit_are_answered(world) -> None:
    conditions = [["is_not", "event:page", [page]] for page in NOWHERE[:MAX_FILTER_CONDITIONS]]
    assert answered(world.v2({**BASE, "filters": conditions})) == [[3]]


def test_conditions_are_counted_with_segments_expanded(world) -> None:
    held = [["is_not", "event:page", [page]] for page in NOWHERE[:60]]
    saved = save_segment(world, json.dumps(held))
    assert saved.status_code == 200, saved.text
    segment = ["is", "segment", [saved.json()["id"]]]
    assert answered(world.v2({**BASE, "filters": [segment]})) == [[3]]
    others = [["is_not", "event:page", [page]] for page in NOWHERE[60:101]]
    error = refused(world.v2({**BASE, "filters": [segment, *others]}))
    assert "this one uses 101." in error


def test_a_query_too_large_for_the_event_store_is_refused(world) -> None:
    """1,000 case-insensitive patterns on a property, split by page with percentages: within
    the filter limits, but the SQL would be over what ClickHouse accepts (`max_query_size`)."""
    patterns = [f"^plan-{i}$" for i in range(MAX_FILTER_VALUES)]
    body = {
        **BASE,
        "metrics": ["visitors", "percentage"],
        "dimensions": ["event:page"],
        "filters": [["matches", "event:props:plan", patterns, {"case_sensitive": False}]],
    }
    error = refused(world.v2(body))
    assert error.startswith("Invalid filters: this query is too large to run (")
    assert "use fewer filter values or conditions" in error


def test_an_engine_refusal_of_a_statement_too_deep_is_a_400(world, monkeypatch) -> None:
    """Should a query within the limits still be too much for ClickHouse, the answer says so."""

    def too_deep(*args: Any, **kwargs: Any):
        raise EventStoreError("Code: 167. DB::Exception: AST is too deep. Maximum: 1000. (TOO_DEEP_AST)")

    monkeypatch.setattr(world.services.events, "query", too_deep)
    error = refused(world.v2({**BASE, "filters": [GERMANY]}))
    assert error == "Invalid filters: this query is too complex for the event store; use fewer filters."


# --- has_done and segments -------------------------------------------------------------------------


def test_has_done_refuses_a_segment_of_visit_filters(world) -> None:
    saved = save_segment(world, json.dumps([GERMANY]))
    assert saved.status_code == 200, saved.text
    filters = [["has_done", ["is", "segment", [saved.json()["id"]]]]]
    assert refused(world.v2({**BASE, "filters": filters})) == (
        "Invalid filters. Behavioral filters (has_done, has_not_done) can only be used with event "
        "dimension filters."
    )


# --- error messages ------------------------------------------------------------------------------------


def test_error_messages_quote_a_long_value_cut_short(world) -> None:
    error = refused(world.v2({**BASE, "date_range": [f"2026-03-{i}" for i in range(20_000)]}))
    assert error.startswith('Invalid date_range ["2026-03-0", "2026-03-1",')
    assert len(error) < 400


def test_error_messages_quote_a_deep_value_cut_short(world) -> None:
    headers = {"Authorization": f"Bearer {world.key}", "Content-Type": "application/json"}
    deep = "[" * 1000 + "]" * 1000
    for field in ("date_range", "date", "dimensions"):
        body = {key: value for key, value in {**BASE, "date_range": "day"}.items() if key != field}
        content = json.dumps(body)[:-1] + f', "{field}": {deep}}}'
        response = world.client.post("/api/v2/query", content=content.encode(), headers=headers)
        assert refused(response).startswith(f'Invalid {field} [[[[[[["…"]]]]]]]')
