"""What Kubernetes does to a pod it stops: SIGTERM, then SIGKILL after
terminationGracePeriodSeconds. `footfall serve` taking a load of posts gets SIGTERM and,
within the manifests' grace period, answers what it accepted, flushes its write-ahead log to
the event store and exits: every acknowledged event is in the store, once, and the log on
the volume holds nothing a restart would have to replay."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import yaml

from footfall.ingest.buffer import WriteAheadBuffer
from tests.deploy.manifests import KUBERNETES
from tests.ingest.conftest import CHROME_MAC
from tests.ingest.test_ingest_crash import COUNT_SCRIPT, run
from tests.integration.test_serve import FOOTFALL, free_port, wait_for

pytestmark = pytest.mark.slow


def _grace_period() -> int:
    workload = yaml.safe_load((KUBERNETES / "base" / "statefulset.yaml").read_text())
    return workload["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]


def test_sigterm_during_a_load_of_posts_stores_every_acknowledged_event(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DATA_DIR": str(tmp_path),
        "HTTP_PORT": str(port),
        # The defaults a pod runs with: events wait up to 5 s in the log before an insert, so
        # at SIGTERM seconds of acknowledged events exist only in the write-ahead log.
        "FLUSH_INTERVAL_MS": "5000",
        "WAL_SYNC": "group",
    }
    for name in ("DATABASE_URL", "CLICKHOUSE_DATABASE_URL", "REDIS_URL", "FLUSH_BATCH_SIZE"):
        env.pop(name, None)
    run([FOOTFALL, "migrate"], env)
    run([FOOTFALL, "site", "create", "example.com"], env)

    server = subprocess.Popen(
        [FOOTFALL, "serve"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_for(f"{url}/api/health")
    acknowledged: list[int] = []
    refused: list[int] = []  # status codes of posts not accepted
    lock = threading.Lock()
    stop = threading.Event()

    def post(worker: int) -> None:
        n = worker * 1_000_000
        with httpx.Client(timeout=10) as client:
            while not stop.is_set():
                n += 1
                body = {"n": "pageview", "u": f"https://example.com/drain/{n}", "d": "example.com"}
                headers = {"User-Agent": CHROME_MAC, "X-Forwarded-For": f"85.214.{worker}.{n % 250}"}
                try:
                    response = client.post(f"{url}/api/event", content=json.dumps(body), headers=headers)
                except httpx.TransportError:
                    return  # the server has stopped taking connections
                with lock:
                    if response.status_code == 202:
                        acknowledged.append(n)
                    else:
                        refused.append(response.status_code)

    workers = [threading.Thread(target=post, args=(w,)) for w in range(4)]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + 60
    while len(acknowledged) < 2000 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.send_signal(signal.SIGTERM)
    try:
        # Kubernetes would SIGKILL it after the grace period.
        code = server.wait(timeout=_grace_period())
    finally:
        stop.set()
        for worker in workers:
            worker.join(timeout=30)
        if server.poll() is None:
            server.kill()
    assert code in (0, -signal.SIGTERM)  # uvicorn re-raises the signal
    assert len(acknowledged) >= 2000
    # A post that reaches a stopping server may be refused with 503 (the tracker's next post
    # goes to another replica), never accepted and lost, never another error.
    assert set(refused) <= {503}, refused

    # The log on the volume: nothing left to replay (a copy is opened, as a restart would).
    copy = tmp_path / "wal-copy"
    shutil.copytree(tmp_path / "wal", copy)
    assert WriteAheadBuffer(None, copy).open() == 0  # type: ignore[arg-type]

    counted = subprocess.run(
        [sys.executable, "-c", COUNT_SCRIPT, str(tmp_path / "events")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    paths: dict[str, int] = json.loads(counted.stdout)["paths"]
    missing = [n for n in acknowledged if paths.get(f"/drain/{n}") != 1]
    assert missing == [], f"{len(missing)} of {len(acknowledged)} acknowledged events are not stored"
    assert set(paths.values()) == {1}, "an event was stored twice"
