"""The admin channel: DATA_DIR/admin.sock, served by the running server, used by the CLI."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from footfall.ops import admin
from footfall.ops.admin import AdminError, AdminServer, Job, admin_command, call
from tests.e2e.harness import FOOTFALL, FootfallServer
from tests.ingest.conftest import Server

RELEASE = threading.Event()
STARTED = threading.Event()


@admin_command("test.slow")
def _slow(job: Job, args: dict) -> dict:
    STARTED.set()
    for step in range(3):
        job.progress(step + 1, 3, "waiting")
    RELEASE.wait(30)
    return {"done": True}


@admin_command("test.crash")
def _crash(job: Job, args: dict) -> dict:
    raise ZeroDivisionError("division by zero")


@admin_command("test.refuse", exclusive=False)
def _refuse(job: Job, args: dict) -> dict:
    raise AdminError("nothing to back up yet")


@pytest.fixture
def channel(services):
    server = AdminServer(services, lambda: None)
    assert server.start()
    yield server
    RELEASE.set()
    server.stop()
    RELEASE.clear()
    STARTED.clear()


def test_the_socket_is_in_data_dir_with_mode_0600_and_gone_after_stop(services) -> None:
    server = AdminServer(services, lambda: None)
    assert server.start()
    path = services.settings.data_dir / "admin.sock"
    mode = path.stat().st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
    assert [p.name for p in path.parent.glob(".admin-*")] == []  # no temporary name left
    server.stop()
    assert not path.exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to try the socket as another user")
def test_another_user_cannot_connect(channel) -> None:
    probe = (
        "import os, socket, sys\n"
        "os.setgid(65534); os.setuid(65534)\n"
        "s = socket.socket(socket.AF_UNIX)\n"
        "try:\n    s.connect(sys.argv[1])\nexcept PermissionError:\n    print('refused')\n"
        "else:\n    print('connected')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(channel.path)], capture_output=True, text=True, timeout=30
    )
    assert result.stdout.strip() == "refused", result.stderr


def test_a_failing_command_is_an_error_answer_and_the_channel_keeps_serving(channel) -> None:
    with pytest.raises(AdminError, match=r"^test\.crash failed: division by zero$"):
        call(channel.path, "test.crash")
    with pytest.raises(AdminError, match=r"^nothing to back up yet$"):
        call(channel.path, "test.refuse")
    with pytest.raises(AdminError, match=r"unknown admin command 'nope' \(this server knows: .*status"):
        call(channel.path, "nope")
    assert call(channel.path, "status")["via"] == "server"


def test_one_long_job_at_a_time_the_second_is_told_which_runs(channel) -> None:
    outcome: dict = {}
    seen: list = []

    def first() -> None:
        outcome["first"] = call(channel.path, "test.slow", progress=lambda *p: seen.append(p))

    runner = threading.Thread(target=first)
    runner.start()
    assert STARTED.wait(10)
    with pytest.raises(
        AdminError, match=r"^busy: test\.slow has been running for \d+ s; try again after it$"
    ):
        call(channel.path, "test.slow")
    assert call(channel.path, "status")["version"]  # short commands still answer
    RELEASE.set()
    runner.join(10)
    assert outcome["first"] == {"done": True}
    assert seen == [(1, 3, "waiting"), (2, 3, "waiting"), (3, 3, "waiting")]


def test_the_web_loop_answers_events_while_a_long_job_runs(services) -> None:
    with Server(services) as server:
        path = services.settings.data_dir / "admin.sock"
        runner = threading.Thread(target=lambda: call(path, "test.slow"))
        runner.start()
        try:
            assert STARTED.wait(10)
            body = {"n": "pageview", "u": "https://example.com/during", "d": "example.com"}
            assert server.post(body).status_code == 202
            assert server.request("GET", "/api/health/ready").status_code == 200
            assert call(path, "flush")["events"] == 1
        finally:
            RELEASE.set()
            runner.join(10)
            RELEASE.clear()
            STARTED.clear()


def test_no_server_means_no_channel() -> None:
    with pytest.raises(admin.ChannelUnavailable):
        call(Path("/nonexistent/admin.sock"), "status")


def run_cli(server: FootfallServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FOOTFALL, *args],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.slow
def test_the_cli_goes_through_the_running_server_and_says_so_else_opens_the_stores(tmp_path: Path) -> None:
    server = FootfallServer(tmp_path / "data")
    server.start()
    try:
        through = run_cli(server, "admin", "status")
        assert through.returncode == 0, through.stderr
        assert (
            through.stderr.strip()
            == f"footfall: status: through the running server ({server.data_dir}/admin.sock)"
        )
        assert f"(server, pid {server._process.pid})" in through.stdout
        stale = server.data_dir / "admin.sock"
        assert stat.S_IMODE(stale.stat().st_mode) == 0o600
    finally:
        server.stop()
    direct = run_cli(server, "admin", "status")
    assert direct.returncode == 0, direct.stderr
    assert direct.stderr.strip() == (
        f"footfall: status: no server answers on {server.data_dir}/admin.sock; opening the stores directly"
    )
    assert "(direct, pid " in direct.stdout
    # A socket file left by a killed server is no server: the CLI opens the stores itself, and the
    # next `footfall serve` replaces the file.
    server.start()
    server._process.kill()
    server._process.wait()
    time.sleep(0.1)
    assert (server.data_dir / "admin.sock").exists()
    after_kill = run_cli(server, "admin", "status")
    assert after_kill.returncode == 0, after_kill.stderr
    assert "opening the stores directly" in after_kill.stderr
    server._process = None
    server.start()
    try:
        again = run_cli(server, "admin", "status")
        assert "through the running server" in again.stderr, again.stderr
    finally:
        server.stop()
