"""The OpenAPI 3.1 description of footfall's HTTP API: the Stats API (v1, v2), the Sites API
(with saved segments), and the routes that need no key (health, metrics, tracker script, docs).

Served at /api/docs/openapi.json; the tests check that every route the app serves is in it,
and schemathesis fuzzes the keyed API against it.
"""

from __future__ import annotations

from typing import Any

from footfall.accounts.api_access import NOT_A_SITES_KEY, too_many_requests
from footfall.accounts.apikeys import SITES_SCOPE, STATS_SCOPE
from footfall.stats.query import LEAF_OPERATORS, METRICS, PERIODS, TIME_DIMENSIONS, VISIT_DIMENSIONS

_ERROR_BODY = {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}
_ERROR = {
    "description": "The request cannot be answered; `error` says why",
    "content": {"application/json": {"schema": _ERROR_BODY}},
}


def _error(description: str, example: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": _ERROR_BODY, "example": {"error": example}}},
    }


_RATE_LIMITED = {
    "description": (
        "The key has made its hourly number of requests (`hourly_request_limit`, 600 by default) "
        "in this clock hour; `Retry-After` is the number of seconds until the next hour starts"
    ),
    "headers": {
        "Retry-After": {
            "description": "Seconds until the key may ask again (the rest of the clock hour)",
            "required": True,
            "schema": {"type": "integer", "minimum": 1, "maximum": 3600},
        }
    },
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["error"],
                "properties": {
                    "error": {
                        "type": "string",
                        "pattern": (
                            r"^Too many API requests\. Your API key is limited to \d+ requests per hour\.$"
                        ),
                    }
                },
            },
            "example": {"error": too_many_requests(600, 1).message},
        }
    },
}
_ERRORS = {"400": _ERROR, "401": _ERROR, "403": _ERROR, "404": _ERROR, "429": _RATE_LIMITED}

# The Sites API's writes need a Sites API key; a Stats API key gets this 401.
_PROVISION_SECURITY = [{"bearer": [SITES_SCOPE]}]
_NOT_A_SITES_KEY = _error(
    f"No key, an unknown key, or a Stats API key (`{STATS_SCOPE}`): this operation needs a "
    f"Sites API key (`{SITES_SCOPE}`)",
    NOT_A_SITES_KEY,
)

_BEARER_DESCRIPTION = (
    "An API key, sent as `Authorization: Bearer <key>` (`footfall apikey create`). A key acts "
    "for its user and reaches the sites that user may see. Its scope says what it may do, as in "
    f"Plausible:\n\n- `{STATS_SCOPE}` (a Stats API key, `--scope stats`): the Stats API, and on "
    "the Sites API listing sites, goals and funnels, showing a site and reading segments.\n"
    f"- `{SITES_SCOPE}` (a Sites API key, the default): all of that, and the Sites API's writes "
    "(creating, changing and deleting sites, goals, funnels, shared links and segments); those operations "
    f"list `{SITES_SCOPE}` in their `security`, and answer any other key `401`.\n\n"
    "Each key may make `hourly_request_limit` requests a clock hour (600 by default); beyond "
    "that every keyed operation answers `429` with `Retry-After`."
)


def _provisioning(operation: dict[str, Any]) -> dict[str, Any]:
    """A Sites API write: needs a Sites API key, and says so."""
    note = f"Needs a Sites API key (`{SITES_SCOPE}`); a Stats API key is answered `401`."
    return {
        **operation,
        "description": f"{operation['description']} {note}" if "description" in operation else note,
        "security": _PROVISION_SECURITY,
        "responses": {**operation["responses"], "401": _NOT_A_SITES_KEY},
    }


_PROPERTIES = sorted(VISIT_DIMENSIONS | {"event:name", "event:page", "event:goal", "event:props:author"})


