"""deploy/nginx/footfall.conf, run by a real nginx (Debian's), in front of footfall.

The seed scenario: visitor -> an ingress that appends X-Forwarded-For (a second nginx
server here, tests/e2e/nginx/ingress.conf, as a Kubernetes ingress-nginx with
compute-full-forwarded-for) -> the site's own nginx (the deploy/ example, unchanged but
for ports and paths) -> footfall, which trusts only 127.0.0.1 (TRUSTED_PROXIES).

Every process here talks over loopback, so the visitor's public address has to come from
somewhere: the test client plays the hop in front of the ingress (a cloud load balancer,
say) and sends `X-Forwarded-For: <the visitor>` from 127.0.0.1. Both nginx hops then append
what they saw, and footfall must walk past them to the visitor. A client on an address
footfall does not trust (127.0.0.9) cannot choose its address by sending the same header.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import make_footfall
from tests.e2e.harness import FootfallServer, free_port, html, sorted_keys, wait_until

REPO = Path(__file__).resolve().parents[2]
SITE_CONF = REPO / "deploy" / "nginx" / "footfall.conf"
INGRESS_CONF = Path(__file__).parent / "nginx" / "ingress.conf"
SITE = "proxied.test"
VISITOR_IN_GERMANY = "80.130.0.1"  # Deutsche Telekom
VISITOR_IN_THE_US = "8.8.8.8"
UNTRUSTED_PEER = "127.0.0.9"
BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


class Nginx:
    """The site's nginx (deploy/nginx/footfall.conf) and the ingress, one nginx process."""

    def __init__(self, binary: str, prefix: Path, footfall: FootfallServer) -> None:
        self.prefix = prefix
        self.site_port = free_port()
        self.ingress_port = free_port()
        self.root = prefix / "site"
        self.root.mkdir()
        (prefix / "logs").mkdir()
        site = _substitute(
            SITE_CONF.read_text(),
            {
                "/var/cache/nginx/footfall": str(prefix / "cache"),
                "server 127.0.0.1:8000;": f"server 127.0.0.1:{footfall.port};",
                "listen 80;": f"listen 127.0.0.1:{self.site_port};",
                "root /var/www/example.com;": f"root {self.root};",
            },
        )
        ingress = _substitute(
            INGRESS_CONF.read_text(),
            {
                "@INGRESS_LISTEN@": f"127.0.0.1:{self.ingress_port}",
                "@SITE_ADDRESS@": f"127.0.0.1:{self.site_port}",
            },
        )
        (prefix / "site.conf").write_text(site)
        (prefix / "ingress.conf").write_text(ingress)
        # Workers of a root master run as `nobody`, who may not read pytest's private tmp.
        user = "user root;\n" if os.geteuid() == 0 else ""
        temp_paths = "".join(f"{kind}_temp_path {prefix / kind};\n" for kind in ("client_body", "proxy"))
        temp_paths += "".join(f"{kind}_temp_path {prefix / kind};\n" for kind in ("fastcgi", "uwsgi", "scgi"))
        (prefix / "nginx.conf").write_text(
            f"{user}worker_processes 1;\npid {prefix / 'nginx.pid'};\n"
            f"error_log {prefix / 'logs' / 'error.log'} info;\n"
            "events { worker_connections 128; }\n"
            "http {\n"
            f"access_log {prefix / 'logs' / 'access.log'};\n"
            "types { text/html html; application/javascript js; }\n"
            f"{temp_paths}"
            f"include {prefix / 'site.conf'};\ninclude {prefix / 'ingress.conf'};\n"
            "}\n"
        )
        command = [
            binary,
            "-p",
            str(prefix),
            "-c",
            str(prefix / "nginx.conf"),
            "-e",
            str(prefix / "logs/error.log"),
        ]
        checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
        assert checked.returncode == 0, checked.stderr
        self.process = subprocess.Popen(
            [*command, "-g", "daemon off;"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

        def answers() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"nginx exited: {self.process.stderr.read().decode() if self.process.stderr else ''}"
                )
            try:
                httpx.get(f"http://127.0.0.1:{self.ingress_port}/", timeout=2)
                return True
            except httpx.TransportError:
                return False

        wait_until(answers, "nginx to listen", timeout=30)

    @property
    def url(self) -> str:
        """Where visitors reach the site: through the ingress."""
        return f"http://{SITE}:{self.ingress_port}"

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def _substitute(text: str, replacements: dict[str, str]) -> str:
    """Replaces each value that the example marks CHANGE; each must be there exactly once,
    so this test breaks when the example changes shape instead of testing something else."""
    for old, new in replacements.items():
        assert text.count(old) == 1, f"expected {old!r} once in the nginx example"
        text = text.replace(old, new)
    return text


@pytest.fixture(scope="module")
def footfall(tmp_path_factory: pytest.TempPathFactory, built_tracker: Any) -> Iterator[FootfallServer]:
    server = make_footfall(tmp_path_factory, (SITE,), TRUSTED_PROXIES="127.0.0.1/32")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def nginx(
    nginx_binary: str, footfall: FootfallServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Nginx]:
    proxy = Nginx(nginx_binary, tmp_path_factory.mktemp("nginx"), footfall)
    yield proxy
    proxy.stop()


@pytest.fixture
def running(footfall: FootfallServer) -> FootfallServer:
    footfall.start()
    return footfall


def event_body(host: str, path: str) -> str:
    return f'{{"n":"pageview","u":"https://{host}{path}","d":"{SITE}","r":null}}'


def test_the_script_is_served_under_a_neutral_name(running: FootfallServer, nginx: Nginx) -> None:
    with httpx.Client(headers={"Accept-Encoding": "gzip"}) as client:
        for neutral, original in (
            ("/js/visits.js", "/js/script.js"),
            ("/js/visits.outbound-links.hash.js", "/js/script.hash.outbound-links.js"),
        ):
            proxied = client.get(f"http://127.0.0.1:{nginx.ingress_port}{neutral}")
            direct = client.get(f"{running.url}{original}")
            assert proxied.status_code == 200
            assert proxied.headers["content-type"].startswith("application/javascript")
            assert proxied.content == direct.content and proxied.content.startswith(b"(function(){")
            again = client.get(f"http://127.0.0.1:{nginx.ingress_port}{neutral}")
            assert again.headers["x-cache"] == "HIT"
        assert (
            client.get(f"http://127.0.0.1:{nginx.ingress_port}/js/visits.no-such-thing.js").status_code == 404
        )


def test_a_visitor_behind_the_ingress_and_the_sites_nginx_is_located_from_the_forwarded_address(
    running: FootfallServer, nginx: Nginx, context: Any, events: Any
) -> None:
    (nginx.root / "index.html").write_text(
        html(head=f'<script defer data-domain="{SITE}" src="/js/visits.js"></script>', body="a shop")
    )
    context.set_extra_http_headers({"X-Forwarded-For": VISITOR_IN_GERMANY})
    before = running.acknowledged()
    context.new_page().goto(f"{nginx.url}/")
    running.wait_acknowledged(before + 1)
    # Script and events are first-party: the page's own origin, no data-api needed.
    assert [e.url for e in events.sent] == [f"{nginx.url}/api/event"]
    rows = running.rows_of(SITE, SITE)
    assert sorted_keys(rows) == [("pageview", SITE, "/", ())]
    assert rows[0].country_code == "DE"


def test_a_client_cannot_choose_its_address_but_a_trusted_chain_carries_the_visitors(
    running: FootfallServer, nginx: Nginx
) -> None:
    headers = {"Content-Type": "text/plain", "User-Agent": BROWSER}
    before = running.acknowledged()
    # Straight to footfall from an untrusted address, with forged headers.
    untrusted = httpx.Client(transport=httpx.HTTPTransport(local_address=UNTRUSTED_PEER), headers=headers)
    with untrusted:
        for forged, path in ((VISITOR_IN_GERMANY, "/one"), (VISITOR_IN_THE_US, "/two")):
            response = untrusted.post(
                f"{running.url}/api/event",
                content=event_body("spoof.proxied.test", path),
                headers={"X-Forwarded-For": forged, "X-Real-IP": forged},
            )
            assert response.status_code == 202
    # The same two addresses, through the ingress and the site's nginx.
    with httpx.Client(headers=headers) as client:
        for visitor, path in ((VISITOR_IN_GERMANY, "/one"), (VISITOR_IN_THE_US, "/two")):
            response = client.post(
                f"http://127.0.0.1:{nginx.ingress_port}/api/event",
                content=event_body("chain.proxied.test", path),
                headers={"X-Forwarded-For": visitor},
            )
            assert response.status_code == 202
    running.wait_acknowledged(before + 4)
    spoofed = running.rows_of("spoof.proxied.test", SITE)
    chained = running.rows_of("chain.proxied.test", SITE)
    # The untrusted client is one visitor with its own (loopback: no country) address.
    assert [(r.pathname, r.country_code) for r in spoofed] == [("/one", ""), ("/two", "")]
    assert spoofed[0].user_id == spoofed[1].user_id
    # Through trusted proxies, two visitors in two countries.
    assert sorted((r.pathname, r.country_code) for r in chained) == [("/one", "DE"), ("/two", "US")]
    assert chained[0].user_id != chained[1].user_id
