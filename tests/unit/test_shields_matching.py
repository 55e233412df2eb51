"""Shield rules as the pipeline matches them: IPv4 and IPv6 addresses and ranges, countries,
page paths with `*` / `**` wildcards, and the hostname allow-list with `*.example.com`."""

from __future__ import annotations

import pytest

from footfall.accounts.errors import DomainError
from footfall.ingest.shields import VERDICTS_KEPT, compile_site
from footfall.meta.shields import ShieldKind
from footfall.sites.shields import normalise


def shields(*rules: tuple[str, str]):
    return compile_site((ShieldKind(kind), normalise(ShieldKind(kind), value)) for kind, value in rules)


def test_ipv4_addresses_and_ranges_block_what_they_cover() -> None:
    site = shields(("ip", "203.0.113.0/24"), ("ip", "198.51.100.7"), ("ip", "10.0.0.0/8"))
    for ip in ["203.0.113.0", "203.0.113.255", "198.51.100.7", "10.255.0.1", "::ffff:203.0.113.9"]:
        assert site.ip_blocked(ip), ip
    for ip in ["203.0.114.0", "203.0.112.255", "198.51.100.8", "11.0.0.0", "2001:db8::1", "", "junk"]:
        assert not site.ip_blocked(ip), ip


def test_ipv6_addresses_and_ranges_block_what_they_cover() -> None:
    site = shields(("ip", "2001:DB8:ABCD::/48"), ("ip", "2001:db8::1"), ("ip", "::ffff:192.0.2.1"))
    for ip in ["2001:db8:abcd::", "2001:db8:abcd:ffff:ffff:ffff:ffff:ffff", "2001:db8::1", "192.0.2.1"]:
        assert site.ip_blocked(ip), ip
    for ip in ["2001:db8:abce::", "2001:db8::2", "192.0.2.2", "203.0.113.1"]:
        assert not site.ip_blocked(ip), ip


def test_a_site_without_ip_rules_blocks_no_address() -> None:
    assert not shields(("country", "DE")).ip_blocked("203.0.113.1")


def test_countries_are_matched_by_code() -> None:
    site = shields(("country", "de"), ("country", " US "))
    assert site.countries == frozenset({"DE", "US"})


@pytest.mark.parametrize(
    ("rule", "blocked", "passed"),
    [
        ("/admin", ["/admin"], ["/admin/", "/admin/users", "/administrator", "/"]),
        (
            "/admin/**",
            ["/admin/", "/admin/users", "/admin/a/b/c"],
            ["/admin", "/administrator", "/blog/admin/x"],
        ),
        ("/drafts/*", ["/drafts/", "/drafts/one"], ["/drafts/one/two", "/drafts", "/x/drafts/one"]),
        ("/blog/*/edit", ["/blog/post-1/edit"], ["/blog/a/b/edit", "/blog/post-1/edit/x", "/blog//edits"]),
        ("/**/private", ["/a/private", "/a/b/private", "//private"], ["/private", "/a/privately"]),
        ("/shop**", ["/shop", "/shop/cart", "/shopping"], ["/sho", "/x/shop"]),
        ("/a.b+(c)[d]", ["/a.b+(c)[d]"], ["/aXb+(c)[d]", "/a.bb(c)d"]),
        ("preview/*", ["/preview/1"], ["/preview/1/2"]),
    ],
)
def test_page_paths_use_goal_wildcards(rule: str, blocked: list[str], passed: list[str]) -> None:
    site = shields(("page", rule))
    for path in blocked:
        assert site.page_blocked(path), (rule, path)
    for path in passed:
        assert not site.page_blocked(path), (rule, path)


def test_several_page_rules_each_block() -> None:
    site = shields(("page", "/admin/**"), ("page", "/drafts/*"), ("page", "/exact"))
    assert [site.page_blocked(p) for p in ["/admin/x", "/drafts/y", "/exact", "/blog"]] == [
        True,
        True,
        True,
        False,
    ]


def test_wildcards_never_backtrack_on_long_paths() -> None:
    # With Python's re this pattern takes minutes on the path below; RE2 is linear.
    site = shields(("page", "/**/**/**/**/q"), ("page", "/**x**y**z"))
    assert not site.page_blocked("/" + "a/" * 990)
    assert not site.page_blocked("/" + "xy" * 990)
    assert site.page_blocked("/" + "a/" * 990 + "q")