def _query(name: str, description: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_V1_COMMON = [
    _query("site_id", "Domain of the site, as registered", {"type": "string"}, required=True),
    _query(
        "period",
        "Time period",
        {
            "type": "string",
            "enum": [
                "day",
                "7d",
                "28d",
                "30d",
                "91d",
                "month",
                "6mo",
                "12mo",
                "year",
                "all",
                "custom",
                "realtime",
            ],
        },
    ),
    _query("date", "A date (YYYY-MM-DD), or two joined by a comma for period=custom", {"type": "string"}),
    _query("metrics", "Comma-separated metrics", {"type": "string", "example": "visitors,pageviews"}),
    _query("filters", "Filters, e.g. event:page==/blog/**;visit:country==DE|FR", {"type": "string"}),
    _query(
        "with_imported",
        "true: add the site's imported statistics where the query allows",
        {"type": "string", "enum": ["true", "false"]},
    ),
]

_FILTER_SCHEMA: dict[str, Any] = {
    "type": "array",
    "description": (
        "[operator, dimension, clauses, modifiers?], or [and|or, [filters]], "
        'or [not|has_done|has_not_done, filter], or ["is", "segment", [segment ids]]'
    ),
    "items": {},
}

_V2_BODY = {
    "type": "object",
    "required": ["site_id", "metrics", "date_range"],
    "additionalProperties": False,
    "properties": {
        "site_id": {"type": "string"},
        "date_range": {
            "oneOf": [
                {"type": "string", "enum": list(PERIODS)},
                {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2},
            ]
        },
        "date": {"type": "string", "format": "date"},
        "metrics": {"type": "array", "items": {"type": "string", "enum": list(METRICS)}, "minItems": 1},
        "dimensions": {
            "type": "array",
            "items": {
                "type": "string",
                "description": (
                    "event:* and visit:* properties (visit:country_name, visit:region_name and "
                    "visit:city_name give English names), event:props:<name>, or a time bucket; "
                    "time:minute is for short ranges such as realtime"
                ),
                "examples": [
                    *TIME_DIMENSIONS,
                    "event:page",
                    "visit:source",
                    "visit:country_name",
                    "visit:region_name",
                    "visit:city_name",
                ],
            },
        },
        "filters": {"type": "array", "items": _FILTER_SCHEMA},
        "order_by": {"type": "array", "items": {"type": "array", "items": {"type": "string"}}},
        "include": {
            "type": "object",
            "properties": {
                "time_labels": {"type": "boolean"},
                "total_rows": {"type": "boolean"},
                "imports": {"type": "boolean"},
                "comparisons": {
                    "type": "object",
                    "properties": {
                        "mode": {"type": "string", "enum": ["previous_period", "year_over_year", "custom"]},
                        "date_range": {"type": "array", "items": {"type": "string"}},
                        "match_day_of_week": {
                            "type": "boolean",
                            "description": "Move the comparison to start on the same weekday as the period",
                        },
                    },
                },
            },
        },
        "pagination": {
            "type": "object",
            "properties": {"limit": {"type": "integer"}, "offset": {"type": "integer"}},
        },
    },
}

_SITE = {"type": "object", "properties": {"domain": {"type": "string"}, "timezone": {"type": "string"}}}
# footfall extension: a site's own retention in days (null: the instance's DATA_RETENTION_DAYS).
_RETENTION_DAYS = {"type": ["integer", "null"], "minimum": 1}
_SITE_DETAILS = {
    "type": "object",
    "properties": {
        "domain": {"type": "string"},
        "timezone": {"type": "string"},
        "retention_days": _RETENTION_DAYS,
    },
}
_GOAL = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "display_name": {"type": "string"},
        "goal_type": {"type": "string", "enum": ["event", "page"]},
        "event_name": {"type": ["string", "null"]},
        "page_path": {"type": ["string", "null"]},
        "currency": {"type": ["string", "null"]},
    },
}
_SHIELD_KIND = {
    "name": "kind",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "enum": ["ip", "country", "page", "hostname"]},
}
_SHIELD_RULE = {
    "type": "object",
    "required": ["id", "kind", "value"],
    "properties": {
        "id": {"type": "integer"},
        "kind": {"type": "string", "enum": ["ip", "country", "page", "hostname"]},
        "value": {"type": "string"},
        "description": {"type": "string"},
        "added_by": {"type": "string"},
        "inserted_at": {"type": "string"},
    },
}
_FUNNEL = {
    "type": "object",
    "required": ["id", "name", "steps"],
    "properties": {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "steps": {
            "type": "array",
            "description": "The funnel's goals, in step order",
            "items": _GOAL,
            "minItems": 2,
            "maxItems": 8,
        },
    },
}
_SITE_ID_QUERY = _query("site_id", "Domain of the site", {"type": "string"}, True)

