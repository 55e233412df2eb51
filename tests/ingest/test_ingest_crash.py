"""A `footfall serve` killed with SIGKILL under load loses no acknowledged event, and stores none twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.ingest.conftest import CHROME_MAC
from tests.integration.test_serve import FOOTFALL, free_port, wait_for

COUNT_SCRIPT = """
import json, sys
from footfall.events.chdb_store import ChdbStore
store = ChdbStore(sys.argv[1])
paths = store.query("SELECT pathname, count() FROM {db}.events GROUP BY pathname").rows
signs = store.query("SELECT session_id, sum(sign) FROM {db}.sessions GROUP BY session_id").rows
print(json.dumps({"paths": {p: n for p, n in paths}, "signs": [s for _, s in signs]}))
"""


def run(args: list[str], env: dict) -> None:
    done = subprocess.run(
        args, env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 0, done.stderr


def start(env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [FOOTFALL, "serve"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_sigkill_during_a_load_of_posts_loses_no_acknowledged_event(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path),
        "HTTP_PORT": str(port),
        "FLUSH_INTERVAL_MS": "20",
        "FLUSH_BATCH_SIZE": "50",
        "WAL_SYNC": "group",
    }
    for name in ("DATABASE_URL", "CLICKHOUSE_DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    run([FOOTFALL, "migrate"], env)
    run([FOOTFALL, "site", "create", "example.com"], env)

    server = start(env)
    url = f"http://127.0.0.1:{port}"
    wait_for(f"{url}/api/health")
    acknowledged: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()

    def post(worker: int) -> None:
        n = worker * 1_000_000
        with httpx.Client(timeout=5) as client:
            while not stop.is_set():
                n += 1
                body = {"n": "pageview", "u": f"https://example.com/crash/{n}", "d": "example.com"}
                headers = {"User-Agent": CHROME_MAC, "X-Forwarded-For": f"85.214.{worker}.{n % 250}"}
                try:
                    response = client.post(f"{url}/api/event", content=json.dumps(body), headers=headers)
                except httpx.TransportError:
                    return
                if response.status_code == 202:
                    with lock:
                        acknowledged.append(n)

    workers = [threading.Thread(target=post, args=(w,)) for w in range(4)]
    for worker in workers:
        worker.start()
    while len(acknowledged) < 1500:
        time.sleep(0.05)
    server.send_signal(signal.SIGKILL)
    server.wait(timeout=30)
    stop.set()
    for worker in workers:
        worker.join(timeout=30)

    restarted = start(env)
    try:
        wait_for(f"{url}/api/health")
    finally:
        restarted.send_signal(signal.SIGTERM)
        assert restarted.wait(timeout=60) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal

    counted = subprocess.run(
        [sys.executable, "-c", COUNT_SCRIPT, str(tmp_path / "events")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    stored = json.loads(counted.stdout)
    paths: dict[str, int] = stored["paths"]
    missing = [n for n in acknowledged if paths.get(f"/crash/{n}") != 1]
    assert missing == []
    assert {count for count in paths.values()} == {1}, "an event was stored twice"
    assert set(stored["signs"]) == {1}, "a visit's cancel and state rows do not pair up"
    assert not list((tmp_path / "wal").glob("*.tmp"))
