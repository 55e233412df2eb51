"""The snippet a site owner pastes: Plausible's tag with footfall's address and file name."""

from __future__ import annotations

import pytest

from footfall.accounts.errors import DomainError
from footfall.sites.snippet import EXTENSIONS, script_name, snippet
from footfall.web import tracker


def test_the_base_snippet_is_plausibles_tag_with_footfalls_address() -> None:
    assert snippet("example.com", "https://stats.example.com") == (
        '<script defer data-domain="example.com" src="https://stats.example.com/js/script.js"></script>'
    )


def test_extensions_are_named_in_the_order_the_built_files_use() -> None:
    assert snippet("example.com", "https://stats.example.com/", ["outbound-links", "hash"]) == (
        '<script defer data-domain="example.com" '
        'src="https://stats.example.com/js/script.hash.outbound-links.js"></script>'
    )
    assert script_name(["tagged-events,revenue", " file-downloads "]) == (
        "script.file-downloads.revenue.tagged-events.js"
    )


def test_the_compat_tag_carries_the_id_its_script_looks_for() -> None:
    # tracker/src/script-tag.js: with `compat` the script reads its tag by id="plausible".
    assert snippet("example.com", "https://stats.example.com", ["compat", "hash"]) == (
        '<script defer id="plausible" data-domain="example.com" '
        'src="https://stats.example.com/js/script.compat.hash.js"></script>'
    )


def test_every_named_file_is_one_the_server_serves() -> None:
    assert EXTENSIONS == tracker.EXTENSIONS
    name = script_name(reversed(EXTENSIONS))
    assert tracker.canonical_variant(name) == ".".join(EXTENSIONS)


@pytest.mark.parametrize(
    ("extensions", "message"),
    [
        (["outbound"], "unknown tracker extension 'outbound'; known extensions: compat, exclusions,"),
        (["hash", "hash"], "tracker extension 'hash' is given more than once"),
    ],
)
def test_unknown_and_repeated_extensions_are_refused(extensions: list[str], message: str) -> None:
    with pytest.raises(DomainError, match="^" + message):
        script_name(extensions)