# Lists are paged as Plausible pages them: opaque cursors from the previous answer's `meta`.
_PAGING = [
    _query(
        "limit",
        "Page size, 1-100 (default 100)",
        {"type": "integer", "minimum": 1, "maximum": 100, "default": 100},
    ),
    _query(
        "after",
        "Opaque cursor: `meta.after` of the previous answer, for the page after it. Not with `before`.",
        {"type": "string"},
    ),
    _query(
        "before",
        "Opaque cursor: `meta.before` of the previous answer, for the page before it. Not with `after`.",
        {"type": "string"},
    ),
]
_PAGE_META = {
    "type": "object",
    "description": "Cursors for the neighbouring pages (`null`: there is none that way) and the page size",
    "required": ["after", "before", "limit"],
    "properties": {
        "after": {"type": ["string", "null"]},
        "before": {"type": ["string", "null"]},
        "limit": {"type": "integer", "minimum": 1, "maximum": 100},
    },
}
_BAD_PAGE = _error(
    "A malformed cursor (or one from another list), both `after` and `before`, `limit` outside "
    "1-100, or (goals, funnels) a missing `site_id`",
    "Pass either `after` or `before`, not both",
)


def _page_of(name: str, item: dict[str, Any]) -> dict[str, Any]:
    return _json(
        {
            "type": "object",
            "required": [name, "meta"],
            "properties": {name: {"type": "array", "items": item}, "meta": _PAGE_META},
        }
    )


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


_SEGMENT_DATA = {
    "type": "object",
    "required": ["filters"],
    "properties": {
        "filters": {"type": "array", "items": _FILTER_SCHEMA, "minItems": 1},
        "labels": {"type": "object"},
    },
    "additionalProperties": False,
}
_SEGMENT_ID = {"name": "segment_id", "in": "path", "required": True, "schema": {"type": "integer"}}


def _segment_body(required: list[str]) -> dict[str, Any]:
    return _body(
        {
            "type": "object",
            "required": required,
            "properties": {
                "site_id": {"type": "string"},
                "name": {"type": "string", "maxLength": 255},
                "type": {"type": "string", "enum": ["personal", "site"]},
                "segment_data": _SEGMENT_DATA,
            },
        }
    )


_SEGMENT_PATHS: dict[str, Any] = {
    "/api/v1/sites/segments": {
        "get": {
            "summary": "Saved segments of a site: the site's and the key's user's personal ones",
            "parameters": [_SITE_ID_QUERY],
            "responses": {"200": _json({"type": "object"}), **_ERRORS},
        },
        "post": _provisioning(
            {
                "summary": "Save a segment (site segments: owners and admins only)",
                "requestBody": _segment_body(["site_id", "name", "type", "segment_data"]),
                "responses": {"200": _json({"type": "object"}), **_ERRORS},
            }
        ),
    },
    "/api/v1/sites/segments/{segment_id}": {
        "get": {
            "summary": "One saved segment",
            "parameters": [_SEGMENT_ID, _SITE_ID_QUERY],
            "responses": {"200": _json({"type": "object"}), **_ERRORS},
        },
        "patch": _provisioning(
            {
                "summary": "Change a segment's name, type or filters",
                "parameters": [_SEGMENT_ID],
                "requestBody": _segment_body(["site_id"]),
                "responses": {"200": _json({"type": "object"}), **_ERRORS},
            }
        ),
        "delete": _provisioning(
            {
                "summary": "Delete a segment",
                "parameters": [_SEGMENT_ID, _SITE_ID_QUERY],
                "responses": {"200": _json({"type": "object"}), **_ERRORS},
            }
        ),
    },
}

