"""Which address is the visitor's: forwarding headers count only from trusted proxies."""

import ipaddress

import pytest

from footfall.config import DEFAULT_TRUSTED_PROXIES
from footfall.ingest.client_ip import ClientIpResolver, parse_address
from tests.ingest.conftest import SAFARI_IPHONE, Server

DEFAULT = ClientIpResolver([ipaddress.ip_network(n) for n in DEFAULT_TRUSTED_PROXIES])
SITE_NGINX = "203.0.113.10"  # the site's own nginx, on the public internet
WITH_SITE_NGINX = ClientIpResolver(
    [ipaddress.ip_network(n) for n in (*DEFAULT_TRUSTED_PROXIES, f"{SITE_NGINX}/32")]
)


@pytest.mark.parametrize(
    ("resolver", "peer", "headers", "visitor"),
    [
        pytest.param(DEFAULT, "198.51.100.7", {}, "198.51.100.7", id="direct"),
        pytest.param(
            DEFAULT,
            "198.51.100.7",
            {"x-forwarded-for": "1.2.3.4"},
            "198.51.100.7",
            id="spoofed-xff-untrusted-peer",
        ),
        pytest.param(
            DEFAULT,
            "198.51.100.7",
            {"x-plausible-ip": "1.2.3.4", "x-real-ip": "1.2.3.5", "cf-connecting-ip": "1.2.3.6"},
            "198.51.100.7",
            id="spoofed-single-headers-untrusted-peer",
        ),
        pytest.param(
            DEFAULT, "10.0.0.2", {"x-forwarded-for": "198.51.100.7"}, "198.51.100.7", id="one-proxy"
        ),
        pytest.param(
            DEFAULT,
            "127.0.0.1",
            {"x-forwarded-for": "198.51.100.7, 10.1.2.3"},
            "198.51.100.7",
            id="two-proxies",
        ),
        pytest.param(
            DEFAULT,
            "10.0.0.2",
            {"x-forwarded-for": "6.6.6.6, 198.51.100.7"},
            "198.51.100.7",
            id="client-prepends-a-fake-hop",
        ),
        pytest.param(
            DEFAULT,
            "10.0.0.2",
            {"x-real-ip": "198.51.100.7"},
            "198.51.100.7",
            id="x-real-ip-from-trusted-proxy",
        ),
        pytest.param(
            DEFAULT,
            "10.0.0.2",
            {"x-forwarded-for": "10.9.9.9", "x-plausible-ip": "198.51.100.7"},
            "198.51.100.7",
            id="all-hops-private-then-x-plausible-ip",
        ),
        pytest.param(
            DEFAULT, "10.0.0.2", {"cf-connecting-ip": "198.51.100.7"}, "198.51.100.7", id="cf-connecting-ip"
        ),
        pytest.param(
            DEFAULT,
            "10.0.0.2",
            {"forwarded": 'for=198.51.100.7;proto=https, for="[2001:db8:cafe::17]:4711"'},
            "2001:db8:cafe::17",
            id="rfc7239-forwarded-ipv6",
        ),
        pytest.param(DEFAULT, "2001:db8::5", {"x-forwarded-for": "1.2.3.4"}, "2001:db8::5", id="ipv6-direct"),
        pytest.param(
            DEFAULT, "::1", {"x-forwarded-for": "[2001:db8::9]:443"}, "2001:db8::9", id="ipv6-behind-loopback"
        ),
        pytest.param(
            DEFAULT, "::ffff:10.0.0.2", {"x-forwarded-for": "198.51.100.7"}, "198.51.100.7", id="v4-mapped"
        ),
        pytest.param(
            DEFAULT, "10.0.0.2", {"x-forwarded-for": "garbage, unknown"}, "10.0.0.2", id="garbage-chain"
        ),
        pytest.param(
            DEFAULT,
            "10.0.0.2",
            {"x-forwarded-for": "198.51.100.7:5123"},
            "198.51.100.7",
            id="address-with-port",
        ),
        # The seed scenario: visitor -> the site's nginx -> Kubernetes ingress-nginx
        # (compute-full-forwarded-for) -> footfall pod.
        pytest.param(
            WITH_SITE_NGINX,
            "10.244.0.15",
            {"x-forwarded-for": f"198.51.100.7, {SITE_NGINX}", "x-real-ip": SITE_NGINX},
            "198.51.100.7",
            id="site-nginx-then-k8s-ingress",
        ),
        pytest.param(
            WITH_SITE_NGINX,
            "10.244.0.15",
            {"x-forwarded-for": f"1.2.3.4, 198.51.100.99, {SITE_NGINX}"},
            "198.51.100.99",
            id="site-nginx-then-k8s-ingress-with-spoofing-visitor",
        ),
        pytest.param(
            WITH_SITE_NGINX,
            "10.244.0.15",
            {"x-forwarded-for": "1.2.3.4, 198.51.100.99"},
            "198.51.100.99",
            id="k8s-ingress-straight-from-a-spoofing-client",
        ),
        pytest.param(
            DEFAULT,
            "10.244.0.15",
            {"x-forwarded-for": f"198.51.100.7, {SITE_NGINX}"},
            SITE_NGINX,
            id="site-nginx-not-trusted-is-the-visitor",
        ),
    ],
)
def test_client_ip_matrix(resolver: ClientIpResolver, peer: str, headers: dict, visitor: str) -> None:
    assert resolver.resolve(peer, headers) == visitor


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("198.51.100.7", "198.51.100.7"),
        (' "198.51.100.7:443" ', "198.51.100.7"),
        ('198.51.100.7"', "198.51.100.7"),
        ('"[2001:db8::1]:80"', "2001:db8::1"),
        ("2001:DB8:0:0::1", "2001:db8::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("::ffff:198.51.100.7", "198.51.100.7"),
        # Not addresses: zero-padded or short IPv4 forms (which some parsers read as octal or
        # fill in), an RFC 7239 obfuscated id, "unknown".
        ("198.051.100.7", None),
        ("198.51.100", None),
        ("_proxy1", None),
        ("unknown", None),
        ("", None),
    ],
)
def test_addresses_are_parsed_to_their_canonical_text(raw: str, text: str | None) -> None:
    address = parse_address(raw)
    assert (address.text if address else None) == text
    if address is not None:  # the value is the text's
        assert address.value == int(ipaddress.ip_address(text))


