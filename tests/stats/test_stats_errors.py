"""Every way a Stats API request can be refused: status, and Plausible's `{"error": ...}` message."""

from __future__ import annotations

import pytest

from tests.stats.shop import DAY, SHOP, shop_hits


@pytest.fixture(scope="module")
def world(world_factory):
    return world_factory([SHOP], shop_hits())


def v1_error(world, endpoint="aggregate", **params):
    params.setdefault("site_id", "shop.example")
    response = world.v1(endpoint, **params)
    assert 400 <= response.status_code < 500, response.text
    body = response.json()
    assert set(body) == {"error"}
    return response.status_code, body["error"]


def test_missing_key(world) -> None:
    response = world.client.get("/api/v1/stats/aggregate", params={"site_id": "shop.example"})
    assert response.status_code == 401
    assert response.json() == {
        "error": "Missing API key. Please use a valid Plausible API key as a Bearer Token."
    }


def test_unknown_key(world) -> None:
    status, message = v1_error(world, key="ff_not_a_key")
    assert status == 401
    assert message.startswith("Invalid API key")


def test_key_is_trimmed(world) -> None:
    response = world.client.get(
        "/api/v1/stats/aggregate",
        params={"site_id": "shop.example", "period": "day", "date": DAY},
        headers={"Authorization": f"Bearer   {world.key}  "},
    )
    assert response.json() == {"results": {"visitors": {"value": 3}}}


def test_key_only_reaches_its_users_sites(world) -> None:
    status, message = v1_error(world, key=world.other_key)
    assert status == 401
    assert "access to the site you've requested" in message
    status, _ = v1_error(world, site_id="stranger.example")
    assert status == 401


def test_missing_site_id(world) -> None:
    response = world.v1("aggregate")
    assert response.status_code == 400
    assert response.json()["error"].startswith("Missing site ID")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"period": "fortnight"}, "Error parsing `period` parameter: invalid period `fortnight`"),
        ({"period": "custom"}, "The `date` parameter is required when using a custom period"),
        ({"period": "custom", "date": "2026-01-01"}, "Invalid format for `date` parameter"),
        ({"period": "day", "date": "yesterday"}, "Error parsing `date` parameter"),
        ({"metrics": "visitors,sessions"}, "The metric `sessions` is not recognized"),
        ({"metrics": "visitors,visitors"}, "Metrics cannot be queried multiple times."),
        (
            {"metrics": "conversion_rate"},
            "Metric `conversion_rate` can only be queried in a goal breakdown or with a goal filter",
        ),
        (
            {"metrics": "time_on_page"},
            "Metric `time_on_page` can only be queried in a page breakdown or with a page filter.",
        ),
        (
            {"metrics": "views_per_visit", "filters": "event:page==/"},
            "Metric `views_per_visit` cannot be queried with a filter on `event:page`.",
        ),
        (
            {"metrics": "bounce_rate", "filters": "event:name==Signup"},
            "Session metric `bounce_rate` cannot be queried when using a filter on `event:name`.",
        ),
        ({"filters": "event:goal==Nope"}, "The goal `Nope` is not configured for this site."),
        (
            {"filters": "event:goal==Visit /nope"},
            "The pageview goal for the pathname `/nope` is not configured",
        ),
        ({"filters": "visit:planet==Mars"}, "Invalid filter property 'visit:planet'"),
        ({"filters": "visit:country"}, "Invalid filter 'visit:country'"),
        ({"compare": "last_week"}, "Error parsing `compare` parameter"),
        ({"filters": '[["is"'}, "Invalid filters: not valid JSON."),
        ({"metrics": ""}, "The `metrics` parameter holds an empty metric name: ``."),
        ({"metrics": "visitors,"}, "The `metrics` parameter holds an empty metric name: `visitors,`."),
        ({"metrics": "visitors,,pageviews"}, "The `metrics` parameter holds an empty metric name"),
        ({"filters": "event:page=="}, "Invalid filter 'event:page==': every value must be non-empty"),
        ({"filters": "event:page==/|"}, "Invalid filter 'event:page==/|': every value must be non-empty"),
        ({"filters": ";;"}, "Invalid filters ';;': a condition is empty"),
        ({"filters": "event:page==/;"}, "Invalid filters 'event:page==/;': a condition is empty"),
    ],
)
def test_v1_aggregate_errors(world, params, message) -> None:
    status, error = v1_error(world, **params)
    assert status == 400
    assert error.startswith(message) or message in error


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "The `property` parameter is required."),
        ({"property": "visit:planet"}, "Invalid property 'visit:planet'."),
        (
            {"property": "event:hostname"},
            "Property 'event:hostname' is currently not supported for breakdowns.",
        ),
        ({"property": "event:page", "limit": "0"}, "Please provide limit as a number between 1 and 1000."),
        ({"property": "event:page", "limit": "1001"}, "Please provide limit as a number between 1 and 1000."),
        ({"property": "event:page", "page": "0"}, "Please provide page as a positive number."),
        ({"property": "event:page", "page": "two"}, "Please provide page as a positive number."),
        (
            {"property": "event:page", "page": "99999999999999999999"},
            "Please provide page as a positive number, at most 1000000000.",
        ),
        (
            {"property": "event:page", "limit": "99999999999999999999"},
            "Please provide limit as a number between 1 and 1000.",
        ),
        (
            {"property": "event:page", "limit": "9" * 5000},
            "Please provide limit as a number between 1 and 1000.",
        ),
        (
            {"property": "event:name", "metrics": "visit_duration"},
            "Session metric `visit_duration` cannot be queried for breakdown by `event:name`.",
        ),
        (
            {"property": "visit:source", "metrics": "views_per_visit"},
            "Metric `views_per_visit` is not supported in breakdown queries.",
        ),
        (
            {"property": "visit:source", "metrics": "time_on_page"},
            "Metric `time_on_page` is not supported in breakdown queries (except `event:page` breakdown)",
        ),
    ],
)
def test_v1_breakdown_errors(world, params, message) -> None:
    status, error = v1_error(world, "breakdown", **params)
    assert status == 400
    assert error.startswith(message)


