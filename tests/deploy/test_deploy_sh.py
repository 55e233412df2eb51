"""deploy/kubernetes/deploy.sh: with fake secret values its --dry-run renders exactly what
`kubectl kustomize` renders from the same values (plus the namespace it deploys into),
substitutes only the variables it names, reads secrets from the environment, files or
gcloud, refuses unpinned images and bad values in one line, and without --dry-run pipes the
manifests to `kubectl apply -f -` and waits for every rollout."""

from __future__ import annotations

import base64
import os
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.manifests import (
    DEPLOY_SH,
    FAKE_SECRETS,
    KUBERNETES,
    OVERLAYS,
    deploy_sh,
    kubectl,
    named,
    render,
)


def _objects(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def _secret(objects: list[dict[str, Any]]) -> dict[str, str]:
    data = named(objects, "Secret", "footfall-secrets-")["data"]
    return {key: base64.b64decode(value).decode() for key, value in data.items()}


def _key(obj: dict[str, Any]) -> tuple[str, str]:
    return obj["kind"], obj["metadata"]["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_dry_run_renders_the_same_objects_as_kustomize_in_its_namespace(overlay: str, tmp_path: Path) -> None:
    done = deploy_sh("--overlay", overlay, "--dry-run", env=FAKE_SECRETS)
    assert done.returncode == 0, done.stderr
    ours = _objects(done.stdout)
    namespace = [o for o in ours if o["kind"] == "Namespace"]
    assert [n["metadata"]["name"] for n in namespace] == ["footfall"]
    expected = render(overlay, tmp_path)
    ours = [o for o in ours if o["kind"] != "Namespace"]
    for obj in ours:
        assert obj["metadata"].pop("namespace") == "footfall", _key(obj)
    assert sorted(map(_key, ours)) == sorted(map(_key, expected))
    by_key = {_key(o): o for o in expected}
    for obj in ours:
        assert obj == by_key[_key(obj)], _key(obj)
    # The secret values went in exactly as given, `$HOME` and `$PATH` inside them included.
    secret = _secret(ours)
    for name in ("SECRET_KEY_BASE", "SMTP_USER_PWD", "METRICS_TOKEN"):
        assert secret[name] == FAKE_SECRETS[name]


def test_only_the_named_variables_are_substituted(tmp_path: Path) -> None:
    tree = tmp_path / "kubernetes"
    shutil.copytree(KUBERNETES, tree)
    template = tree / "base" / "secrets.env.template"
    template.write_text(template.read_text() + "LITERAL=$HOME ${PATH} ${SECRET_KEY_BASE_NOT} $1\n")
    done = deploy_sh(
        "--dry-run", env={**FAKE_SECRETS, "SECRET_KEY_BASE_NOT": "leaked"}, script=tree / "deploy.sh"
    )
    assert done.returncode == 0, done.stderr
    secret = _secret(_objects(done.stdout))
    assert secret["LITERAL"] == "$HOME ${PATH} ${SECRET_KEY_BASE_NOT} $1"
    assert secret["SECRET_KEY_BASE"] == FAKE_SECRETS["SECRET_KEY_BASE"]
    # Nothing was written into the source tree: the env files were filled in a private copy.
    assert not list(tree.rglob("secrets.env"))


def test_secrets_from_a_directory_of_files(tmp_path: Path) -> None:
    for name, value in FAKE_SECRETS.items():
        (tmp_path / name).write_text(value + "\n")
    done = deploy_sh("--overlay", "cluster", "--secrets-from", f"file:{tmp_path}", "--dry-run")
    assert done.returncode == 0, done.stderr
    secret = _secret(_objects(done.stdout))
    assert secret["POSTGRES_PASSWORD"] == FAKE_SECRETS["POSTGRES_PASSWORD"]
    assert secret["DATABASE_URL"] == (
        f"postgres://footfall:{FAKE_SECRETS['POSTGRES_PASSWORD']}@footfall-postgres:5432/footfall"
    )


def test_secrets_from_gcloud_secret_manager(tmp_path: Path) -> None:
    """No Google Cloud here: a `gcloud` on PATH answers as Secret Manager does and records
    how it was asked."""
    calls = tmp_path / "calls"
    gcloud = tmp_path / "bin" / "gcloud"
    gcloud.parent.mkdir()
    store = tmp_path / "store"
    store.mkdir()
    for name, value in FAKE_SECRETS.items():
        (store / ("footfall-" + name.lower().replace("_", "-"))).write_text(value)
    gcloud.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {calls}\n'
        '[ "$1 $2 $3 $4" = "secrets versions access latest" ] || exit 2\n'
        "name=${5#--secret=}\n"
        f'cat "{store}/$name" || exit 1\n'
    )
    gcloud.chmod(gcloud.stat().st_mode | stat.S_IEXEC)
    env = {"PATH": f"{gcloud.parent}{os.pathsep}{os.environ['PATH']}", "GCLOUD_PROJECT": "my-project"}
    done = deploy_sh("--overlay", "cluster", "--secrets-from", "gcloud", "--dry-run", env=env)
    assert done.returncode == 0, done.stderr
    assert _secret(_objects(done.stdout))["CLICKHOUSE_PASSWORD"] == FAKE_SECRETS["CLICKHOUSE_PASSWORD"]
    asked = calls.read_text().splitlines()
    assert "secrets versions access latest --secret=footfall-secret-key-base --project=my-project" in asked
    assert len(asked) == 5


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--image", "registry.example.com/footfall:latest"], {}, "'latest' is not a version"),
        (["--image", "registry.example.com/footfall"], {}, "pin a version"),
        ([], {"POSTGRES_IMAGE": "postgres:latest"}, "POSTGRES_IMAGE=postgres:latest"),
        ([], {"REDIS_IMAGE": "redis:7.4.6-alpine@sha256:abc"}, "a digest is @sha256: and 64"),
        ([], {"REDIS_IMAGE": "redis:7.4.6-alpine@md5:" + "a" * 64}, "REDIS_IMAGE=redis:7.4.6-alpine@md5"),
        ([], {"SECRET_KEY_BASE": ""}, "SECRET_KEY_BASE is not set (from env)"),
        ([], {"SECRET_KEY_BASE": "short"}, "SECRET_KEY_BASE: must be at least 32 characters"),
        (["--overlay", "cluster"], {"POSTGRES_PASSWORD": "p@ss/word"}, "POSTGRES_PASSWORD: use only letters"),
        (["--overlay", "nowhere"], {}, "--overlay nowhere: no such directory"),
        (["--namespace", "Not_A_Name"], {}, "not a Kubernetes namespace name"),
        (["--secrets-from", "vault"], {}, "--secrets-from vault: use env, gcloud or file:DIR"),
        (["--bogus"], {}, "unknown argument '--bogus'"),
    ],
)
def test_bad_input_is_one_line_and_a_failure(args: list[str], env: dict[str, str], message: str) -> None:
    done = deploy_sh(*args, "--dry-run", env={**FAKE_SECRETS, **env})
    assert done.returncode != 0
    assert done.stdout == ""
    (line,) = done.stderr.splitlines()
    assert line.startswith("deploy.sh: error: ") and message in line, line