def test_seed_scenario_counts_real_visitors_and_their_countries(make_settings, services) -> None:
    """Two visitors reach footfall through the site's nginx and a Kubernetes ingress: the
    store must see two visitors from Germany and Britain, not one from the proxy."""
    services.settings = make_settings(
        DATABASE_URL=services.settings.database_url,
        TRUSTED_PROXIES=",".join((*DEFAULT_TRUSTED_PROXIES, f"{SITE_NGINX}/32")),
    )
    body = {"n": "pageview", "u": "https://example.com/", "d": "example.com"}
    with Server(services, client_address="10.244.0.15") as server:
        for visitor in ("85.214.132.117", "81.2.69.142"):
            response = server.post(
                body,
                headers={"X-Forwarded-For": f"{visitor}, {SITE_NGINX}", "X-Real-IP": SITE_NGINX},
            )
            assert response.status_code == 202
        # A visitor who tries to pass as someone else is still counted under their own address.
        server.post(body, headers={"X-Forwarded-For": f"1.2.3.4, 81.2.69.142, {SITE_NGINX}"})
        stored = server.rows(
            "SELECT country_code, uniqExact(user_id) AS visitors FROM {db}.events GROUP BY country_code "
            "ORDER BY country_code"
        )
    assert stored == [{"country_code": "DE", "visitors": 1}, {"country_code": "GB", "visitors": 1}]


def test_a_client_cannot_spoof_its_address_from_outside(server) -> None:
    body = {"n": "pageview", "u": "https://example.com/", "d": "example.com"}
    for fake in ("85.214.132.117", "81.2.69.142", "8.8.8.8"):
        server.post(
            body,
            headers={"X-Forwarded-For": fake, "X-Plausible-IP": fake, "User-Agent": SAFARI_IPHONE},
            peer="198.51.100.1",
        )
    assert server.rows("SELECT uniqExact(user_id) AS visitors FROM {db}.events") == [{"visitors": 1}]