def test_v1_timeseries_interval_error(world) -> None:
    status, error = v1_error(world, "timeseries", interval="fortnight")
    assert status == 400
    assert error.startswith("Error parsing `interval` parameter: invalid interval `fortnight`.")


def v2_error(world, body, key=None):
    response = world.v2(body, key=key)
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"error"}
    return response.json()["error"]


BASE = {"site_id": "shop.example", "metrics": ["visitors"], "date_range": [DAY, DAY]}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"site_id": None},
            "Missing site ID. Please provide the required site_id parameter with your request.",
        ),
        ({"metrics": None}, "#: Required property metrics was not present."),
        ({"date_range": None}, "#: Required property date_range was not present."),
        ({"metrics": []}, "#/metrics: Expected a non-empty list of metrics."),
        ({"metrics": ["visitors", "sessions"]}, 'Unknown metric "sessions".'),
        ({"metrics": ["visitors", "visitors"]}, "Metrics cannot be queried multiple times."),
        ({"date_range": "fortnight"}, 'Invalid date_range "fortnight".'),
        ({"date_range": ["2026-03-10", "tomorrow"]}, 'Invalid date_range ["2026-03-10", "tomorrow"].'),
        ({"date_range": ["2026-03-10", "2026-03-01"]}, "the start is after the end"),
        ({"date": "soon"}, 'Invalid date "soon".'),
        ({"dimensions": ["visit:planet"]}, 'Invalid dimensions ["visit:planet"].'),
        (
            {"dimensions": ["time:day", "time:hour"]},
            "Invalid dimensions: only one time dimension can be queried.",
        ),
        (
            {"filters": [["equals", "event:page", ["/"]]]},
            'Unknown operator for filter ["equals", "event:page", ["/"]].',
        ),
        ({"filters": [["is", "visit:planet", ["Mars"]]]}, "Invalid filter"),
        ({"filters": [["is", "event:page", "/"]]}, "clauses must be a list of strings"),
        (
            {"filters": [["is", "visit:country", ["Germany"]]]},
            "visit:country needs to be a valid 2-letter country code",
        ),
        (
            {"filters": [["is", "event:page", ["/"], {"shouting": True}]]},
            "modifiers may only hold `case_sensitive`",
        ),
        ({"filters": [["and", []]]}, "takes a non-empty list of filters"),
        (
            {"filters": [["not", ["is", "event:goal", ["Signup"]]]]},
            "Dimension `event:goal` can only be filtered at the top level.",
        ),
        ({"filters": [["is", "event:goal", ["Nope"]]]}, "The goal `Nope` is not configured for this site."),
        (
            {"filters": [["has_done", ["is", "visit:browser", ["Chrome"]]]]},
            "Invalid filters. Behavioral filters (has_done, has_not_done) can only be used with event "
            "dimension filters.",
        ),
        (
            {
                "filters": [
                    ["has_not_done", ["or", [["is", "event:name", ["Signup"]], ["is", "visit:os", ["iOS"]]]]]
                ]
            },
            "Behavioral filters (has_done, has_not_done) can only be used with event dimension filters.",
        ),
        (
            {"filters": [["has_done", ["has_done", ["is", "event:name", ["Signup"]]]]]},
            "Invalid filters. Behavioral filters (has_done, has_not_done) cannot be nested.",
        ),
        (
            {"filters": [["has_done", ["not", ["has_not_done", ["is", "event:name", ["Signup"]]]]]]},
            "Invalid filters. Behavioral filters (has_done, has_not_done) cannot be nested.",
        ),
        ({"filters": [["matches", "event:page", ["(unclosed"]]]}, "Invalid regular expression '(unclosed'"),
        ({"filters": "event:page==/"}, "Invalid filters passed."),
        (
            {"order_by": [["pageviews", "desc"]]},
            "Invalid order_by entry '['pageviews', 'desc']'. Entry is not a queried metric or dimension.",
        ),
        ({"order_by": [["visitors", "sideways"]]}, 'Invalid order_by entry ["visitors", "sideways"].'),
        ({"include": {"time_labels": True}}, "Invalid include.time_labels: requires a time dimension."),
        ({"include": {"comparisons": {"mode": "last_week"}}}, "Invalid include.comparisons"),
        ({"include": {"comparisons": {"mode": "custom"}}}, "custom mode requires a date_range"),
        ({"include": {"total_rows": "yes"}}, "Invalid include.total_rows: expected true or false."),
        ({"pagination": {"limit": 0}}, "Invalid pagination.limit: must be between 1 and 100000."),
        ({"pagination": {"offset": -1}}, "Invalid pagination.offset: must not be negative"),
        ({"pagination": {"limit": "ten"}}, "limit and offset must be integers"),
        ({"colour": "blue"}, "#/colour: Unknown property is not allowed."),
        (
            {"metrics": ["conversion_rate"]},
            "Metric `conversion_rate` can only be queried with event:goal filters or dimensions.",
        ),
        (
            {"metrics": ["scroll_depth"]},
            "Metric `scroll_depth` can only be queried with event:page filters or dimensions.",
        ),
        ({"metrics": ["percentage"]}, "Metric `percentage` can only be queried with a dimension."),
        (
            {"metrics": ["views_per_visit"], "dimensions": ["visit:source"]},
            "Metric `views_per_visit` cannot be queried with `dimensions`.",
        ),
        (
            {"metrics": ["bounce_rate"], "dimensions": ["event:name"]},
            "Session metric(s) `bounce_rate` cannot be queried along with event dimensions.",
        ),
        (
            {"metrics": ["visitors"], "dimensions": ["visit:entry_page", "event:name"]},
            "Invalid dimensions: entry and exit pages cannot be combined with event dimensions.",
        ),
    ],
)
def test_v2_errors(world, change, message) -> None:
    body = {**BASE, **change}
    body = {k: v for k, v in body.items() if v is not None}
    assert message in v2_error(world, body)


