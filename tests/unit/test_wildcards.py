"""One page-wildcard translator: the read path's filters and goals and the shields' page rules
(compiled for RE2) match the same paths with it."""

from __future__ import annotations

import re

import re2

from footfall.sites.shields import page_regex
from footfall.stats.query import wildcard_to_regex
from footfall.wildcards import wildcard_regex

CASES = [
    ("/blog/**", "/blog/2024/01/post", True),
    ("/blog/*", "/blog/2024/01/post", False),
    ("/blog/*", "/blog/post", True),
    ("/a.b/(x)+?", "/a.b/(x)+?", True),
    ("/a.b/(x)+?", "/aXb/(x)+?", False),
    ("**/checkout", "/shop/eu/checkout", True),
    ("/", "/pricing", False),
]


def test_the_shields_and_the_read_path_translate_wildcards_alike() -> None:
    for pattern, path, expected in CASES:
        assert page_regex(pattern) == wildcard_regex(pattern)
        assert wildcard_to_regex(pattern) == "^" + wildcard_regex(pattern) + "$"
        assert bool(re.fullmatch(wildcard_regex(pattern), path)) is expected, (pattern, path)
        assert bool(re2.compile(page_regex(pattern)).fullmatch(path)) is expected, (pattern, path)
        assert bool(re.search(wildcard_to_regex(pattern), path)) is expected, (pattern, path)
