"""`EventProtocol`: `/api/event` answered straight from uvicorn's HTTP parser, on a real
uvicorn server over real sockets, with everything else (and the requests the fast path
leaves alone) still going through ASGI in order."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn

from footfall.app import create_app
from footfall.meta.db import make_engine, make_sessionmaker, migrate, session_scope
from footfall.services import Services
from footfall.sites.sites import create_site
from footfall.web.event_protocol import EventProtocol, event_protocol
from tests.ingest.conftest import CHROME_MAC
from tests.integration.test_serve import free_port

PAGEVIEW = {
    "n": "pageview",
    "u": "https://example.com/pricing",
    "d": "example.com",
    "r": "https://www.google.com/",
}


@dataclass
class Running:
    port: int
    services: Services
    app: object
    fast: list[int]  # statuses the fast path answered

    def stored(self, sql: str) -> list[tuple]:
        assert self.app.state.ingestion.buffer.flush(timeout=30)
        return self.services.events.query(sql).rows

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)


def request(body: bytes | str, *, version: str = "1.1", extra: str = "", path: str = "/api/event") -> bytes:
    data = body.encode() if isinstance(body, str) else body
    return (
        f"POST {path} HTTP/{version}\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
        f"User-Agent: {CHROME_MAC}\r\nX-Forwarded-For: 85.214.132.117\r\n{extra}"
        f"Content-Length: {len(data)}\r\n\r\n"
    ).encode() + data


def read_responses(sock: socket.socket, count: int) -> list[tuple[int, dict[str, str], bytes]]:
    """`count` whole HTTP/1.1 responses (content-length framed) from `sock`."""
    data = b""
    answers = []
    while len(answers) < count:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                raise AssertionError(f"connection closed after {len(answers)} responses: {data!r}")
            data += chunk
        head, _, data = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(data) < length:
            data += sock.recv(65536)
        answers.append((status, headers, data[:length]))
        data = data[length:]
    return answers


def closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


@pytest.fixture(params=["group", "none"])
def running(request, make_settings, sqlite_url, event_store) -> Iterator[Running]:
    yield from serve(make_settings, sqlite_url, event_store, WAL_SYNC=request.param)


@pytest.fixture
def running_with_redis(make_settings, sqlite_url, event_store, redis_url) -> Iterator[Running]:
    """The session cache in Redis (REDIS_URL): the pipeline runs on the executor's threads."""
    yield from serve(make_settings, sqlite_url, event_store, WAL_SYNC="group", REDIS_URL=redis_url)


def serve(make_settings, sqlite_url: str, event_store, **env: str) -> Iterator[Running]:
    settings = make_settings(DATABASE_URL=sqlite_url, MAX_BODY_BYTES="4096", FLUSH_INTERVAL_MS="50", **env)
    engine = make_engine(sqlite_url)
    migrate(engine)
    services = Services(
        settings=settings, engine=engine, sessions=make_sessionmaker(engine), events=event_store
    )
    with session_scope(services.sessions) as db:
        create_site(db, "example.com")
    app = create_app(settings, services)
    fast: list[int] = []

    class Recording(event_protocol(app)):  # the real protocol, noting what it answered itself
        def _answer(self, cycle, reply) -> None:
            if not cycle.response_complete:
                fast.append(reply.status)
            super()._answer(cycle, reply)

    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http=Recording,
        log_level="warning",
        proxy_headers=False,
        server_header=False,
        access_log=False,  # as `footfall serve` below LOG_LEVEL=debug
        timeout_keep_alive=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="test-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield Running(port, services, app, fast)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        engine.dispose()


def test_an_event_is_answered_by_the_fast_path_and_stored_with_its_visit(running: Running) -> None:
    with running.connect() as sock:
        sock.sendall(request(json.dumps(PAGEVIEW)))
        [(status, headers, body)] = read_responses(sock, 1)
    assert (status, body) == (202, b"ok")
    assert headers["access-control-allow-origin"] == "*"
    assert "x-plausible-dropped" not in headers
    assert "date" in headers
    assert running.fast == [202]
    rows = running.stored("SELECT pathname, referrer_source, channel, browser FROM {db}.events")
    assert rows == [("/pricing", "Google", "Organic Search", "Chrome")]
    visits = running.stored("SELECT entry_page, country_code FROM {db}.sessions WHERE sign = 1")
    assert visits == [("/pricing", "DE")]