def test_v2_body_must_be_a_json_object(world) -> None:
    headers = {"Authorization": f"Bearer {world.key}", "Content-Type": "application/json"}
    response = world.client.post("/api/v2/query", content=b"{not json", headers=headers)
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid request body: not valid JSON."}
    response = world.client.post("/api/v2/query", content=b"[1]", headers=headers)
    assert response.json() == {"error": "Invalid request body: expected a JSON object."}


def test_v2_site_access(world) -> None:
    response = world.v2(BASE, key=world.other_key)
    assert response.status_code == 401
    response = world.v2({**BASE, "site_id": 42})
    assert response.status_code == 400


def test_dates_outside_the_engines_range(world) -> None:
    body = {**BASE, "date_range": ["0001-01-01", "9999-12-31"]}
    assert "dates must lie between" in v2_error(world, body)
    status, error = v1_error(world, period="custom", date="1900-01-01,1900-01-02")
    assert (status, "dates must lie between" in error) == (400, True)


def test_a_regex_re2_cannot_compile_is_a_400(world) -> None:
    body = {**BASE, "filters": [["matches", "event:page", ["^/(?!blog)"]]]}
    assert "Invalid regular expression" in v2_error(world, body)


def test_too_many_hourly_buckets(world) -> None:
    body = {**BASE, "date_range": ["1990-01-01", "2030-01-01"], "dimensions": ["time:hour"]}
    assert "too many hourly buckets" in v2_error(world, body)
