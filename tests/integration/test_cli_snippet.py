"""`footfall site snippet` prints the exact tag, or one line saying what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_cli import run


def test_snippet_prints_the_tag_for_the_site_and_extensions(tmp_path: Path) -> None:
    assert run(tmp_path, "site", "create", "www.Example.com").returncode == 0
    result = run(
        tmp_path,
        "site",
        "snippet",
        "example.com",
        "--extension",
        "outbound-links",
        "--extension",
        "file-downloads,hash",
        BASE_URL="https://stats.example.org",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        '<script defer data-domain="example.com" '
        'src="https://stats.example.org/js/script.file-downloads.hash.outbound-links.js"></script>\n'
    )


def test_snippet_without_extensions_uses_the_default_base_url(tmp_path: Path) -> None:
    assert run(tmp_path, "site", "create", "blog.example.com").returncode == 0
    result = run(tmp_path, "site", "snippet", "https://www.blog.example.com/", HTTP_PORT="8123")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        '<script defer data-domain="blog.example.com" src="http://localhost:8123/js/script.js"></script>'
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nowhere.example.com",), "footfall: error: no site nowhere.example.com"),
        (
            ("shop.example.com", "--extension", "outbound"),
            "footfall: error: unknown tracker extension 'outbound'; known extensions: compat,",
        ),
    ],
)
def test_unknown_sites_and_extensions_are_one_line(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    assert run(tmp_path, "site", "create", "shop.example.com").returncode == 0
    result = run(tmp_path, "site", "snippet", *args)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(message), result.stderr
