"""The `<script>` tag a site owner pastes into their pages, for the extensions they chose.

It is Plausible's snippet with footfall's address, so a site moving from Plausible changes
only the host in its tag:
    <script defer data-domain="example.com" src="https://stats.example.com/js/script.hash.outbound-links.js"></script>
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from footfall.accounts.errors import DomainError

# The tracker's extensions in canonical (alphabetical) order, as the built file names list
# them; `footfall.web.tracker` serves exactly these.
EXTENSIONS: tuple[str, ...] = (
    "compat",
    "exclusions",
    "file-downloads",
    "hash",
    "local",
    "manual",
    "outbound-links",
    "pageview-props",
    "revenue",
    "tagged-events",
)


def script_name(extensions: Iterable[str]) -> str:
    """`script.js`, or `script.<extensions in canonical order>.js`. Each item may itself be
    a comma-separated list; unknown or repeated extensions raise DomainError."""
    chosen: list[str] = []
    for item in extensions:
        for raw in item.split(","):
            name = raw.strip().lower()
            if not name:
                continue
            if name not in EXTENSIONS:
                raise DomainError(
                    f"unknown tracker extension {raw.strip()!r}; known extensions: {', '.join(EXTENSIONS)}",
                    field="extension",
                )
            if name in chosen:
                raise DomainError(f"tracker extension {name!r} is given more than once", field="extension")
            chosen.append(name)
    return ".".join(["script", *sorted(chosen, key=EXTENSIONS.index), "js"])


def snippet(domain: str, base_url: str, extensions: Iterable[str] = ()) -> str:
    """The exact tag to paste into the `<head>` of every page of `domain`. With `compat` the
    tag carries `id="plausible"`: that script finds its tag by the id, in browsers without
    `document.currentScript`."""
    name = script_name(extensions)
    src = f"{base_url.rstrip('/')}/js/{name}"
    found_by_id = ' id="plausible"' if "compat" in name.split(".") else ""
    return f'<script defer{found_by_id} data-domain="{escape(domain)}" src="{escape(src)}"></script>'
