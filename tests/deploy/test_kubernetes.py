"""deploy/kubernetes as a cluster would receive it: every overlay renders with `kubectl
kustomize`, every object validates strictly against the Kubernetes API schemas (offline,
kubernetes-validate), and the rendered objects keep the rules deploy/README.md promises:
pinned images, probes and resources, no privilege, non-root, Secrets only from the
generator, footfall's own settings valid for footfall."""

from __future__ import annotations

import base64
import inspect
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml

from footfall.config import load_settings
from footfall.ingest.buffer import WriteAheadBuffer
from tests.deploy.dockerfile import ROOT
from tests.deploy.manifests import (
    FAKE_SECRETS,
    KUBERNETES,
    OVERLAYS,
    WORKLOADS,
    containers,
    named,
    pod_specs,
    render,
)

# The oldest Kubernetes release the manifests are meant for, and the newest the package knows.
CLICKHOUSE_CONFIG = ROOT / "deploy" / "kubernetes" / "overlays" / "cluster" / "clickhouse"
KUBERNETES_VERSIONS = ("1.30.0", kubernetes_validate.utils.latest_version())


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    scratch = tmp_path_factory.mktemp("kustomize")
    return {overlay: render(overlay, scratch) for overlay in OVERLAYS}


def _secret(objects: list[dict[str, Any]]) -> dict[str, str]:
    data = named(objects, "Secret", "footfall-secrets-")["data"]
    return {key: base64.b64decode(value).decode() for key, value in data.items()}


def _config_map(objects: list[dict[str, Any]], prefix: str) -> dict[str, str]:
    return named(objects, "ConfigMap", prefix)["data"]


