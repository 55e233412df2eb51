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
        second = subprocess.run(
            [FOOTFALL, "migrate"],
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
