"""Plausible's page wildcards as a regular expression, the one translator of them: goal paths
and page filters (`footfall.stats.query`) and the shields' page rules (`footfall.sites.shields`,
compiled for RE2 by the write path) all mean the same by them. `**` matches anything, `*`
anything but a slash, every other character itself.

It imports nothing of footfall (an import-linter contract), so every layer may use it; the
expression it writes uses only what Python's `re`, RE2 and ClickHouse's `match` share.
"""

from __future__ import annotations

import re

_TOKENS = re.compile(r"\*\*|\*|[^*]+")


def wildcard_regex(pattern: str) -> str:
    """The pattern as an unanchored regular expression (anchor it, or match it whole)."""
    parts = []
    for token in _TOKENS.findall(pattern):
        if token == "**":
            parts.append(".*")
        elif token == "*":
            parts.append("[^/]*")
        else:
            parts.append(re.escape(token))
    return "".join(parts)