def test_with_the_session_cache_in_redis_a_visit_is_answered_by_the_fast_path(
    running_with_redis: Running,
) -> None:
    """REDIS_URL: the pipeline runs on the executor's threads and the fast path answers once
    they are done; requests pipelined behind one it is still answering are answered in order
    (those behind the ASGI request go through ASGI); the visit is kept in Redis."""
    running = running_with_redis
    assert running.app.state.ingestion.executor is not None
    engagement = {**PAGEVIEW, "n": "engagement", "sd": 40, "e": 12_000}
    second = {**PAGEVIEW, "u": "https://example.com/docs", "r": "https://example.com/pricing"}
    with running.connect() as sock:
        for body in (PAGEVIEW, engagement):
            sock.sendall(request(json.dumps(body)))
            assert read_responses(sock, 1)[0][0] == 202
        # Pipelined: sent before the first is answered, answered in order across both paths.
        sock.sendall(
            request(json.dumps(second))
            + b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
            + request(b"{not json")
            + request(json.dumps({"n": "pageview", "u": "https://other.net/", "d": "other.net"}))
        )
        answers = read_responses(sock, 4)
    assert [status for status, _, _ in answers] == [202, 200, 400, 202]
    assert answers[3][1]["x-plausible-dropped"] == "1"
    assert running.fast == [202, 202, 202]  # the pageviews and the engagement
    events = running.stored("SELECT name, pathname FROM {db}.events ORDER BY timestamp, name DESC")
    assert sorted(events) == [("engagement", "/pricing"), ("pageview", "/docs"), ("pageview", "/pricing")]
    visits = running.stored(
        "SELECT argMax(entry_page, version), argMax(exit_page, version), sum(sign * pageviews) "
        "FROM {db}.sessions GROUP BY session_id HAVING sum(sign) > 0"
    )
    assert visits == [("/pricing", "/docs", 2)]


def test_keep_alive_connection_serves_many_events_and_the_errors_in_between(running: Running) -> None:
    unknown = {"n": "pageview", "u": "https://other.net/", "d": "other.net"}
    with running.connect() as sock:
        for body in (PAGEVIEW, unknown, {"n": "pageview"}, PAGEVIEW):
            sock.sendall(request(json.dumps(body)))
            read = read_responses(sock, 1)[0]
            if body is unknown:
                assert read[:1] == (202,) and read[1]["x-plausible-dropped"] == "1"
            elif body == {"n": "pageview"}:
                assert read[0] == 400
                assert set(json.loads(read[2])["errors"]) == {"url", "domain"}
    assert running.fast == [202, 202, 400, 202]
    assert running.stored("SELECT count() FROM {db}.events") == [(2,)]


def test_pipelined_requests_are_answered_in_order_across_both_paths(running: Running) -> None:
    """A request sent before the previous one was answered waits for it, whichever path
    answers it (the health check goes through ASGI, the events may go either way)."""
    batch = (
        request(json.dumps(PAGEVIEW))
        + b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        + request(json.dumps({"n": "pageview", "u": "https://example.com/b", "d": "example.com"}))
        + request(b"{not json")
    )
    with running.connect() as sock:
        sock.sendall(batch)
        answers = read_responses(sock, 4)
    assert [status for status, _, _ in answers] == [202, 200, 202, 400]
    assert json.loads(answers[1][2])["status"] in {"ok", "degraded"}
    assert running.stored("SELECT pathname FROM {db}.events ORDER BY pathname") == [("/b",), ("/pricing",)]


@pytest.mark.parametrize("extra", ["", "Connection: keep-alive\r\n"], ids=["plain", "keep-alive-asked"])
def test_http_1_0_gets_its_answer_and_the_connection_closed(running: Running, extra: str) -> None:
    """As uvicorn does, even when the client asks to keep an HTTP/1.0 connection."""
    with running.connect() as sock:
        sock.sendall(request(json.dumps(PAGEVIEW), version="1.0", extra=extra))
        [(status, headers, _)] = read_responses(sock, 1)
        assert status == 202 and headers["connection"] == "close"
        assert closed(sock)
    assert running.fast == [202]


def test_http_1_1_asking_to_close_gets_its_answer_and_the_connection_closed(running: Running) -> None:
    with running.connect() as sock:
        sock.sendall(request(json.dumps(PAGEVIEW), extra="Connection: close\r\n"))
        [(status, headers, _)] = read_responses(sock, 1)
        assert status == 202 and headers["connection"] == "close"
        assert closed(sock)
    assert running.fast == [202]


def test_too_large_bodies_get_413_and_the_connection_goes_on(running: Running) -> None:
    big = json.dumps({**PAGEVIEW, "p": {"k": "v" * 5000}})
    chunked_head = (
        f"POST /api/event HTTP/1.1\r\nHost: x\r\nUser-Agent: {CHROME_MAC}\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()
    chunks = b"".join(
        b"%x\r\n%s\r\n" % (len(part), part) for part in (big[:3000].encode(), big[3000:].encode())
    )
    with running.connect() as sock:
        sock.sendall(request(big))  # declared too large
        sock.sendall(chunked_head + chunks + b"0\r\n\r\n")  # found too large as it arrives
        sock.sendall(request(json.dumps(PAGEVIEW)))
        answers = read_responses(sock, 3)
    assert [status for status, _, _ in answers] == [413, 413, 202]
    assert json.loads(answers[0][2]) == {"errors": {"request": ["body is larger than 4096 bytes"]}}
    assert running.stored("SELECT count() FROM {db}.events") == [(1,)]


def test_a_chunked_body_is_put_together(running: Running) -> None:
    body = json.dumps(PAGEVIEW).encode()
    head = (
        f"POST /api/event HTTP/1.1\r\nHost: x\r\nUser-Agent: {CHROME_MAC}\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()
    with running.connect() as sock:
        sock.sendall(head + b"%x\r\n%s\r\n" % (10, body[:10]))
        time.sleep(0.05)  # the rest in another packet
        sock.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body) - 10, body[10:]))
        [(status, _, _)] = read_responses(sock, 1)
    assert status == 202 and running.fast == [202]
    assert running.stored("SELECT pathname FROM {db}.events") == [("/pricing",)]