_STATS_PATHS: dict[str, Any] = {
    "/api/v1/stats/realtime/visitors": {
        "get": {
            "summary": "Visitors in the last 5 minutes",
            "parameters": [_SITE_ID_QUERY],
            "responses": {"200": _json({"type": "integer"}), **_ERRORS},
        }
    },
    "/api/v1/stats/aggregate": {
        "get": {
            "summary": "Totals of the metrics over the period",
            "parameters": [
                *_V1_COMMON,
                _query(
                    "compare",
                    "Compare with another period",
                    {"type": "string", "enum": ["previous_period", "year_over_year"]},
                ),
            ],
            "responses": {
                "200": _json({"type": "object", "properties": {"results": {"type": "object"}}}),
                **_ERRORS,
            },
        }
    },
    "/api/v1/stats/timeseries": {
        "get": {
            "summary": "Metrics per time bucket, every bucket present",
            "parameters": [
                *_V1_COMMON,
                _query(
                    "interval",
                    "Bucket size",
                    {"type": "string", "enum": ["hour", "date", "day", "week", "month"]},
                ),
            ],
            "responses": {
                "200": _json({"type": "object", "properties": {"results": {"type": "array"}}}),
                **_ERRORS,
            },
        }
    },
    "/api/v1/stats/breakdown": {
        "get": {
            "summary": "Metrics split by one property",
            "parameters": [
                *_V1_COMMON,
                _query("property", "Property to split by", {"type": "string", "enum": _PROPERTIES}, True),
                _query("limit", "Rows per page (1-1000)", {"type": "integer"}),
                _query("page", "Page number, from 1", {"type": "integer"}),
            ],
            "responses": {
                "200": _json({"type": "object", "properties": {"results": {"type": "array"}}}),
                **_ERRORS,
            },
        }
    },
    "/api/v1/stats/funnel": {
        "get": {
            "summary": "Visitors at each step of a saved funnel (footfall extension)",
            "parameters": [
                *[p for p in _V1_COMMON if p["name"] != "metrics"],
                _query("funnel_id", "Id of the site's funnel", {"type": "integer"}, True),
            ],
            "responses": {"200": _json({"type": "object"}), **_ERRORS},
        }
    },
    "/api/v2/query": {
        "post": {
            "summary": "Stats API v2 query",
            "requestBody": _body(_V2_BODY),
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "properties": {
                            "results": {"type": "array"},
                            "meta": {"type": "object"},
                            "query": {"type": "object"},
                        },
                    }
                ),
                **_ERRORS,
            },
        }
    },
}

_SITE_FIELDS = {"domain": {"type": "string"}, "timezone": {"type": "string"}}

