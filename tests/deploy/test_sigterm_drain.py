"""What Kubernetes does to a pod it stops: SIGTERM, then SIGKILL after
terminationGracePeriodSeconds. `footfall serve` taking a load of posts gets SIGTERM and,
within the manifests' grace period, answers what it accepted, flushes its write-ahead log to
the event store and exits: every acknowledged event is in the store, once, and the log on
the volume holds nothing a restart would have to replay."""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

import pytest
import yaml

from footfall.ingest.buffer import WriteAheadBuffer
from tests.deploy.manifests import KUBERNETES
from tests.integration.test_serve import free_port, wait_for
from tests.post_load import PostLoad, embedded_env, serve, set_up_site, stored_events

pytestmark = pytest.mark.slow


def _grace_period() -> int:
    workload = yaml.safe_load((KUBERNETES / "base" / "statefulset.yaml").read_text())
    return workload["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]


def test_sigterm_during_a_load_of_posts_stores_every_acknowledged_event(tmp_path: Path) -> None:
    port = free_port()
    # The defaults a pod runs with: events wait up to 5 s in the log before an insert, so at
    # SIGTERM seconds of acknowledged events exist only in the write-ahead log.
    env = embedded_env(tmp_path, port, FLUSH_INTERVAL_MS="5000", WAL_SYNC="group")
    set_up_site(env)
    server = serve(env)
    url = f"http://127.0.0.1:{port}"
    wait_for(f"{url}/api/health")
    load = PostLoad(url, "drain")
    load.wait_for(2000, timeout=60)
    server.send_signal(signal.SIGTERM)
    try:
        # Kubernetes would SIGKILL it after the grace period.
        code = server.wait(timeout=_grace_period())
    finally:
        load.stop()
        if server.poll() is None:
            server.kill()
    assert code in (0, -signal.SIGTERM)  # uvicorn re-raises the signal
    assert len(load.acknowledged) >= 2000
    # A post that reaches a stopping server may be refused with 503 (the tracker's next post
    # goes to another replica), never accepted and lost, never another error.
    assert set(load.refused) <= {503}, load.refused

    # The log on the volume: nothing left to replay (a copy is opened, as a restart would).
    copy = tmp_path / "wal-copy"
    shutil.copytree(tmp_path / "wal", copy)
    assert WriteAheadBuffer(None, copy).open() == 0  # type: ignore[arg-type]

    stored = stored_events(tmp_path)
    missing = load.missing(stored)
    assert missing == [], f"{len(missing)} of {len(load.acknowledged)} acknowledged events are not stored"
    assert set(stored["paths"].values()) == {1}, "an event was stored twice"
