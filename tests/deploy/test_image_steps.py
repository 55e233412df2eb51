"""The container image's build, without a Docker engine: the Dockerfile's own steps
(deploy/docker/build-steps.sh, stage by stage) run in a scratch copy of the build context
that .dockerignore leaves; the wheel they build carries the compiled write path and the
built assets; installed non-editable into a fresh virtual environment, it is started with
the image's entry point, environment and health check on a read-only root filesystem
(a private mount namespace with `/` remounted read-only, DATA_DIR the only writable place),
and serves health, the tracker, the dashboard once it exists, and ingestion."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import unavailable
from tests.deploy.dockerfile import ROOT, build_context, environment, exec_form, stages
from tests.e2e.harness import free_port, wait_until
from tests.ingest.conftest import CHROME_MAC

# The build installs footfall twice and compiles the write path: minutes on a shared machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

BUILD_STEPS = "deploy/docker/build-steps.sh"


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 900) -> str:
    done = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _read_only_root_works() -> str | None:
    """None if this process may remount `/` read-only in a mount namespace of its own."""
    if shutil.which("unshare") is None:
        return "no unshare (util-linux)"
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount -o remount,bind,ro / && ! touch /.footfall-ro-probe"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return None if probe.returncode == 0 else f"cannot remount / read-only: {probe.stderr.strip()}"


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="footfall-image-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def built(scratch: Path) -> dict[str, Path]:
    """The three build stages, as the Dockerfile runs them, in a scratch build context."""
    context = scratch / "context"
    copied = build_context(ROOT, context)
    # The Python the build steps find first is this test's own (the image's is 3.11 too).
    env = {name: value for name, value in os.environ.items() if not name.startswith("FOOTFALL_")}
    env["PATH"] = f"{Path(sys._base_executable).parent}{os.pathsep}{env['PATH']}"
    env.pop("VIRTUAL_ENV", None)
    steps = {"context": context, "dist": scratch / "dist", "venv": scratch / "venv"}
    _run([BUILD_STEPS, "assets"], context, env)
    _run([BUILD_STEPS, "wheel", str(steps["dist"]), str(scratch / "build-venv")], context, env)
    # The install stage runs on the slim image, which has no source tree: neither does this.
    installer = scratch / "install"
    installer.mkdir()
    shutil.copy2(context / BUILD_STEPS, installer / "build-steps.sh")
    install = [str(installer / "build-steps.sh"), "install", str(steps["dist"]), str(steps["venv"])]
    out = _run(install, installer, env)
    assert "write path: compiled" in out
    steps["copied"] = copied  # type: ignore[assignment]
    return steps


def test_the_dockerfile_runs_the_build_steps_in_its_stages_and_a_hardened_runtime() -> None:
    found = stages()
    assert [stage.name for stage in found] == ["assets", "wheel", "install", "runtime"]
    runs = [(stage.name, run) for stage in found for run in stage.all("RUN") if "build-steps.sh" in run]
    assert [(name, run.split("build-steps.sh ")[1].split()[0]) for name, run in runs] == [
        ("assets", "assets"),
        ("wheel", "wheel"),
        ("install", "install"),
    ]
    for stage in found:
        _, _, tag = stage.base.partition(":")
        assert tag and tag != "latest" and any(c.isdigit() for c in tag), f"{stage.base} is not pinned"
        # Exact versions (x.y.z), not a moving minor tag.
        assert tag.split("-")[0].count(".") == 2, stage.base
    runtime = found[-1]
    assert runtime.all("USER") == ["10001:10001"]
    assert runtime.all("STOPSIGNAL") == ["SIGTERM"]
    assert environment(runtime)["DATA_DIR"] == "/data"
    assert runtime.all("VOLUME") == ['["/data"]']
    health = exec_form(runtime.all("HEALTHCHECK")[0].split(" CMD ", 1)[1])
    assert health == ["footfall-entrypoint", "healthcheck"]
    assert exec_form(runtime.all("ENTRYPOINT")[0]) == ["footfall-entrypoint"]
    assert exec_form(runtime.all("CMD")[0]) == ["serve"]
    assert base_versions_match(found)


def base_versions_match(found) -> bool:
    """The wheel is built for one Python and installed on the same one."""
    versions = {stage.base.split(":")[1].split("-")[0] for stage in found if stage.base.startswith("python:")}
    return len(versions) == 1


def test_dockerignore_leaves_out_what_the_host_built_and_keeps_what_the_build_needs(built) -> None:
    copied: list[str] = built["copied"]  # type: ignore[assignment]
    for needed in (
        "pyproject.toml",
        "setup.py",
        "README.md",
        "scripts/compile_hot_path.py",
        "tracker/package-lock.json",
        "deploy/docker/entrypoint.sh",
        BUILD_STEPS,
    ):
        assert needed in copied
    assert not [p for p in copied if p.endswith((".so", ".pyc")) or p.endswith("compiled.json")]
    assert not [p for p in copied if "node_modules/" in p or p.startswith((".venv/", ".git/", "data/"))]
    built = ("src/footfall/web/static/tracker/", "src/footfall/web/static/dashboard/")
    assert not [p for p in copied if p.startswith(built)]
    # Every source file the repository tracks under src/ is in the context (the pages' own
    # stylesheet in web/page_assets/ included), only what is built is left out.
    tracked = subprocess.run(
        ["git", "ls-files", "src"], cwd=ROOT, capture_output=True, text=True, timeout=60
    ).stdout.split()
    assert tracked and set(tracked) <= set(copied), sorted(set(tracked) - set(copied))


def test_the_wheel_carries_the_compiled_write_path_and_the_assets(built) -> None:
    (wheel,) = built["dist"].glob("footfall-*.whl")
    assert "-cp311-cp311-linux_" in wheel.name, "a wheel with extension modules is a platform wheel"
    names = zipfile.ZipFile(wheel).namelist()
    assert "footfall/compiled.json" in names
    assert [n for n in names if n.startswith("footfall/hot_path__mypyc.")]
    for module in ("ingest/client_ip", "ingest/identity", "ingest/pipeline", "ingest/request", "web/event"):
        assert [n for n in names if n.startswith(f"footfall/{module}.cpython-") and n.endswith(".so")], module
    assert "footfall/web/static/tracker/script.js" in names
    assert "footfall/web/static/tracker/script.outbound-links.js" in names
    assert "footfall/web/page_assets/app.css" in names, "the pages' stylesheet"
    if (built["context"] / "frontend" / "package.json").exists():
        dashboard = [n for n in names if n.startswith("footfall/web/static/dashboard/")]
        assert dashboard, "the dashboard is not in the wheel"


def test_the_installed_wheel_serves_from_a_read_only_root_with_data_elsewhere(built, scratch: Path) -> None:
    problem = _read_only_root_works()
    if problem is not None:
        unavailable("a read-only root filesystem (root and a mount namespace)", OSError(problem))
    runtime = stages()[-1]
    venv: Path = built["venv"]
    data, tmp = scratch / "data", scratch / "tmp"
    data.mkdir()
    tmp.mkdir()
    port = free_port()
    env = environment(runtime)
    env.update(
        PATH=f"{venv / 'bin'}:/usr/sbin:/usr/bin:/sbin:/bin",
        HOME=str(data),
        # The pod's emptyDir at /tmp (`docker run --tmpfs /tmp`): chDB keeps working files there.
        TMPDIR=str(tmp),
        DATA_DIR=str(data),
        LISTEN_IP="127.0.0.1",
        HTTP_PORT=str(port),
        BASE_URL=f"http://127.0.0.1:{port}",
        FLUSH_INTERVAL_MS="50",
    )
    entrypoint = str(built["context"] / "deploy" / "docker" / "entrypoint.sh")
    command = [entrypoint, *exec_form(runtime.all("CMD")[0])]
    log = scratch / "serve.log"
    # Everything is read-only but DATA_DIR and TMPDIR: the venv, the source it was built from.
    wrapper = (
        'mount --bind "$0" "$0" && mount --bind "$1" "$1" && mount -o remount,bind,ro / && shift && exec "$@"'
    )
    with log.open("wb") as out:
        server = subprocess.Popen(
            ["unshare", "-m", "sh", "-c", wrapper, str(data), str(tmp), *command],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    url = f"http://127.0.0.1:{port}"
    try:

        def healthy() -> bool:
            assert server.poll() is None, f"footfall exited:\n{log.read_text()[-3000:]}"
            try:
                return httpx.get(f"{url}/api/health", timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(healthy, "the installed footfall to answer /api/health", timeout=120, interval=0.2)
        assert "(write path: compiled)" in log.read_text()

        health_command = exec_form(runtime.all("HEALTHCHECK")[0].split(" CMD ", 1)[1])
        check = subprocess.run([entrypoint, *health_command[1:]], env=env, capture_output=True, timeout=30)
        assert check.returncode == 0, check.stderr

        script = httpx.get(f"{url}/js/script.js", timeout=5)
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
        assert "data-domain" in script.text or "domain" in script.text
        assert httpx.get(f"{url}/js/script.hash.outbound-links.js", timeout=5).status_code == 200
        assert httpx.get(f"{url}/assets/app.css", timeout=5).status_code == 200
        if (built["context"] / "frontend" / "package.json").exists():
            # The dashboard's built script, as its page (web/dashboard.py) loads it.
            dashboard = httpx.get(f"{url}/static/dashboard/main.js", timeout=5)
            assert dashboard.status_code == 200 and "javascript" in dashboard.headers["content-type"]
        page = httpx.get(f"{url}/login", timeout=5, follow_redirects=True)  # /register while no user
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]

        site = subprocess.run(
            [str(venv / "bin" / "footfall"), "site", "create", "example.com"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert site.returncode == 0, site.stderr
        event = {"n": "pageview", "u": "https://example.com/from-the-wheel", "d": "example.com"}
        answer = httpx.post(
            f"{url}/api/event",
            content=json.dumps(event),
            headers={"User-Agent": CHROME_MAC, "X-Forwarded-For": "85.214.132.117"},
            timeout=5,
        )
        assert answer.status_code == 202 and "x-plausible-dropped" not in answer.headers
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=60)
    assert code in (0, -signal.SIGTERM), log.read_text()[-3000:]
    # Nothing but DATA_DIR was written to, and what footfall keeps is there.
    assert (data / "footfall.db").exists() and (data / "events").is_dir()
    health_after = subprocess.run([entrypoint, "healthcheck"], env=env, capture_output=True, timeout=30)
    assert health_after.returncode == 1, "the health check must fail when footfall is down"