_SITES_PATHS: dict[str, Any] = {
    "/api/v1/sites": {
        "get": {
            "summary": "Sites the key's user may see, in domain order, a page at a time",
            "parameters": _PAGING,
            "responses": {"200": _page_of("sites", _SITE), **_ERRORS, "400": _BAD_PAGE},
        },
        "post": _provisioning(
            {
                "summary": "Create a site owned by the key's user",
                "requestBody": _body({"type": "object", "required": ["domain"], "properties": _SITE_FIELDS}),
                "responses": {"200": _json(_SITE), **_ERRORS},
            }
        ),
    },
    "/api/v1/sites/goals": {
        "get": {
            "summary": "Goals of a site, in creation order, a page at a time",
            "parameters": [_SITE_ID_QUERY, *_PAGING],
            "responses": {"200": _page_of("goals", _GOAL), **_ERRORS, "400": _BAD_PAGE},
        },
        "put": _provisioning(
            {
                "summary": "Find or create a goal; with `display_name`, named so (renamed if it exists)",
                "requestBody": _body(
                    {
                        "type": "object",
                        "required": ["site_id", "goal_type"],
                        "properties": {
                            "site_id": {"type": "string"},
                            "goal_type": {"type": "string", "enum": ["event", "page"]},
                            "event_name": {"type": "string"},
                            "page_path": {"type": "string"},
                            "currency": {"type": "string"},
                            "display_name": {"type": "string", "maxLength": 120},
                        },
                    }
                ),
                "responses": {"200": _json(_GOAL), **_ERRORS},
            }
        ),
    },
    "/api/v1/sites/goals/{goal_id}": {
        "delete": _provisioning(
            {
                "summary": "Delete a goal",
                "parameters": [
                    {"name": "goal_id", "in": "path", "required": True, "schema": {"type": "integer"}},
                    _SITE_ID_QUERY,
                ],
                "responses": {"200": _json({"type": "object"}), **_ERRORS},
            }
        )
    },
    "/api/v1/sites/funnels": {
        "get": {
            "summary": "Funnels of a site, in creation order, a page at a time (footfall's route)",
            "parameters": [_SITE_ID_QUERY, *_PAGING],
            "responses": {"200": _page_of("funnels", _FUNNEL), **_ERRORS, "400": _BAD_PAGE},
        },
        "put": _provisioning(
            {
                "summary": "Find or create a funnel of 2-8 of the site's goals (owners and admins)",
                "description": (
                    "`steps` lists goal ids (from `GET /api/v1/sites/goals`) in the funnel's order, "
                    "each goal once. The same `name` with the same steps answers the existing "
                    "funnel; with other steps it is a `400`, as are fewer than 2 or more than 8 "
                    "steps and a goal the site does not have. `GET /api/v1/stats/funnel` counts it."
                ),
                "requestBody": _body(
                    {
                        "type": "object",
                        "required": ["site_id", "name", "steps"],
                        "properties": {
                            "site_id": {"type": "string"},
                            "name": {"type": "string", "maxLength": 200},
                            "steps": {
                                "type": "array",
                                "items": {"type": "integer", "minimum": 1},
                                "minItems": 2,
                                "maxItems": 8,
                                "uniqueItems": True,
                            },
                        },
                    }
                ),
                "responses": {
                    "200": _json(_FUNNEL),
                    **_ERRORS,
                    "400": _error(
                        "A missing or over-long name, not 2-8 steps, a step that is not one of the "
                        "site's goals or is listed twice, or the name taken by a funnel of other steps",
                        "steps: a funnel has 2 to 8 steps, not 1",
                    ),
                },
            }
        ),
    },
    "/api/v1/sites/funnels/{funnel_id}": {
        "delete": _provisioning(
            {
                "summary": "Delete a funnel; its goals stay (owners and admins)",
                "parameters": [
                    {"name": "funnel_id", "in": "path", "required": True, "schema": {"type": "integer"}},
                    _SITE_ID_QUERY,
                ],
                "responses": {"200": _json({"type": "object"}), **_ERRORS},
            }
        )
    },
    "/api/v1/sites/shared-links": {
        "put": _provisioning(
            {
                "summary": "Find or create a shared link",
                "requestBody": _body(
                    {
                        "type": "object",
                        "required": ["site_id", "name"],
                        "properties": {"site_id": {"type": "string"}, "name": {"type": "string"}},
                    }
                ),
                "responses": {"200": _json({"type": "object"}), **_ERRORS},
            }
        )
    },
    "/api/v1/sites/shields/{kind}": {
        "parameters": [_SHIELD_KIND],
        "get": {
            "summary": "A site's shield rules of one kind, oldest first (footfall's; owners and admins)",
            "parameters": [_SITE_ID_QUERY],
            "responses": {
                "200": _json(
                    {
                        "type": "object",
                        "required": ["rules", "limit"],
                        "properties": {
                            "rules": {"type": "array", "items": _SHIELD_RULE},
                            "limit": {
                                "type": "integer",
                                "description": "How many rules of the kind a site may have",
                            },
                        },
                    }
                ),
                **_ERRORS,
            },
        },
        "put": _provisioning(
            {
                "summary": "Find or create a shield rule (footfall's route; owners and admins)",
                "description": (
                    "`value` is normalised as the settings page and `footfall shield add` do; at most 30 "
                    "ip, country and page rules and 10 hostname rules a site."
                ),
                "requestBody": _body(
                    {
                        "type": "object",
                        "required": ["site_id", "value"],
                        "properties": {
                            "site_id": {"type": "string"},
                            "value": {"type": "string"},
                            "description": {"type": "string", "maxLength": 200},
                        },
                    }
                ),
                "responses": {
                    "200": _json(_SHIELD_RULE),
                    **_ERRORS,
                    "400": _error(
                        "A value that is not an address or CIDR range, country code, page path or "
                        "hostname, an over-long description, or the kind's limit reached",
                        "'300.1.1.1' is not an IP address or CIDR range",
                    ),
                },
            }
        ),
    },
    "/api/v1/sites/shields/{kind}/{rule_id}": {
        "delete": _provisioning(
            {
                "summary": "Delete a shield rule (footfall's route; owners and admins)",
                "parameters": [
                    _SHIELD_KIND,
                    {"name": "rule_id", "in": "path", "required": True, "schema": {"type": "integer"}},
                    _SITE_ID_QUERY,
                ],
                "responses": {"200": _json({"type": "object"}), **_ERRORS},
            }
        )
    },
    "/api/v1/sites/{site_id}": {
        "parameters": [{"name": "site_id", "in": "path", "required": True, "schema": {"type": "string"}}],
        "get": {"summary": "One site", "responses": {"200": _json(_SITE_DETAILS), **_ERRORS}},
        "put": _provisioning(
            {
                "summary": "Change a site's domain, time zone or retention (owners and admins)",
                "requestBody": _body(
                    {"type": "object", "properties": {**_SITE_FIELDS, "retention_days": _RETENTION_DAYS}}
                ),
                "responses": {"200": _json(_SITE_DETAILS), **_ERRORS},
            }
        ),
        "delete": _provisioning(
            {
                "summary": "Delete a site and its settings (owners)",
                "responses": {"200": _json({"type": "object"}), **_ERRORS},
            }
        ),
    },
}

