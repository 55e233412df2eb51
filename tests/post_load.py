"""A load of tracker posts against a real `footfall serve`, and what the store holds afterwards:
shared by the crash test (SIGKILL, tests/ingest) and the drain test (SIGTERM, tests/deploy)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from tests.ingest.conftest import CHROME_MAC
from tests.integration.test_serve import FOOTFALL

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


def embedded_env(data_dir: Path, port: int, **settings: str) -> dict[str, str]:
    """This process's environment for a server on embedded stores under `data_dir`, with
    `settings` and without the variables that would point it elsewhere."""
    env = {**os.environ, "DATA_DIR": str(data_dir), "HTTP_PORT": str(port), **settings}
    for name in ("DATABASE_URL", "CLICKHOUSE_DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    for name in ("FLUSH_BATCH_SIZE", "FLUSH_INTERVAL_MS"):
        if name not in settings:
            env.pop(name, None)
    return env


def set_up_site(env: dict[str, str], domain: str = "example.com") -> None:
    run([FOOTFALL, "migrate"], env)
    run([FOOTFALL, "site", "create", domain], env)


def serve(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [FOOTFALL, "serve"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


class PostLoad:
    """`workers` threads posting pageviews of `/<prefix>/<n>` (n unique) to the server until
    it stops taking connections or `stop()`; `acknowledged` holds each n answered 202,
    `refused` the status of every other answer."""

    def __init__(self, url: str, prefix: str, workers: int = 4, timeout: float = 10) -> None:
        self.url, self.prefix, self.timeout = url, prefix, timeout
        self.acknowledged: list[int] = []
        self.refused: list[int] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._post, args=(w,)) for w in range(workers)]
        for thread in self._threads:
            thread.start()

    def _post(self, worker: int) -> None:
        n = worker * 1_000_000
        with httpx.Client(timeout=self.timeout) as client:
            while not self._stop.is_set():
                n += 1
                body = {"n": "pageview", "u": f"https://example.com/{self.prefix}/{n}", "d": "example.com"}
                headers = {"User-Agent": CHROME_MAC, "X-Forwarded-For": f"85.214.{worker}.{n % 250}"}
                try:
                    response = client.post(f"{self.url}/api/event", content=json.dumps(body), headers=headers)
                except httpx.TransportError:
                    return  # the server has stopped taking connections
                with self._lock:
                    if response.status_code == 202:
                        self.acknowledged.append(n)
                    else:
                        self.refused.append(response.status_code)

    def wait_for(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acknowledged) < count and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def missing(self, stored: dict[str, Any]) -> list[int]:
        """The acknowledged posts the store does not hold exactly once."""
        paths = stored["paths"]
        return [n for n in self.acknowledged if paths.get(f"/{self.prefix}/{n}") != 1]


def stored_events(data_dir: Path) -> dict[str, Any]:
    """Events per path and each visit's sum of signs, read by a process of its own (chDB: one
    store per process)."""
    counted = subprocess.run(
        [sys.executable, "-c", COUNT_SCRIPT, str(data_dir / "events")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(counted.stdout)
