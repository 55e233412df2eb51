"""Optional data-centre filtering: with DATACENTER_IP_RANGES, events from those ranges are
dropped (202 with X-Plausible-Dropped, counted under the reason `datacenter`)."""

from __future__ import annotations

from pathlib import Path

from footfall.ingest.bots import DatacenterRanges
from tests.ingest.conftest import CHROME_MAC, METRICS_TOKEN, Server, rows


def test_ranges_merge_and_match_both_families(tmp_path: Path) -> None:
    ranges = tmp_path / "ranges.txt"
    ranges.write_text("10.0.0.0/8\n10.5.0.0/16\n34.64.0.0/10 # cloud\n2600:1f00::/24\n8.8.8.8\n")
    table = DatacenterRanges.from_file(ranges)
    inside = ["10.1.2.3", "34.100.1.1", "2600:1f00::1", "8.8.8.8", "::ffff:34.64.0.1"]
    outside = ["11.0.0.0", "34.128.0.0", "2600:1e00::1", "8.8.8.9", "", "garbage"]
    assert all(table.contains(ip) for ip in inside)
    assert not any(table.contains(ip) for ip in outside)


def test_events_from_a_datacenter_are_dropped(tmp_path: Path, services_with) -> None:
    ranges = tmp_path / "ranges.txt"
    ranges.write_text("203.0.113.0/24\n")
    services = services_with(DATACENTER_IP_RANGES=str(ranges), METRICS_TOKEN=METRICS_TOKEN)
    body = {"n": "pageview", "u": "https://example.com/", "d": "example.com"}
    with Server(services, client_address="203.0.113.7") as server:
        dropped = server.post(body, headers={"User-Agent": CHROME_MAC})
        kept = server.post(body, headers={"User-Agent": CHROME_MAC}, peer="198.51.100.20")
        server.flush()
        assert (dropped.status_code, dropped.headers.get("x-plausible-dropped")) == (202, "1")
        assert (kept.status_code, kept.headers.get("x-plausible-dropped")) == (202, None)
        assert rows(services, "SELECT count() AS n FROM {db}.events") == [{"n": 1}]
        metrics = server.request("GET", "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).text
    counted = [line for line in metrics.splitlines() if 'reason="datacenter"' in line and "_total" in line]
    assert counted and float(counted[0].split()[-1]) >= 1
