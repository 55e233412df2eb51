"""`footfall serve` as a process: health, and the one-process rule of the embedded store."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

FOOTFALL = str(Path(sys.executable).parent / "footfall")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, timeout: float = 60) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_serve_answers_health_and_a_second_process_gets_one_line(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "DATA_DIR": str(tmp_path), "HTTP_PORT": str(port)}
    env.pop("DATABASE_URL", None)
    env.pop("CLICKHOUSE_DATABASE_URL", None)
    server = subprocess.Popen(
        [FOOTFALL, "serve"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        response = wait_for(f"http://127.0.0.1:{port}/api/health")
        assert response.status_code == 200
        assert response.json() == {
            "status": "ok",
            "metadata": {"status": "ok", "backend": "sqlite"},
            "events": {"status": "ok", "backend": "chdb"},
        }
        # `migrate` goes through the running server's admin channel and says so.
        migrated = subprocess.run(
            [FOOTFALL, "migrate"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert migrated.returncode == 0, migrated.stderr
        assert (
            migrated.stderr.strip() == f"footfall: status: through the running server ({tmp_path}/admin.sock)"
        )
        assert "metadata (sqlite) at revision" in migrated.stdout
        # A second server cannot open the embedded store, and says so in one line.
        second = subprocess.run(
            [FOOTFALL, "serve", "--port", str(free_port())],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert second.returncode == 1
        assert second.stderr.strip().splitlines() == [
            f"footfall: error: the embedded event store {tmp_path / 'events'} is open in another "
            "footfall process (is `footfall serve` running?); stop that process first, or run "
            "this command through it"
        ]
        # Metadata-only commands work while the server holds the event store.
        created = subprocess.run(
            [FOOTFALL, "site", "create", "live.example.com"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert created.returncode == 0, created.stderr
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_health_is_503_when_a_store_does_not_answer(make_settings) -> None:
    from starlette.testclient import TestClient

    from footfall.app import create_app
    from footfall.services import open_metadata

    settings = make_settings()
    services = open_metadata(settings)  # no event store opened
    with TestClient(create_app(settings, services)) as client:
        response = client.get("/api/health")
    assert response.status_code == 503
    assert response.json()["events"]["status"] == "error"
    assert response.json()["metadata"] == {"status": "ok", "backend": "sqlite"}
    services.close()


def _serve_fails(env: dict[str, str], *args: str) -> list[str]:
    """Run `footfall serve` expecting it to refuse at once; its stderr lines."""
    done = subprocess.run(
        [FOOTFALL, "serve", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 1, done.stderr
    return done.stderr.strip().splitlines()


def test_serve_says_in_one_line_why_it_cannot_listen(tmp_path: Path) -> None:
    env = {**os.environ, "DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    env.pop("CLICKHOUSE_DATABASE_URL", None)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert _serve_fails(env, "--port", str(port)) == [
            f"footfall: error: cannot listen on 127.0.0.1:{port}: address already in use"
        ]
    assert _serve_fails(env, "--port", "70000") == [
        "footfall: error: cannot listen on port 70000: a port is 1-65535"
    ]
    [line] = _serve_fails(env, "--host", "not a host")
    assert line.startswith(
        "footfall: error: cannot listen on 'not a host': not an address or a known host name"
    )
    # The refused serve left nothing behind: the next command opens the embedded store.
    migrated = subprocess.run(
        [FOOTFALL, "migrate"], env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL
    )
    assert migrated.returncode == 0, migrated.stderr


def test_an_unreachable_clickhouse_server_is_one_line(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path),
        "CLICKHOUSE_DATABASE_URL": f"http://127.0.0.1:{port}/footfall",
    }
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [FOOTFALL, "migrate"], env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"footfall: status: no server answers on {tmp_path}/admin.sock; opening the stores directly",
        f"footfall: error: cannot reach ClickHouse at 127.0.0.1:{port}: connection refused",
    ]
