"""A `footfall serve` killed with SIGKILL under load loses no acknowledged event, and stores none twice."""

from __future__ import annotations

import signal
from pathlib import Path

from tests.integration.test_serve import free_port, wait_for
from tests.post_load import PostLoad, embedded_env, serve, set_up_site, stored_events


def test_sigkill_during_a_load_of_posts_loses_no_acknowledged_event(tmp_path: Path) -> None:
    port = free_port()
    env = embedded_env(tmp_path, port, FLUSH_INTERVAL_MS="20", FLUSH_BATCH_SIZE="50", WAL_SYNC="group")
    set_up_site(env)
    server = serve(env)
    url = f"http://127.0.0.1:{port}"
    wait_for(f"{url}/api/health")
    load = PostLoad(url, "crash", timeout=5)
    load.wait_for(1500, timeout=600)
    server.send_signal(signal.SIGKILL)
    server.wait(timeout=30)
    load.stop()

    restarted = serve(env)
    try:
        wait_for(f"{url}/api/health")
    finally:
        restarted.send_signal(signal.SIGTERM)
        assert restarted.wait(timeout=60) in (0, -signal.SIGTERM)  # uvicorn re-raises the signal

    stored = stored_events(tmp_path)
    assert load.missing(stored) == []
    assert {count for count in stored["paths"].values()} == {1}, "an event was stored twice"
    assert set(stored["signs"]) == {1}, "a visit's cancel and state rows do not pair up"
    assert not list((tmp_path / "wal").glob("*.tmp"))