# Routes that need no API key: no bearer, no hourly limit.
_OPEN = {"security": [], "tags": ["service"]}
_SERVICE_PATHS: dict[str, Any] = {
    "/api/docs": {
        "get": {
            **_OPEN,
            "summary": "A page pointing to this description",
            "responses": {
                "200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}
            },
        }
    },
    "/api/docs/openapi.json": {
        "get": {**_OPEN, "summary": "This description", "responses": {"200": _json({"type": "object"})}}
    },
    "/api/health": {
        "get": {
            **_OPEN,
            "summary": "Whether the metadata and event stores answer",
            "responses": {
                "200": _json({"type": "object"}, "Both stores answer"),
                "503": _json({"type": "object"}, "A store does not answer; `metadata` / `events` say which"),
            },
        }
    },
    "/api/health/ready": {
        "get": {
            **_OPEN,
            "summary": "Readiness: whether this process would serve traffic now (for load balancers)",
            "responses": {
                "200": _json({"type": "object"}, "Ready: every check is ok"),
                "503": _json(
                    {"type": "object"},
                    "Not ready: a store does not answer, the write-ahead log is full or a disk is critical; "
                    "`checks` says which",
                ),
            },
        }
    },
    "/metrics": {
        "get": {
            **_OPEN,
            "summary": "Prometheus counters (METRICS_TOKEN bearer, or an address in TRUSTED_PROXIES)",
            "responses": {
                "200": {
                    "description": "Prometheus text format",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                },
                "403": _ERROR,
            },
        }
    },
    "/js/{name}": {
        "get": {
            **_OPEN,
            "summary": "The tracker script in any of its variants (script.js, script.hash.js, ...)",
            "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {
                "200": {
                    "description": "JavaScript",
                    "content": {"application/javascript": {"schema": {"type": "string"}}},
                },
                "304": {"description": "Not modified (If-None-Match)"},
                "404": _ERROR,
                "503": _ERROR,
            },
        }
    },
}


def openapi_document(base_url: str = "") -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "footfall Stats and Sites API",
            "version": "1.0",
            "description": (
                "Plausible-compatible Stats API v1 and v2 and Sites API. Filter operators: "
                + ", ".join(LEAF_OPERATORS)
                + "; nest with and, or, not; has_done, has_not_done. Every keyed operation may "
                "answer 429 once its key has made its hourly number of requests."
            ),
        },
        "servers": [{"url": base_url or "/"}],
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": _BEARER_DESCRIPTION}
            }
        },
        "security": [{"bearer": []}],
        "paths": {**_STATS_PATHS, **_SEGMENT_PATHS, **_SITES_PATHS, **_SERVICE_PATHS},
    }