def test_a_site_without_an_allow_list_allows_every_host() -> None:
    site = shields(("page", "/admin"))
    assert site.host_allowed("anything.example.net")


def test_the_allow_list_keeps_only_its_hosts() -> None:
    site = shields(("hostname", "example.com"), ("hostname", "*.shop.example.com"))
    for host in ["example.com", "eu.shop.example.com", "a.b.shop.example.com"]:
        assert site.host_allowed(host), host
    for host in ["shop.example.com", "blog.example.com", "example.com.evil.net", "evilexample.com", ""]:
        assert not site.host_allowed(host), host


def test_a_wildcard_inside_a_hostname_label() -> None:
    site = shields(("hostname", "staging-*.example.com"))
    assert site.host_allowed("staging-1.example.com")
    assert not site.host_allowed("prod.example.com")


def test_verdicts_are_remembered_and_stay_right_when_the_memory_fills() -> None:
    site = shields(("page", "/blocked/*"))
    for number in range(VERDICTS_KEPT + 10):
        assert not site.page_blocked(f"/open/{number}")
    assert site.page_blocked("/blocked/1") and site.page_blocked("/blocked/1")
    assert not site.page_blocked("/open/1")


@pytest.mark.parametrize(
    ("kind", "raw", "stored"),
    [
        ("ip", " 203.0.113.7 ", "203.0.113.7"),
        ("ip", "203.0.113.7/32", "203.0.113.7"),
        ("ip", "203.0.113.0/24", "203.0.113.0/24"),
        ("ip", "2001:DB8:0:0::/32", "2001:db8::/32"),
        ("ip", "2001:db8::1/128", "2001:db8::1"),
        ("ip", "::ffff:203.0.113.7", "203.0.113.7"),
        ("ip", "::ffff:203.0.113.0/120", "203.0.113.0/24"),
        ("country", "de", "DE"),
        ("country", "XK", "XK"),
        ("page", "admin/**", "/admin/**"),
        ("page", " /drafts/* ", "/drafts/*"),
        ("hostname", "https://www.Example.com:8443/path", "example.com"),
        ("hostname", "*.Example.com", "*.example.com"),
        ("hostname", "bücher.example", "xn--bcher-kva.example"),
    ],
)
def test_values_are_stored_in_one_form(kind: str, raw: str, stored: str) -> None:
    assert normalise(ShieldKind(kind), raw) == stored


@pytest.mark.parametrize(
    ("kind", "raw", "message"),
    [
        ("ip", "", "needs an address"),
        ("ip", "203.0.113.300", "is not an IP address or CIDR range"),
        ("ip", "203.0.113.0/33", "is not an IP address or CIDR range"),
        ("ip", "example.com", "is not an IP address or CIDR range"),
        ("ip", "203.0.113.5/24", "the range is 203.0.113.0/24"),
        ("ip", "2001:db8::1/32", "the range is 2001:db8::/32"),
        ("ip", "fe80::1%eth0", "zone"),
        ("country", "XX", "is not a country code"),
        ("country", "Germany", "Germany is DE"),
        ("country", "DEU", "is not a country code"),
        ("country", " ", "needs a country code"),
        ("page", "", "needs a path"),
        ("page", "/a b", "no spaces"),
        ("page", "/" + "x" * 250, "at most 250 characters"),
        ("page", "/**", "would block every page"),
        ("hostname", "", "needs a hostname"),
        ("hostname", "exa mple.com", "is not a hostname"),
        ("hostname", "-bad-.com", "is not a hostname"),
        ("hostname", "*", "would allow every hostname"),
        ("hostname", "*.*", "would allow every hostname"),
    ],
)
def test_bad_values_are_refused_with_a_reason(kind: str, raw: str, message: str) -> None:
    with pytest.raises(DomainError, match=message) as refused:
        normalise(ShieldKind(kind), raw)
    assert refused.value.field == {"ip": "ip", "country": "country", "page": "page_path"}.get(kind, kind)
