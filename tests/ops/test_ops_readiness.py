"""GET /api/health/ready: 200 while this process would serve traffic, 503 naming why not."""

from footfall.events.store import EventStoreError
from tests.e2e.harness import wait_until
from tests.ingest.conftest import Server
from tests.ingest.test_ingest_buffer import FlakyStore

PAGEVIEW = {"n": "pageview", "u": "https://example.com/", "d": "example.com"}


class UnreachableStore(FlakyStore):
    def ping(self) -> None:
        if self.down:
            raise EventStoreError("cannot reach ClickHouse at 127.0.0.1:9: connection refused")
        self.store.ping()


def test_ready_when_both_stores_answer_and_the_log_has_room(services) -> None:
    with Server(services) as server:
        response = server.request("GET", "/api/health/ready")
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "ready"
        assert {name: check["status"] for name, check in body["checks"].items()} == {
            "metadata": "ok",
            "events": "ok",
            "write_ahead_log": "ok",
            "disk": "ok",
        }
        assert response.headers["cache-control"] == "no-store"


def test_not_ready_while_the_event_store_is_unreachable_and_ready_again_after(
    services_with, event_store
) -> None:
    from footfall.ingest.buffer import ensure_deduplication

    ensure_deduplication(event_store)
    store = UnreachableStore(event_store)
    services = services_with(events=store)
    with Server(services) as server:
        store.down = True
        response = server.request("GET", "/api/health/ready")
        assert response.status_code == 503
        assert response.headers["retry-after"] == "10"
        body = response.json()
        assert body["status"] == "not_ready"
        assert body["checks"]["events"] == {
            "status": "error",
            "error": "cannot reach ClickHouse at 127.0.0.1:9: connection refused",
        }
        # Liveness and readiness differ only in what they are for: /api/health says the same here.
        assert server.request("GET", "/api/health").status_code == 503
        store.down = False
        assert server.request("GET", "/api/health/ready").status_code == 200


def test_not_ready_once_the_write_ahead_log_is_over_its_limit(services_with, event_store) -> None:
    """The store refuses inserts: posts fill the log to WAL_MAX_BYTES; from then on posts get
    503 and so does readiness, until the store is back and the log drains."""
    from footfall.ingest.buffer import ensure_deduplication

    ensure_deduplication(event_store)
    flaky = FlakyStore(event_store)
    flaky.down = True
    services = services_with(events=flaky, WAL_MAX_BYTES=str(1024 * 1024), FLUSH_INTERVAL_MS="20")
    with Server(services) as server:
        accepted = 0
        while (
            server.post(
                {**PAGEVIEW, "u": f"https://example.com/{accepted}", "p": {"x": "y" * 800}}
            ).status_code
            == 202
        ):
            accepted += 1
            if accepted == 1:
                buffer = server.app.state.ingestion.buffer
                wait_until(lambda b=buffer: not b.store_available, "the flusher to find the store down")
                still = server.request("GET", "/api/health/ready")
                assert still.status_code == 200  # store down, log has room: still takes events
                assert "refuses writes" in still.json()["checks"]["write_ahead_log"]["note"]
        response = server.request("GET", "/api/health/ready")
        assert response.status_code == 503
        check = response.json()["checks"]["write_ahead_log"]
        assert check["status"] == "error"
        assert check["error"] == "the write-ahead log is over WAL_MAX_BYTES"
        assert check["pending_bytes"] >= check["max_bytes"] == 1024 * 1024
        flaky.down = False
        server.flush()
        assert server.request("GET", "/api/health/ready").status_code == 200
        assert event_store.query("SELECT count() FROM {db}.events").scalar() == accepted
