"""CPU per request of the `/api/event` fast path in-process, by thread: what `footfall serve`'s
web loop and its write-ahead log's syncer spend on one tracker post, without sockets or wrk.

`footfall.web.event_protocol.EventProtocol` (the class `footfall serve` gives uvicorn) is fed
whole HTTP requests of an events.lua mix (`--mix visits`, the default, or `new-visits`; the
bodies, user agents and forwarded addresses of `bench.ingest.per_event`) through `data_received`,
on uvloop, over `--connections` stand-in transports that keep each answer. The write-ahead log
is real (`--wal-sync group`, the default: the syncer thread writes and `fdatasync`s on a
temporary directory and settles the answers through the loop, as in the server); nothing is
flushed to an event store. Printed: requests per second of wall time, and CPU µs per request
of the loop's thread (`time.thread_time`) and of the syncer (its `/proc` CPU clock), best of
`--rounds`. The kernel's socket work (a read and a write per request) and wrk's share of
the machine are not in these figures; `bench/ingest/loop_cpu.sh` measures the whole server.

    python -m bench.ingest.fast_path                          # 30,000 requests, best of 3
    python -m bench.ingest.fast_path --mix new-visits --requests 60000
    python -m bench.ingest.fast_path --profile                # cProfile of the loop's thread

Thread CPU clocks count only the time a thread runs, so these figures move less than wall
time on a shared machine, but they still move (caches, the other core's load): compare runs
taken back to back.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import tempfile
import threading
import time
from email.utils import formatdate
from pathlib import Path
from typing import Any

import uvicorn
import uvloop
from bench.ingest.per_event import bodies
from uvicorn.server import ServerState

from footfall.config import load_settings
from footfall.ingest.buffer import WriteAheadBuffer
from footfall.ingest.ingestion import Ingestion
from footfall.meta.db import make_engine, make_sessionmaker, migrate, session_scope
from footfall.services import Services
from footfall.sites.sites import create_site
from footfall.web.event import EventFirstStarlette
from footfall.web.event_protocol import event_protocol

_TICKS = os.sysconf("SC_CLK_TCK")


class Answered:
    """Counts answers; wakes the sender once a batch of them is in."""

    def __init__(self) -> None:
        self.count = 0
        self.target = 0
        self.waiter: asyncio.Future[None] | None = None

    def one(self) -> None:
        self.count += 1
        if self.count >= self.target and self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)


class Transport:
    """Stands in for uvloop's TCP transport: keeps what is written, counts the answers."""

    def __init__(self, answered: Answered, port: int) -> None:
        self.answered = answered
        self.extra = {"peername": ("127.0.0.1", port), "sockname": ("127.0.0.1", 8000)}
        self.closing = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.extra.get(name, default)

    def write(self, data: bytes) -> None:
        if not data.startswith(b"HTTP/1.1 202"):
            raise AssertionError(f"not accepted: {data[:200]!r}")
        self.answered.one()

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def raw_requests(count: int, mix: str, seed: int) -> list[bytes]:
    """Whole HTTP/1.1 requests as wrk sends them (events.lua's headers)."""
    import random

    made = []
    for ua, ip, body in bodies(count, random.Random(seed), mix):
        made.append(
            (
                f"POST /api/event HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nContent-Type: text/plain\r\n"
                f"User-Agent: {ua}\r\nX-Forwarded-For: {ip}\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body
        )
    return made


def thread_cpu(native_id: int | None) -> tuple[float, float]:
    """Seconds of CPU (user, system) a thread of this process has used."""
    if native_id is None:
        return 0.0, 0.0
    with open(f"/proc/self/task/{native_id}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / _TICKS, int(fields[12]) / _TICKS


async def drive(protocol_class: type, config: uvicorn.Config, made: list[bytes], connections: int) -> float:
    """Send `made` over `connections` protocols, each one request at a time (as wrk's
    connections do); the seconds of wall time it took."""
    loop = asyncio.get_running_loop()
    state = ServerState()
    state.default_headers = [(b"date", formatdate(usegmt=True).encode())]
    answered = Answered()
    protocols = []
    for number in range(connections):
        protocol = protocol_class(config=config, server_state=state, app_state={}, _loop=loop)
        protocol.connection_made(Transport(answered, 40_000 + number))
        protocols.append(protocol)
    started = time.perf_counter()
    sent = 0
    while sent < len(made):
        batch = made[sent : sent + connections]
        answered.target = answered.count + len(batch)
        answered.waiter = loop.create_future()
        for protocol, data in zip(protocols, batch, strict=False):
            protocol.data_received(data)
        sent += len(batch)
        if answered.count < answered.target:  # the syncer settles them through the loop
            await answered.waiter
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=30_000)
    parser.add_argument("--mix", choices=("visits", "new-visits"), default="visits", help="events.lua's MIX")
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--wal-sync", choices=("group", "none"), default="group")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the loop's thread")
    args = parser.parse_args()

    directory = Path(tempfile.mkdtemp(prefix="footfall-bench-fast-path-"))
    settings = load_settings({"DATA_DIR": str(directory / "data"), "TRUSTED_PROXIES": "127.0.0.1/32"})
    engine = make_engine(settings.database_url)
    migrate(engine)
    services = Services(settings=settings, engine=engine, sessions=make_sessionmaker(engine))
    with session_scope(services.sessions) as db:
        create_site(db, "example.com")
    ingestion = Ingestion(services)
    ingestion.pipeline.shields.refresh()
    buffer = WriteAheadBuffer(None, directory / "wal", sync=args.wal_sync)  # type: ignore[arg-type]
    buffer.open()  # no flusher: the log keeps every record, nothing is inserted
    ingestion.buffer = buffer
    ingestion.rotate_salts()
    app = EventFirstStarlette()
    app.state.ingestion = ingestion
    protocol_class = event_protocol(app)
    config = uvicorn.Config(app, http=protocol_class, log_level="warning", access_log=False)
    config.load()

    uvloop.install()
    warm = raw_requests(5_000, args.mix, seed=7)
    asyncio.run(drive(protocol_class, config, warm, args.connections))  # caches warm, as a server's are
    made = raw_requests(args.requests, args.mix, seed=1)
    # The garbage collector as the server's lifespan leaves it (footfall.app): what exists at
    # start frozen, young collections every 7,000 net allocations.
    gc.collect()
    gc.freeze()
    gc.set_threshold(7_000, 20, 100)
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        asyncio.run(drive(protocol_class, config, made, args.connections))
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(40)
        return
    results = []
    for _ in range(args.rounds):
        syncer = buffer._syncer.native_id if buffer._syncer is not None else None
        loop_before, (user_before, system_before) = time.thread_time(), thread_cpu(syncer)
        wall = asyncio.run(drive(protocol_class, config, made, args.connections))
        loop_cpu = time.thread_time() - loop_before
        user, system = thread_cpu(syncer)
        results.append((loop_cpu, user - user_before, system - system_before, wall))
    loop_cpu, user, system, wall = min(results)
    per = 1e6 / len(made)
    print(
        f"{len(made) / wall:8,.0f} req/s  loop {loop_cpu * per:5.1f} µs/req  syncer "
        f"{(user + system) * per:5.1f} µs/req (user {user * per:.1f}, sys {system * per:.1f})  "
        f"(best of {args.rounds} rounds of {len(made):,}, events.lua {args.mix} mix, "
        f"WAL_SYNC={args.wal_sync}, {threading.active_count()} threads)"
    )


if __name__ == "__main__":
    main()
