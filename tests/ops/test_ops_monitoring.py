"""/metrics parses with the Prometheus client's parser and carries the operations metrics;
the alert rules and the Grafana dashboard in deploy/monitoring use only metrics it serves."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.ingest.conftest import METRICS_TOKEN, Server

MONITORING = Path(__file__).resolve().parents[2] / "deploy" / "monitoring"
SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


def scrape(server: Server) -> dict:
    response = server.request("GET", "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200
    return {family.name: family for family in text_string_to_metric_families(response.text)}


def samples(family, suffix: str = "", **labels) -> list[float]:
    name = family.name + suffix
    return [
        s.value
        for s in family.samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    ]


def test_metrics_parse_and_report_flushes_buffer_routes_disk_parts_and_backups(services) -> None:
    with Server(services) as server:
        assert (
            server.post({"n": "pageview", "u": "https://example.com/m", "d": "example.com"}).status_code
            == 202
        )
        server.flush()
        before = scrape(server)
        assert server.request("GET", "/api/health/ready").status_code == 200
        families = scrape(server)
    assert samples(families["footfall_ingest_flush_seconds"], "_count")[0] >= 1
    assert families["footfall_ingest_buffer_age_seconds"].samples[0].value == 0  # nothing waits

    def grew(name: str, suffix: str, **labels: str) -> float:
        was = samples(before[name], suffix, **labels) if name in before else []
        return samples(families[name], suffix, **labels)[0] - (was[0] if was else 0)

    assert grew("footfall_http_request_seconds", "_count", route="/api/health/ready", method="GET") == 1
    assert grew("footfall_http_responses", "_total", route="/api/health/ready", status="200") == 1
    data_dir = str(services.settings.data_dir)
    [free] = samples(families["footfall_disk_free_bytes"], path=data_dir)
    [total] = samples(families["footfall_disk_total_bytes"], path=data_dir)
    assert 0 < free <= total
    assert families["footfall_disk_level"].samples[0].value in (0, 1, 2)
    assert samples(families["footfall_events_parts"], table="events")[0] >= 1
    for name in (
        "footfall_backup_last_success_timestamp_seconds",
        "footfall_backup_last_size_bytes",
        "footfall_backup_failures",
        "footfall_backup_stale",
    ):
        assert name in families, name


def _used_metrics() -> set[str]:
    rules = yaml.safe_load((MONITORING / "footfall-alerts.yml").read_text())
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    dashboard = json.loads((MONITORING / "footfall-dashboard.json").read_text())
    exprs += [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    names = set()
    for expr in exprs:
        for name in re.findall(r"\bfootfall_[a-z_]+", expr):
            for suffix in SUFFIXES:
                if name.endswith(suffix):
                    name = name[: -len(suffix)]
                    break
            names.add(name)
    return names


def test_the_alert_rules_and_the_dashboard_use_only_metrics_footfall_serves(services) -> None:
    rules = yaml.safe_load((MONITORING / "footfall-alerts.yml").read_text())
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    assert {
        "FootfallDiskCritical",
        "FootfallBackupStale",
        "FootfallFlushFailing",
        "FootfallHigh5xxRate",
    } <= alerts
    with Server(services) as server:
        served = set(scrape(server))
    used = _used_metrics()
    assert used - served == set()
    assert len(used) >= 12


def test_promtool_accepts_the_rules_when_it_is_installed() -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        import pytest

        pytest.skip("promtool is not installed (the rules are parsed and checked against /metrics above)")
    result = subprocess.run(
        [promtool, "check", "rules", str(MONITORING / "footfall-alerts.yml")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
