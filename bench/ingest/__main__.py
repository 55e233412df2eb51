"""Ingestion benchmark: `footfall serve` (embedded) against a bare ASGI 202 endpoint.

Both run on the same server stack (uvicorn, uvloop, httptools, one worker) and are loaded
by wrk with the same script (bench/ingest/events.lua) in two event mixes: `visits`, what the
official tracker sends (each visitor a pageview, its engagement, a second pageview and its
engagement, sometimes a custom event, from one address and user agent), and `new-visits`,
the worst case (every post from a new address). Prints events/s and p50/p99 latency at full
load for each, the ratio footfall/bare for each mix, a run of footfall at half its maximum
rate (visits mix), and checks that every event footfall acknowledged is in the store.

    python -m bench.ingest                  # 3 rounds of 10 s runs at 50 and 200 connections
    python -m bench.ingest --duration 30 --connections 64 --rounds 5

Both servers stay up and are loaded in turn, round after round (the order alternating), and
the ratio is the median of the rounds' ratios: the machine's speed drifts from minute to
minute, and what it does to one server's run it does to the other's next to it.

A server's maximum rate in a round is its best over the `--connections` levels (50 and 200
by default), the same levels for both. wrk's connections are a closed loop: each waits for
its answer before it sends again, so a server whose answer waits for a disk sync
(WAL_SYNC=group) needs more of them in flight to be kept busy than one that answers at once,
while the bare endpoint does best with fewer. Browsers are an open loop (each posts when its
visitor acts), so the rate a server reaches with enough requests in flight is its capacity.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
FOOTFALL = str(Path(sys.executable).parent / "footfall")
COUNT_SCRIPT = """
import sys
from footfall.events.chdb_store import ChdbStore
print(ChdbStore(sys.argv[1]).query("SELECT count() FROM {db}.events").scalar())
"""


@dataclass
class Run:
    label: str
    connections: int
    requests: int
    accepted: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def line(self) -> str:
        return (
            f"{self.label:<42} {self.rate:>10,.0f}/s  p50 {self.p50_ms:>6.2f} ms  p99 {self.p99_ms:>7.2f} ms"
            f"  errors {self.errors}"
        )


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("installing wrk (Debian package) ...", flush=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=False, capture_output=True)
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "update", "-qq"], check=True, capture_output=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, capture_output=True)
    return shutil.which("wrk") or "wrk"


def _levels(text: str) -> tuple[int, ...]:
    """`50,200` -> (50, 200), for --connections."""
    try:
        levels = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from None
    if not levels or min(levels) < 1:
        raise argparse.ArgumentTypeError(f"each level must be at least 1, got {text!r}")
    return levels


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


MIXES = ("visits", "new-visits")  # events.lua's MIX; the first is the headline figure


def wrk(
    binary: str,
    url: str,
    *,
    seconds: int,
    connections: int,
    label: str,
    delay_ms: float = 0,
    mix: str = MIXES[0],
) -> Run:
    env = {**os.environ, "RATE_DELAY_MS": str(int(delay_ms)), "MIX": mix}
    command = [binary, "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(HERE / "events.lua"), url]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    result = re.search(
        r"RESULT accepted=(\d+) answered=(\d+) requests=(\d+) errors=(\d+) p50_us=(\d+) p99_us=(\d+)",
        done.stdout,
    )
    if result is None:
        raise RuntimeError(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")
    accepted, _answered, requests, errors, p50, p99 = (int(g) for g in result.groups())
    return Run(label, connections, requests, accepted, errors, float(seconds), p50 / 1000, p99 / 1000)


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def start_bare(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """The baseline: a bare ASGI endpoint on the same stack."""
    port = free_port()
    uvicorn = [sys.executable, "-m", "uvicorn", "bench.ingest.bare:app", "--app-dir", str(ROOT)]
    uvicorn += ["--port", str(port), "--loop", "uvloop", "--http", "httptools", "--no-access-log"]
    process = subprocess.Popen([*uvicorn, "--log-level", "warning"], env=env, cwd=ROOT)
    return process, f"http://127.0.0.1:{port}"


def start_footfall(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """`footfall serve`, embedded, on a fresh DATA_DIR with example.com as a site."""
    subprocess.run([FOOTFALL, "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([FOOTFALL, "site", "create", "example.com"], env=env, check=True, capture_output=True)
    port = free_port()
    process = subprocess.Popen([FOOTFALL, "serve"], env={**env, "HTTP_PORT": str(port)})
    return process, f"http://127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per run (default 10)")
    parser.add_argument(
        "--connections",
        type=_levels,
        default=(50, 200),
        help="wrk connections at full load, comma-separated levels; a server's rate in a round is "
        "its best over them (default 50,200)",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="full-load runs of each server, alternating (default 3)"
    )
    parser.add_argument("--wal-sync", default="group", choices=("none", "group", "always"))
    args = parser.parse_args()
    binary = ensure_wrk()
    data = Path(tempfile.mkdtemp(prefix="footfall-bench-ingest-"))
    env = {**os.environ, "DATA_DIR": str(data), "WAL_SYNC": args.wal_sync, "LOG_LEVEL": "warning"}
    for name in ("DATABASE_URL", "CLICKHOUSE_DATABASE_URL", "REDIS_URL", "IP_GEOLOCATION_DB"):
        env.pop(name, None)
    all_runs: list[Run] = []  # every full-load run, in order
    bare_runs: list[Run] = []  # each round's best, per server and mix
    full_runs: dict[str, list[Run]] = {mix: [] for mix in MIXES}
    ratios: dict[str, list[float]] = {mix: [] for mix in MIXES}
    accepted = 0
    bare, bare_url = start_bare(env)
    server, url = start_footfall(env)
    try:
        wait_until_up(bare_url)
        wait_until_up(url + "/api/health")
        wrk(binary, bare_url + "/api/event", seconds=2, connections=args.connections[0], label="warm-up")
        for mix in MIXES:
            warm = wrk(
                binary,
                url + "/api/event",
                seconds=2,
                connections=args.connections[0],
                label="warm-up",
                mix=mix,
            )
            accepted += warm.accepted
        # Both servers are up the whole time and loaded in turn, bare and footfall back to
        # back (the order alternating), so that the machine's drift from minute to minute
        # falls on both; each round's ratio is footfall's best rate over the bare one's next
        # to it, for each mix (the bare endpoint only reads the body: one figure serves both).
        for number in range(1, args.rounds + 1):
            pair: dict[str, Run] = {}
            targets = [("bare", MIXES[0]), *(("footfall", mix) for mix in MIXES)]
            for which, mix in targets if number % 2 else reversed(targets):
                target_url = bare_url if which == "bare" else url
                name = "bare ASGI 202" if which == "bare" else f"footfall, {mix}"
                levels = []
                for connections in args.connections:
                    run = wrk(
                        binary,
                        target_url + "/api/event",
                        seconds=args.duration,
                        connections=connections,
                        label=f"{name} (max rate, -c{connections}), round {number}",
                        mix=mix,
                    )
                    if which == "footfall":
                        accepted += run.accepted
                    levels.append(run)
                    all_runs.append(run)
                pair[which if which == "bare" else mix] = max(levels, key=lambda run: run.rate)
            bare_runs.append(pair["bare"])
            for mix in MIXES:
                full_runs[mix].append(pair[mix])
                ratios[mix].append(pair[mix].rate / pair["bare"].rate)
        # Half of the maximum rate (the median round's): each connection waits between requests.
        # A connection's period is its wait plus the answer's round trip, so a 3 s run at the
        # first guess measures that round trip and the wait is shortened by it.
        visits_runs = full_runs[MIXES[0]]
        median_run = sorted(visits_runs, key=lambda run: run.rate)[len(visits_runs) // 2]
        half_connections = max(4, median_run.connections // 2)
        target = statistics.median(run.rate for run in visits_runs) / 2
        period_ms = half_connections * 1000 / target
        trial = wrk(
            binary,
            url + "/api/event",
            seconds=3,
            connections=half_connections,
            label="calibration",
            delay_ms=period_ms,
        )
        accepted += trial.accepted
        round_trip_ms = max(0.0, half_connections * 1000 / trial.rate - period_ms)
        delay_ms = max(0.0, period_ms - round_trip_ms)
        half = wrk(
            binary,
            url + "/api/event",
            seconds=args.duration,
            connections=half_connections,
            label=f"footfall, {MIXES[0]} (half rate, ~{target:,.0f}/s)",
            delay_ms=delay_ms,
        )
        accepted += half.accepted
        metrics = httpx.get(url + "/metrics", timeout=10).text
        server_accepted = int(
            sum(
                float(line.rsplit(" ", 1)[1])
                for line in metrics.splitlines()
                if line.startswith('footfall_ingest_events_total{outcome="accepted"')
            )
        )
    finally:
        stop(bare)
        stop(server)
    try:
        counted = subprocess.run(
            [sys.executable, "-c", COUNT_SCRIPT, str(data / "events")],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        stored = int(counted.stdout.strip())
        print()
        print(
            f"footfall ingestion benchmark: wrk -t1 -c{','.join(map(str, args.connections))}, "
            f"{args.duration} s per run, "
            f"{args.rounds} rounds, WAL_SYNC={args.wal_sync}, {os.cpu_count()} CPUs"
        )
        print(
            "event mixes (bench/ingest/events.lua): visits: per visitor (one address and user agent) "
            "a pageview\n(40% with a referrer, others with UTM tags), its engagement, a custom event "
            "with props and revenue\n(one visitor in three), a second pageview and its engagement; "
            "2% bots, 2% for an unknown site.\n"
            "new-visits: every post from a new address: 60% pageviews, 15% engagement (finding no "
            "visit), 20% custom\nevents, 5% for an unknown site, 3% bots"
        )
        print()
        for run in all_runs:
            print(run.line())
        print(half.line())
        figures: dict[str, float] = {}
        for mix in MIXES:
            print()
            for number, (bare_run, full, ratio) in enumerate(
                zip(bare_runs, full_runs[mix], ratios[mix], strict=True), 1
            ):
                print(
                    f"{mix} round {number}: footfall {full.rate:,.0f}/s (-c{full.connections}) / "
                    f"bare {bare_run.rate:,.0f}/s (-c{bare_run.connections}) = {ratio:.2f}"
                )
            figures[mix] = statistics.median(ratios[mix])
        print()
        for mix in MIXES:
            goal = "  (goal >= 0.60)" if mix == MIXES[0] else "  (worst case: every post a new visit)"
            print(
                f"throughput ratio footfall/bare, {mix} mix: {figures[mix]:.2f} (median of the rounds: "
                f"{', '.join(f'{r:.2f}' for r in ratios[mix])}){goal}"
            )
        print(f"p99 at half rate: {half.p99_ms:.2f} ms  (goal < 25 ms)")
        print(f"events wrk saw acknowledged (202 without X-Plausible-Dropped): {accepted:,}")
        print(
            f"events footfall accepted (its /metrics counter; includes answers wrk stopped reading): "
            f"{server_accepted:,}"
        )
        print(f"rows in the events table after shutdown: {stored:,}")
        lost = server_accepted - stored
        ok = stored == server_accepted and stored >= accepted
        print(f"lost: {lost:,}" + ("" if ok else "  <-- MISMATCH"))
        summary = {f"ratio_{mix.replace('-', '_')}": round(figures[mix], 3) for mix in MIXES}
        print(json.dumps({**summary, "half_rate_p99_ms": half.p99_ms, "lost": lost}))
        if not ok:
            sys.exit(1)
    finally:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