def test_pinned_images_and_another_namespace(tmp_path: Path) -> None:
    env = {
        **FAKE_SECRETS,
        "POSTGRES_IMAGE": "registry.example.com/postgres:17.7-alpine",
        "CLICKHOUSE_IMAGE": "clickhouse/clickhouse-server:26.8.20.9@sha256:" + "a" * 64,
    }
    done = deploy_sh(
        "--overlay",
        "cluster",
        "--namespace",
        "footfall-restore",
        "--image",
        "registry.example.com/footfall:0.2.0",
        "--dry-run",
        env=env,
    )
    assert done.returncode == 0, done.stderr
    objects = _objects(done.stdout)
    images = {
        container["image"]
        for obj in objects
        for container in (
            obj.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
            + obj.get("spec", {})
            .get("jobTemplate", {})
            .get("spec", {})
            .get("template", {})
            .get("spec", {})
            .get("containers", [])
        )
    }
    assert images == {
        "registry.example.com/footfall:0.2.0",
        "registry.example.com/postgres:17.7-alpine",
        "clickhouse/clickhouse-server:26.8.20.9@sha256:" + "a" * 64,
        "redis:7.4.6-alpine",
    }
    assert {o["metadata"].get("namespace") for o in objects if o["kind"] != "Namespace"} == {
        "footfall-restore"
    }
    assert named(objects, "Namespace", "footfall-restore")


