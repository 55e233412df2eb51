"""The OpenAPI 3.1 description of the Stats API (v1, v2) and the Sites API.

Served at /api/docs/openapi.json; schemathesis fuzzes the API against it in the tests.
"""

from __future__ import annotations

from typing import Any

from footfall.stats.query import LEAF_OPERATORS, METRICS, PERIODS, TIME_DIMENSIONS, VISIT_DIMENSIONS

_ERROR = {
    "description": "The request cannot be answered; `error` says why",
    "content": {
        "application/json": {
            "schema": {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]}
        }
    },
}
_ERRORS = {"400": _ERROR, "401": _ERROR, "403": _ERROR, "404": _ERROR, "429": _ERROR}

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
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": required,
                    "properties": {
                        "site_id": {"type": "string"},
                        "name": {"type": "string", "maxLength": 255},
                        "type": {"type": "string", "enum": ["personal", "site"]},
                        "segment_data": _SEGMENT_DATA,
                    },
                }
            }
        },
    }


_SEGMENT_PATHS: dict[str, Any] = {
    "/api/v1/sites/segments": {
        "get": {
            "summary": "Saved segments of a site: the site's and the key's user's personal ones",
            "parameters": [_query("site_id", "Domain of the site", {"type": "string"}, True)],
            "responses": {"200": _json({"type": "object"}), **_ERRORS},
        },
        "post": {
            "summary": "Save a segment (site segments: owners and admins only)",
            "requestBody": _segment_body(["site_id", "name", "type", "segment_data"]),
            "responses": {"200": _json({"type": "object"}), **_ERRORS},
        },
    },
    "/api/v1/sites/segments/{segment_id}": {
        "get": {
            "summary": "One saved segment",
            "parameters": [_SEGMENT_ID, _query("site_id", "Domain of the site", {"type": "string"}, True)],
            "responses": {"200": _json({"type": "object"}), **_ERRORS},
        },
        "patch": {
            "summary": "Change a segment's name, type or filters",
            "parameters": [_SEGMENT_ID],
            "requestBody": _segment_body(["site_id"]),
            "responses": {"200": _json({"type": "object"}), **_ERRORS},
        },
        "delete": {
            "summary": "Delete a segment",
            "parameters": [_SEGMENT_ID, _query("site_id", "Domain of the site", {"type": "string"}, True)],
            "responses": {"200": _json({"type": "object"}), **_ERRORS},
        },
    },
}


def openapi_document(base_url: str = "") -> dict[str, Any]:
    secured = [{"bearer": []}]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "footfall Stats and Sites API",
            "version": "1.0",
            "description": (
                "Plausible-compatible Stats API v1 and v2 and Sites API. Filter operators: "
                + ", ".join(LEAF_OPERATORS)
                + "; nest with and, or, not; has_done, has_not_done."
            ),
        },
        "servers": [{"url": base_url or "/"}],
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": secured,
        "paths": {
            **_SEGMENT_PATHS,
            "/api/v1/stats/realtime/visitors": {
                "get": {
                    "summary": "Visitors in the last 5 minutes",
                    "parameters": [_query("site_id", "Domain of the site", {"type": "string"}, True)],
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
                        _query(
                            "property", "Property to split by", {"type": "string", "enum": _PROPERTIES}, True
                        ),
                        _query("limit", "Rows per page (1-1000)", {"type": "integer"}),
                        _query("page", "Page number, from 1", {"type": "integer"}),
                    ],
                    "responses": {
                        "200": _json({"type": "object", "properties": {"results": {"type": "array"}}}),
                        **_ERRORS,
                    },
                }
            },
            "/api/v2/query": {
                "post": {
                    "summary": "Stats API v2 query",
                    "requestBody": {"required": True, "content": {"application/json": {"schema": _V2_BODY}}},
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
            "/api/v1/sites": {
                "get": {
                    "summary": "Sites the key's user may see",
                    "parameters": [
                        _query("limit", "Page size (1-100)", {"type": "integer"}),
                        _query("after", "Domain to continue after", {"type": "string"}),
                    ],
                    "responses": {"200": _json({"type": "object"}), **_ERRORS},
                },
                "post": {
                    "summary": "Create a site owned by the key's user",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["domain"],
                                    "properties": {
                                        "domain": {"type": "string"},
                                        "timezone": {"type": "string"},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {"200": _json(_SITE), **_ERRORS},
                },
            },
            "/api/v1/sites/goals": {
                "get": {
                    "summary": "Goals of a site",
                    "parameters": [_query("site_id", "Domain of the site", {"type": "string"}, True)],
                    "responses": {"200": _json({"type": "object"}), **_ERRORS},
                },
                "put": {
                    "summary": "Find or create a goal",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["site_id", "goal_type"],
                                    "properties": {
                                        "site_id": {"type": "string"},
                                        "goal_type": {"type": "string", "enum": ["event", "page"]},
                                        "event_name": {"type": "string"},
                                        "page_path": {"type": "string"},
                                        "currency": {"type": "string"},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {"200": _json({"type": "object"}), **_ERRORS},
                },
            },
            "/api/v1/sites/goals/{goal_id}": {
                "delete": {
                    "summary": "Delete a goal",
                    "parameters": [
                        {"name": "goal_id", "in": "path", "required": True, "schema": {"type": "integer"}},
                        _query("site_id", "Domain of the site", {"type": "string"}, True),
                    ],
                    "responses": {"200": _json({"type": "object"}), **_ERRORS},
                }
            },
            "/api/v1/sites/shared-links": {
                "put": {
                    "summary": "Find or create a shared link",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["site_id", "name"],
                                    "properties": {"site_id": {"type": "string"}, "name": {"type": "string"}},
                                }
                            }
                        },
                    },
                    "responses": {"200": _json({"type": "object"}), **_ERRORS},
                }
            },
            "/api/v1/sites/{site_id}": {
                "parameters": [
                    {"name": "site_id", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "get": {"summary": "One site", "responses": {"200": _json(_SITE), **_ERRORS}},
                "put": {
                    "summary": "Change a site's domain or time zone",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "domain": {"type": "string"},
                                        "timezone": {"type": "string"},
                                    },
                                }
                            }
                        },
                    },
                    "responses": {"200": _json(_SITE), **_ERRORS},
                },
                "delete": {
                    "summary": "Delete a site and its settings",
                    "responses": {"200": _json({"type": "object"}), **_ERRORS},
                },
            },
        },
    }
