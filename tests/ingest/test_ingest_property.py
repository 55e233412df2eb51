"""Whatever a client sends, /api/event never answers 5xx, and what it accepts can be stored."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.ingest.conftest import Server

FIELDS = ["n", "name", "u", "url", "d", "domain", "r", "referrer", "p", "props", "m", "meta", "h", "$"]
FIELDS += ["revenue", "i", "interactive", "sd", "e", "v", "w", "hashMode"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
urls = st.one_of(
    st.just("https://example.com/"),
    st.builds(
        lambda path, q: f"https://www.example.com/{path}?{q}", st.text(max_size=30), st.text(max_size=30)
    ),
    st.text(max_size=60),
)
plausible_like = st.fixed_dictionaries(
    {"n": st.sampled_from(["pageview", "engagement", "Signup", 404]) | st.text(max_size=10), "u": urls},
    optional={
        "d": st.sampled_from(["example.com", "example.com,blog.example.org", "", "nope.test"])
        | st.text(max_size=20),
        "r": st.none() | urls,
        "p": json_values | st.text(max_size=40),
        "$": json_values,
        "h": st.sampled_from([0, 1, True, "1"]),
        "i": json_values,
        "sd": json_values | st.sampled_from(["²", "٣", " 7 ", "-0", "1e3", "0x10"]),
        "e": json_values | st.sampled_from(["²", "٣", " 7 ", "-0", "1e3", "0x10"]),
    },
)
arbitrary_json = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=6), json_values, max_size=8)
bodies = st.one_of(
    plausible_like.map(json.dumps),
    arbitrary_json.map(json.dumps),
    st.text(max_size=200),
    st.binary(max_size=200),
)
header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=60)
headers = st.fixed_dictionaries(
    {},
    optional={
        "User-Agent": header_text
        | st.just("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0 Safari/537.36"),
        "Content-Type": header_text | st.sampled_from(["text/plain", "application/json"]),
        "X-Forwarded-For": header_text,
        "Forwarded": header_text,
        "X-Real-IP": header_text,
        "X-Plausible-IP": header_text,
        "CF-Connecting-IP": header_text,
    },
)
peers = st.sampled_from(["127.0.0.1", "10.0.0.2", "198.51.100.4", "::1", "2001:db8::1"])


def test_no_body_or_header_gives_a_server_error(services) -> None:
    with Server(services) as server:

        @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
        @given(body=bodies, extra=headers, peer=peers)
        def check(body, extra, peer) -> None:
            response = server.post(body, headers=extra, peer=peer)
            assert response.status_code in (202, 400, 413), response.text
            assert response.headers["access-control-allow-origin"] == "*"

        check()
        buffer = server.app.state.ingestion.buffer
        assert buffer.flush(timeout=60), "an accepted event could not be written to the store"
        assert buffer.store_available