def test_without_dry_run_it_applies_what_it_renders_and_waits_for_every_rollout(tmp_path: Path) -> None:
    """No cluster here: KUBECTL points at a kubectl that renders with the real one and
    records what it would apply and which rollouts it would wait for."""
    record = tmp_path / "record"
    record.mkdir()
    fake = tmp_path / "kubectl"
    fake.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = kustomize ]; then exec {kubectl()} "$@"; fi\n'
        f'echo "$*" >> {record}/calls\n'
        f'if [ "$1" = apply ]; then cat > {record}/applied.yaml; fi\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    done = deploy_sh("--overlay", "cluster", env={**FAKE_SECRETS, "KUBECTL": str(fake)})
    assert done.returncode == 0, done.stderr
    dry = deploy_sh("--overlay", "cluster", "--dry-run", env=FAKE_SECRETS)
    assert _objects((record / "applied.yaml").read_text()) == _objects(dry.stdout)
    calls = (record / "calls").read_text().splitlines()
    assert calls[0] == "apply -f -"
    assert sorted(calls[1:]) == sorted(
        f"--namespace footfall rollout status {workload} --timeout=10m"
        for workload in (
            "statefulset/footfall",
            "statefulset/footfall-clickhouse",
            "statefulset/footfall-postgres",
            "deployment/footfall-redis",
        )
    )
    assert "rolled out in namespace footfall" in done.stdout


def test_help_describes_the_options() -> None:
    done = deploy_sh("--help")
    assert done.returncode == 0
    for option in ("--overlay", "--namespace", "--image", "--secrets-from", "--dry-run"):
        assert option in done.stdout
    assert DEPLOY_SH.stat().st_mode & stat.S_IXUSR


def test_the_monitoring_component_brings_footfall_s_alert_rules_and_dashboard() -> None:
    import json

    import kubernetes_validate

    from tests.deploy.dockerfile import ROOT

    done = deploy_sh("--component", "monitoring", "--dry-run", env={**FAKE_SECRETS, "METRICS_TOKEN": ""})
    assert done.returncode != 0 and "METRICS_TOKEN is not set" in done.stderr
    done = deploy_sh("--component", "monitoring", "--dry-run", env=FAKE_SECRETS)
    assert done.returncode == 0, done.stderr
    objects = _objects(done.stdout)
    monitoring = ROOT / "deploy" / "monitoring"
    rules = named(objects, "PrometheusRule", "footfall")
    assert rules["spec"] == yaml.safe_load((monitoring / "footfall-alerts.yml").read_text())
    assert named(objects, "PrometheusRule", "footfall-deployment")
    dashboard = named(objects, "ConfigMap", "footfall-grafana-dashboard-")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(dashboard["data"]["footfall-dashboard.json"]) == json.loads(
        (monitoring / "footfall-dashboard.json").read_text()
    )
    kubernetes_validate.validate(dashboard, "1.30.0", strict=True)
    monitor = named(objects, "ServiceMonitor", "footfall")
    assert monitor["spec"]["endpoints"][0]["authorization"]["credentials"]["name"].startswith(
        "footfall-secrets-"
    )