def test_requests_the_fast_path_leaves_alone_still_work(running: Running) -> None:
    """Expect: 100-continue, OPTIONS and GET go through ASGI, with the same answers."""
    with running.connect() as sock:
        sock.sendall(request(json.dumps(PAGEVIEW), extra="Expect: 100-continue\r\n"))
        answers = read_responses(sock, 2)
        assert [status for status, _, _ in answers] == [100, 202]
        sock.sendall(b"OPTIONS /api/event HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.sendall(b"GET /api/event HTTP/1.1\r\nHost: x\r\n\r\n")
        (preflight, _, _), (get, headers, _) = read_responses(sock, 2)
    assert (preflight, get, headers["allow"]) == (204, 405, "POST, OPTIONS")
    assert running.fast == []
    assert running.stored("SELECT count() FROM {db}.events") == [(1,)]


def test_a_client_that_goes_away_before_its_answer_costs_nothing_else(running: Running) -> None:
    for _ in range(20):
        sock = running.connect()
        sock.sendall(request(json.dumps(PAGEVIEW)))
        sock.close()
    with running.connect() as sock:
        sock.sendall(request(json.dumps(PAGEVIEW)))
        [(status, _, _)] = read_responses(sock, 1)
    assert status == 202
    # Each event got to the log before its answer was due, connection or not.
    deadline = time.monotonic() + 10
    while len(running.fast) < 21 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert running.stored("SELECT count() FROM {db}.events") == [(len(running.fast),)]


def test_event_protocol_finds_footfall_behind_wrapping_middleware(
    make_settings, sqlite_url, event_store
) -> None:
    settings = make_settings(DATABASE_URL=sqlite_url)
    engine = make_engine(sqlite_url)
    services = Services(
        settings=settings, engine=engine, sessions=make_sessionmaker(engine), events=event_store
    )
    app = create_app(settings, services)

    class Wrapper:
        def __init__(self, app) -> None:
            self.app = app

    assert event_protocol(Wrapper(Wrapper(app))).footfall_app is app
    assert issubclass(event_protocol(app), EventProtocol)
    assert event_protocol(object()).footfall_app is None
    engine.dispose()


def test_an_idle_connection_is_closed_after_the_keep_alive_timeout_and_a_busy_one_is_not(
    running: Running,
) -> None:
    """One keep-alive timer per idle spell (EventProtocol) keeps uvicorn's rule: a connection
    idle for `timeout_keep_alive` (1 s here) is closed, one that keeps asking is not."""
    with running.connect() as busy:
        for _ in range(6):  # 2.4 s in all, never 1 s idle
            busy.sendall(request(json.dumps(PAGEVIEW)))
            assert read_responses(busy, 1)[0][0] == 202
            time.sleep(0.4)
        busy.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")  # and through ASGI
        assert read_responses(busy, 1)[0][0] == 200
        time.sleep(1.8)
        assert closed(busy)
    with running.connect() as idle:
        idle.sendall(request(json.dumps(PAGEVIEW)))
        assert read_responses(idle, 1)[0][0] == 202
        time.sleep(1.8)
        assert closed(idle)


def test_no_body_or_header_gives_the_fast_path_a_server_error(running: Running) -> None:
    """The property test of test_ingest_property.py, through the path `footfall serve` takes
    for tracker posts: raw HTTP on one keep-alive connection to the real uvicorn server."""
    from hypothesis import HealthCheck, given, settings

    from tests.ingest.test_ingest_property import bodies, headers

    sock = running.connect()
    last_answer = time.monotonic()
    answered_before = len(running.fast)
    sent = 0

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=bodies, extra=headers)
    def check(body: str | bytes, extra: dict[str, str]) -> None:
        nonlocal sent, sock, last_answer
        data = body.encode() if isinstance(body, str) else body
        lines = "".join(f"{name}: {value.strip()}\r\n" for name, value in extra.items())
        head = f"POST /api/event HTTP/1.1\r\nHost: 127.0.0.1\r\n{lines}Content-Length: {len(data)}\r\n\r\n"
        if time.monotonic() - last_answer > 0.5:
            # Generating an example can take longer than the server's 1 s keep-alive on a
            # loaded machine, and the server rightly closes an idle connection: start afresh
            # so a close can only come from the request itself.
            sock.close()
            sock = running.connect()
        sock.sendall(head.encode() + data)
        [(status, answer_headers, text)] = read_responses(sock, 1)
        last_answer = time.monotonic()
        sent += 1
        assert status in (202, 400, 413), text
        assert answer_headers["access-control-allow-origin"] == "*"

    try:
        check()
    finally:
        sock.close()
    assert len(running.fast) - answered_before == sent  # every one answered by the fast path
    assert running.app.state.ingestion.buffer.flush(timeout=60), "an accepted event could not be stored"