def _footfall(objects: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    workload = named(objects, "StatefulSet", "footfall")
    return workload, workload["spec"]["template"]["spec"]["containers"][0]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_overlay_renders_the_objects_it_promises(rendered, overlay: str) -> None:
    kinds = {
        (
            o["kind"],
            o["metadata"]["name"].rsplit("-", 1)[0]
            if o["kind"] in ("Secret", "ConfigMap")
            else o["metadata"]["name"],
        )
        for o in rendered[overlay]
    }
    common = {
        ("StatefulSet", "footfall"),
        ("Service", "footfall"),
        ("Service", "footfall-pods"),
        ("Ingress", "footfall"),
        ("ConfigMap", "footfall-settings"),
        ("Secret", "footfall-secrets"),
        ("CronJob", "footfall-backup"),
    }
    assert common <= kinds
    if overlay == "embedded":
        assert {
            ("PersistentVolumeClaim", "footfall-data"),
            ("PersistentVolumeClaim", "footfall-backups"),
        } <= kinds
    else:
        assert {
            ("StatefulSet", "footfall-postgres"),
            ("StatefulSet", "footfall-clickhouse"),
            ("Deployment", "footfall-redis"),
            ("Service", "footfall-postgres"),
            ("Service", "footfall-clickhouse"),
            ("Service", "footfall-redis"),
            ("PodDisruptionBudget", "footfall"),
        } <= kinds


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_rendered_object_validates_strictly_against_the_kubernetes_schemas(
    rendered, overlay: str, version: str
) -> None:
    for obj in rendered[overlay]:
        kubernetes_validate.validate(obj, version, strict=True)


def test_strict_validation_catches_a_misspelt_field(rendered) -> None:
    workload, _ = _footfall(rendered["embedded"])
    broken = yaml.safe_load(yaml.safe_dump(workload))
    broken["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {"httpGet": {"port": 8000}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[0], strict=True)


def unpinned(image: str) -> str | None:
    """Why an image reference is not pinned, or None: a version tag (not `latest`), a digest
    (`@sha256:` and 64 hex digits), or both."""
    name, _, digest = image.partition("@")
    if digest and not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        return f"{image}: {digest!r} is not a sha256 digest"
    tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else ""
    if tag == "latest":
        return f"{image} uses latest"
    if not tag:
        return None if digest else f"{image} has no tag"
    if not re.search(r"\d", tag):
        return f"{image}: {tag!r} is not a version"
    return None


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_image_is_pinned_to_a_version(rendered, overlay: str) -> None:
    images = [container["image"] for _, _, container in containers(rendered[overlay])]
    assert images
    for image in images:
        assert unpinned(image) is None, unpinned(image)


def test_the_pin_policy_takes_versions_and_digests_and_refuses_the_rest() -> None:
    digest = "sha256:" + "0123456789abcdef" * 4
    for good in (
        "postgres:17.7-alpine",
        f"postgres:17.7-alpine@{digest}",
        f"postgres@{digest}",
        f"registry.example.com:5000/footfall:0.1.0@{digest}",
        "registry.example.com:5000/footfall:0.1.0",
    ):
        assert unpinned(good) is None, good
    for bad, why in (
        ("postgres", "has no tag"),
        ("postgres:latest", "uses latest"),
        (f"postgres:latest@{digest}", "uses latest"),
        ("postgres:alpine", "is not a version"),
        ("postgres:17@sha256:abc", "is not a sha256 digest"),
        ("registry.example.com:5000/footfall", "has no tag"),
    ):
        assert why in (unpinned(bad) or ""), bad


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_has_resources_and_every_server_has_probes(rendered, overlay: str) -> None:
    for obj, _, container in containers(rendered[overlay]):
        where = f"{obj['kind']}/{obj['metadata']['name']} container {container['name']}"
        resources = container.get("resources", {})
        for part in ("requests", "limits"):
            assert {"cpu", "memory"} <= set(resources.get(part, {})), f"{where}: {part}"
        if obj["kind"] in WORKLOADS:  # a Job's container runs to completion: no probes
            assert "livenessProbe" in container and "readinessProbe" in container, where


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_nothing_is_privileged_or_root_or_on_the_host(rendered, overlay: str) -> None:
    for obj, pod in pod_specs(rendered[overlay]):
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        assert not any(pod.get(f) for f in ("hostNetwork", "hostPID", "hostIPC")), where
        assert not [v for v in pod.get("volumes", []) if "hostPath" in v], where
        assert pod["securityContext"]["runAsNonRoot"] is True, where
        assert pod["securityContext"]["runAsUser"] != 0, where
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
        assert pod.get("automountServiceAccountToken") is False, where
    for obj, _, container in containers(rendered[overlay]):
        where = f"{obj['kind']}/{obj['metadata']['name']} container {container['name']}"
        context = container["securityContext"]
        assert context.get("privileged", False) is False, where
        assert context["allowPrivilegeEscalation"] is False, where
        assert context["readOnlyRootFilesystem"] is True, where
        assert context["capabilities"]["drop"] == ["ALL"], where
        assert not context.get("capabilities", {}).get("add"), where
        assert context.get("runAsUser", 1) != 0, where


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_come_only_from_the_generator_and_every_reference_resolves(rendered, overlay: str) -> None:
    for source in KUBERNETES.rglob("*.yaml"):
        for doc in yaml.safe_load_all(source.read_text()):
            assert not (doc and doc.get("kind") == "Secret"), f"{source}: a Secret written by hand"
    objects = rendered[overlay]
    secrets = [o for o in objects if o["kind"] == "Secret"]
    assert [s["metadata"]["name"] for s in secrets] == [
        named(objects, "Secret", "footfall-secrets-")["metadata"]["name"]
    ]
    generated = secrets[0]["metadata"]["name"]
    assert re.fullmatch(r"footfall-secrets-[a-z0-9]{10}", generated), "not a generator's hashed name"
    keys = set(secrets[0]["data"])
    config_maps = {o["metadata"]["name"]: set(o["data"]) for o in objects if o["kind"] == "ConfigMap"}
    for obj, pod, container in containers(objects):
        for source in container.get("envFrom", []):
            if "secretRef" in source:
                assert source["secretRef"]["name"] == generated
            if "configMapRef" in source:
                assert source["configMapRef"]["name"] in config_maps
        for variable in container.get("env", []):
            ref = variable.get("valueFrom", {}).get("secretKeyRef")
            if ref:
                assert ref["name"] == generated and ref["key"] in keys, (obj["metadata"]["name"], ref)
        for volume in pod.get("volumes", []):
            assert "secret" not in volume, "secrets reach pods as environment variables only"
            if "configMap" in volume:
                assert volume["configMap"]["name"] in config_maps


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_footfall_accepts_the_settings_each_overlay_gives_it(rendered, overlay: str, tmp_path: Path) -> None:
    """The container's environment as Kubernetes would build it, read by footfall's own
    settings loader; and every variable is one the README's Configuration table lists."""
    objects = rendered[overlay]
    _, container = _footfall(objects)
    env = {**_config_map(objects, "footfall-settings-"), **_secret(objects)}
    env.update({v["name"]: v["value"] for v in container["env"] if "value" in v})
    readme = (ROOT / "README.md").read_text()
    # The databases' own passwords share the Secret; footfall reads them only inside its URLs.
    for_databases = {
        variable["valueFrom"]["secretKeyRef"]["key"]
        for obj, _, other in containers(objects)
        if obj["metadata"]["name"] != "footfall"
        for variable in other.get("env", [])
        if "secretKeyRef" in variable.get("valueFrom", {})
    }
    for name in set(env) - for_databases:
        assert f"`{name}`" in readme, f"{name} is not in the README's Configuration table"
    env["DATA_DIR"] = str(tmp_path / "data")
    settings = load_settings(env)
    assert settings.listen_ip == "0.0.0.0" and settings.http_port == 8000
    assert settings.secret_key_base == FAKE_SECRETS["SECRET_KEY_BASE"]
    # Mail through the relay as the seed's SendGrid settings, the password from the Secret.
    smtp = settings.mail.smtp
    assert settings.mail.adapter == "smtp"
    assert (smtp.host, smtp.port, smtp.implicit_tls, smtp.retries) == ("smtp.sendgrid.net", 465, True, 2)
    assert (smtp.username, smtp.password) == ("apikey", FAKE_SECRETS["SMTP_USER_PWD"])
    assert "SMTP_USER_PWD" not in _config_map(objects, "footfall-settings-")
    if overlay == "embedded":
        assert settings.embedded_events and settings.database_url.startswith("sqlite")
    else:
        assert not settings.embedded_events and settings.redis_url == "redis://footfall-redis:6379/0"


def test_the_cluster_overlay_reaches_its_databases_with_the_generated_credentials(rendered) -> None:
    objects = rendered["cluster"]
    secret = _secret(objects)
    services = {o["metadata"]["name"]: o for o in objects if o["kind"] == "Service"}
    for url_key, password_key, workload in (
        ("DATABASE_URL", "POSTGRES_PASSWORD", "footfall-postgres"),
        ("CLICKHOUSE_DATABASE_URL", "CLICKHOUSE_PASSWORD", "footfall-clickhouse"),
    ):
        url = urlsplit(secret[url_key])
        assert (
            url.username == "footfall" and url.password == FAKE_SECRETS[password_key] == secret[password_key]
        )
        service = services[url.hostname]
        assert url.port in [p["port"] for p in service["spec"]["ports"]]
        database = named(objects, "StatefulSet", workload)
        assert (
            service["spec"]["selector"].items() <= database["spec"]["template"]["metadata"]["labels"].items()
        )
        server = database["spec"]["template"]["spec"]["containers"][0]
        refs = {v["name"]: v["valueFrom"]["secretKeyRef"]["key"] for v in server["env"] if "valueFrom" in v}
        assert password_key in refs.values(), f"{workload} does not take its password from the Secret"
        assert ":" in server["image"] and not server["image"].endswith(":latest")
        (claim,) = [c for c in database["spec"]["volumeClaimTemplates"] if c["metadata"]["name"] == "data"]
        assert claim["spec"]["resources"]["requests"]["storage"].endswith("Gi")


def test_footfall_probes_and_drains_as_the_write_ahead_log_needs(rendered) -> None:
    flush_timeout = inspect.signature(WriteAheadBuffer.stop).parameters["timeout"].default
    for overlay in OVERLAYS:
        workload, container = _footfall(rendered[overlay])
        pod = workload["spec"]["template"]["spec"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/api/health"
        assert container["readinessProbe"]["httpGet"]["path"] == "/api/health/ready"
        assert container["startupProbe"]["httpGet"]["path"] == "/api/health"
        pause = int(container["lifecycle"]["preStop"]["exec"]["command"][1])
        # The pause before SIGTERM, the longest flush footfall waits for, and room to answer.
        assert pod["terminationGracePeriodSeconds"] >= pause + flush_timeout + 15
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        assert mounts["/data"] == "data" and "/tmp" in mounts


def test_embedded_is_one_replica_on_one_claim_and_cluster_gives_each_replica_its_own(rendered) -> None:
    workload, _ = _footfall(rendered["embedded"])
    assert workload["spec"]["replicas"] == 1
    volumes = {v["name"]: v for v in workload["spec"]["template"]["spec"]["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == "footfall-data"
    assert "volumeClaimTemplates" not in workload["spec"]

    workload, _ = _footfall(rendered["cluster"])
    assert workload["spec"]["replicas"] >= 2
    assert "data" not in {v["name"] for v in workload["spec"]["template"]["spec"]["volumes"]}
    (claim,) = workload["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "data"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]


def test_clickhouse_gets_the_small_machine_configuration(rendered) -> None:
    objects = rendered["cluster"]
    files = _config_map(objects, "footfall-clickhouse-config-")
    parsed = {name: ET.fromstring(text) for name, text in files.items()}
    server = ET.Element("clickhouse")
    for name, root in parsed.items():
        if name != "users.xml":
            server.extend(list(root))
    assert server.findtext("mark_cache_size") == "524288000"
    profile = parsed["users.xml"].find("profiles/default")
    assert {child.tag: child.text for child in profile} == {
        "max_threads": "1",
        "max_block_size": "8192",
        "max_download_threads": "1",
        "input_format_parallel_parsing": "0",
        "output_format_parallel_formatting": "0",
    }
    assert "INTERVAL 30 DAY" in server.findtext("query_log/ttl")
    for log in ("metric_log", "trace_log", "text_log", "session_log", "part_log"):
        assert server.find(log).get("remove") == "remove", log
    # The ConfigMap holds the repository's files as they are: the one copy of the settings,
    # which a ClickHouse server outside Kubernetes takes in its config.d/ too.
    for name, text in files.items():
        assert text == (CLICKHOUSE_CONFIG / name).read_text(), name
    defining = sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "deploy").rglob("*.xml")
        if "<query_log" in path.read_text()
    )
    assert defining == ["deploy/kubernetes/overlays/cluster/clickhouse/footfall-system-logs.xml"]
    # The server's memory ceiling fits a 2-4 GB node.
    clickhouse = named(objects, "StatefulSet", "footfall-clickhouse")
    container = clickhouse["spec"]["template"]["spec"]["containers"][0]
    limit = container["resources"]["limits"]["memory"]
    limit_gib = (
        float(limit.removesuffix("Gi")) if limit.endswith("Gi") else float(limit.removesuffix("Mi")) / 1024
    )
    assert limit_gib * float(server.findtext("max_server_memory_usage_to_ram_ratio")) <= 2.0
    assert limit_gib <= 3
    # Every file of the ConfigMap is mounted where ClickHouse reads its configuration.
    mounted = {m["subPath"]: m["mountPath"] for m in container["volumeMounts"] if "subPath" in m}
    assert set(mounted) == set(files)
    for name, path in mounted.items():
        assert path.startswith(("/etc/clickhouse-server/config.d/", "/etc/clickhouse-server/users.d/")), name
    assert mounted["users.xml"].startswith("/etc/clickhouse-server/users.d/")
    password = parsed["users.xml"].find("users/footfall/password")
    assert password.get("from_env") == "FOOTFALL_CLICKHOUSE_PASSWORD"
    refs = {v["name"]: v["valueFrom"]["secretKeyRef"]["key"] for v in container["env"] if "valueFrom" in v}
    assert refs["FOOTFALL_CLICKHOUSE_PASSWORD"] == "CLICKHOUSE_PASSWORD"


def test_the_ingress_takes_its_host_from_base_url(tmp_path: Path) -> None:
    import shutil

    tree = tmp_path / "tree"
    shutil.copytree(KUBERNETES, tree)
    settings = tree / "base" / "settings.env"
    settings.write_text(
        re.sub(r"BASE_URL=.*", "BASE_URL=https://analytics.example.org", settings.read_text())
    )
    from tests.deploy.manifests import fill_templates, kustomize

    fill_templates(tree, FAKE_SECRETS)
    ingress = named(kustomize(tree / "overlays" / "embedded"), "Ingress", "footfall")
    assert ingress["spec"]["rules"][0]["host"] == "analytics.example.org"
    assert ingress["spec"]["tls"][0]["hosts"] == ["analytics.example.org"]
    assert ingress["spec"]["ingressClassName"] == "nginx"


def test_the_monitoring_component_scrapes_every_replica_with_the_generated_token(tmp_path: Path) -> None:
    import shutil

    from tests.deploy.manifests import fill_templates, kustomize

    tree = tmp_path / "kubernetes"
    shutil.copytree(KUBERNETES, tree)
    fill_templates(tree, FAKE_SECRETS)
    mine = tree / "overlays" / "mine"
    mine.mkdir()
    (mine / "kustomization.yaml").write_text(
        "resources: [../embedded]\ncomponents: [../../components/monitoring]\n"
    )
    objects = kustomize(mine)
    crds = {o["kind"] for o in objects if o["apiVersion"].startswith("monitoring.coreos.com/")}
    assert crds == {"ServiceMonitor", "PrometheusRule"}
    for obj in objects:
        if obj["kind"] not in crds:
            kubernetes_validate.validate(obj, KUBERNETES_VERSIONS[0], strict=True)
    monitor = named(objects, "ServiceMonitor", "footfall")
    selector = monitor["spec"]["selector"]["matchLabels"]
    services = [
        o for o in objects if o["kind"] == "Service" and selector.items() <= o["metadata"]["labels"].items()
    ]
    assert [s["metadata"]["name"] for s in services] == ["footfall-pods"], "one target per replica"
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    assert endpoint["port"] in [p["name"] for p in services[0]["spec"]["ports"]]
    credentials = endpoint["authorization"]["credentials"]
    secret = named(objects, "Secret", "footfall-secrets-")
    assert credentials == {"name": secret["metadata"]["name"], "key": "METRICS_TOKEN"}
    rules = named(objects, "PrometheusRule", "footfall-deployment")["spec"]["groups"][0]["rules"]
    for rule in rules:
        assert rule["alert"].startswith("Footfall") and rule["expr"].count("(") == rule["expr"].count(")")
        assert rule["labels"]["severity"] in ("warning", "critical") and rule["annotations"]["summary"]
    # The rules name what the overlays create.
    exprs = " ".join(rule["expr"] for rule in rules)
    assert 'cronjob="footfall-backup"' in exprs and 'statefulset="footfall"' in exprs
    assert named(objects, "CronJob", "footfall-backup")


INGRESS_NGINX = KUBERNETES / "ingress-nginx"


def test_ingress_nginx_keeps_the_visitor_address_and_footfall_trusts_only_the_pod_network() -> None:
    values = yaml.safe_load((INGRESS_NGINX / "values.yaml").read_text())["controller"]
    config_map = yaml.safe_load((INGRESS_NGINX / "configmap.yaml").read_text())
    kubernetes_validate.validate(config_map, KUBERNETES_VERSIONS[0], strict=True)
    assert config_map["data"] == values["config"], "values.yaml and configmap.yaml disagree"
    config = values["config"]
    assert config["enable-real-ip"] == "true"
    assert config["compute-full-forwarded-for"] == "true"
    assert config["use-proxy-protocol"] == "false"
    assert config["use-forwarded-headers"] == "false"
    assert config["forwarded-for-header"] == "X-Forwarded-For"
    real_ip_from = [c.strip() for c in config["proxy-real-ip-cidr"].split(",")]
    assert "0.0.0.0/0" not in real_ip_from and "::/0" not in real_ip_from
    assert values["service"]["externalTrafficPolicy"] == "Local"

    import ipaddress

    settings = dict(
        line.split("=", 1)
        for line in (KUBERNETES / "base" / "settings.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
    trusted = [ipaddress.ip_network(c) for c in settings["TRUSTED_PROXIES"].split(",")]
    assert all(network.prefixlen > 0 for network in trusted), "TRUSTED_PROXIES must not trust everyone"
    guide = (ROOT / "deploy" / "README.md").read_text()
    for setting in [*config, "externalTrafficPolicy", "TRUSTED_PROXIES"]:
        assert f"`{setting}" in guide, f"deploy/README.md does not explain {setting}"


def test_the_velero_schedule_snapshots_hourly_and_keeps_a_week() -> None:
    schedule = yaml.safe_load((KUBERNETES / "velero" / "schedule.yaml").read_text())
    assert (schedule["apiVersion"], schedule["kind"]) == ("velero.io/v1", "Schedule")
    assert schedule["spec"]["schedule"] == "0 * * * *"
    assert schedule["spec"]["template"]["ttl"] in ("168h", "168h0m0s")
    assert schedule["spec"]["template"]["includedNamespaces"] == ["footfall"]
    assert schedule["spec"]["template"]["snapshotVolumes"] is True


def test_every_file_deploy_readme_mentions_exists() -> None:
    guide = (ROOT / "deploy" / "README.md").read_text()
    mentioned = set(re.findall(r"`((?:\.\./|kubernetes/|docker/|nginx/|deploy/)[\w./-]+)`", guide))
    assert len(mentioned) > 10
    for path in mentioned:
        base = ROOT if path.startswith("deploy/") else ROOT / "deploy"
        assert (base / path).resolve().exists(), f"deploy/README.md mentions {path}, which does not exist"


def _job_pod(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return named(objects, "CronJob", "footfall-backup")["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def test_the_embedded_backup_job_asks_the_running_server_through_its_admin_channel(rendered) -> None:
    objects = rendered["embedded"]
    workload, server = _footfall(objects)
    pod = _job_pod(objects)
    (job,) = pod["containers"]
    assert job["args"][:4] == ["backup", "create", "--to", "/backups"]
    assert "--keep-days" in job["args"]
    # The admin socket is DATA_DIR/admin.sock, for the same user only: same volume, same
    # DATA_DIR, same uid, same node (the claims are ReadWriteOnce).
    server_volumes = {v["name"]: v for v in workload["spec"]["template"]["spec"]["volumes"]}
    job_volumes = {v["name"]: v for v in pod["volumes"]}
    for name, path in (("data", "/data"), ("backups", "/backups")):
        assert job_volumes[name]["persistentVolumeClaim"] == server_volumes[name]["persistentVolumeClaim"]
        assert {"name": name, "mountPath": path} in server["volumeMounts"]
        assert {"name": name, "mountPath": path} in job["volumeMounts"]
    assert {"name": "DATA_DIR", "value": "/data"} in job["env"]
    assert (
        pod["securityContext"]["runAsUser"]
        == workload["spec"]["template"]["spec"]["securityContext"]["runAsUser"]
    )
    (term,) = pod["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["labelSelector"]["matchLabels"] == workload["spec"]["selector"]["matchLabels"]
    assert term["topologyKey"] == "kubernetes.io/hostname"


def test_the_cluster_backup_job_has_each_server_back_itself_up_onto_clickhouse_s_backups_disk(
    rendered, tmp_path: Path
) -> None:
    import subprocess
    import sys

    objects = rendered["cluster"]
    clickhouse = named(objects, "StatefulSet", "footfall-clickhouse")
    pod = _job_pod(objects)
    (volume,) = [v for v in pod["volumes"] if v["name"] == "backups"]
    # The claim the StatefulSet's `backups` template makes for its only replica.
    assert volume["persistentVolumeClaim"]["claimName"] == "backups-footfall-clickhouse-0"
    assert "backups" in [c["metadata"]["name"] for c in clickhouse["spec"]["volumeClaimTemplates"]]
    server = clickhouse["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "backups", "mountPath": "/backups"} in server["volumeMounts"]
    disks = ET.fromstring(_config_map(objects, "footfall-clickhouse-config-")["backups.xml"])
    assert disks.findtext("storage_configuration/disks/backups/path") == "/backups/"
    assert disks.findtext("backups/allowed_disk") == "backups"
    (term,) = pod["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert term["labelSelector"]["matchLabels"] == clickhouse["spec"]["selector"]["matchLabels"]
    scripts = {c["name"]: c for c in pod["containers"]}
    assert set(scripts) == {"events", "metadata"}
    assert "BACKUP DATABASE footfall TO Disk('backups'," in scripts["events"]["args"][0]
    assert "pg_dump --host footfall-postgres" in scripts["metadata"]["args"][0]
    assert scripts["events"]["image"] == server["image"]
    postgres = named(objects, "StatefulSet", "footfall-postgres")["spec"]["template"]["spec"]["containers"][0]
    assert scripts["metadata"]["image"] == postgres["image"]
    for name, container in scripts.items():
        assert container["command"] == ["/bin/sh", "-c"]
        lint = subprocess.run(
            [str(Path(sys.executable).with_name("shellcheck")), "--shell=sh", "--severity=style", "-"],
            input=container["args"][0],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert lint.returncode == 0, f"{name}: {lint.stdout}"
