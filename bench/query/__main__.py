"""Dashboard query benchmark.

Generates a site of N events over 30 days with the demo generator (`footfall.demo`), then
times the queries one dashboard load makes, each through the Stats API v2 (uvicorn in this
process, an HTTP client in a child process: auth, parse, compile, run, shape, JSON), as the
same compiled SQL run raw on the engine, and as the SQL compiled without the hourly rollups
(raw tables only), to show what they save.
Prints p50/p95 per query, the whole dashboard load, and the API / raw SQL ratio.

    python -m bench.query --events 10000000
    python -m bench.query --events 100000000 --data /var/tmp/ff-bench --keep
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import uvicorn

from footfall.accounts.apikeys import create_api_key
from footfall.accounts.users import create_user
from footfall.app import create_app
from footfall.config import load_settings
from footfall.demo import DEMO_GOALS, generate
from footfall.meta.db import session_scope
from footfall.meta.models import Goal, Site
from footfall.services import open_services
from footfall.sites.sites import create_site
from footfall.sites.stats_sites import site_spec
from footfall.stats import daily, v2
from footfall.stats.compiler import compile_query

DOMAIN = "bench.example"


def dashboard(today: str) -> list[tuple[str, dict[str, Any]]]:
    """The queries one dashboard load makes, as Stats API v2 bodies."""
    base = {"site_id": DOMAIN, "date_range": "30d", "date": today}
    top = ["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration"]
    page = {"pagination": {"limit": 9}}
    return [
        (
            "top stats + comparison",
            {**base, "metrics": top, "include": {"comparisons": {"mode": "previous_period"}}},
        ),
        (
            "30-day graph",
            {**base, "metrics": ["visitors"], "dimensions": ["time:day"], "include": {"time_labels": True}},
        ),
        (
            "sources",
            {
                **base,
                "metrics": ["visitors", "bounce_rate", "visit_duration"],
                "dimensions": ["visit:source"],
                **page,
            },
        ),
        ("pages", {**base, "metrics": ["visitors", "pageviews"], "dimensions": ["event:page"], **page}),
        (
            "entry pages",
            {**base, "metrics": ["visitors", "visits"], "dimensions": ["visit:entry_page"], **page},
        ),
        (
            "exit pages",
            {**base, "metrics": ["visitors", "visits"], "dimensions": ["visit:exit_page"], **page},
        ),
        (
            "countries",
            {**base, "metrics": ["visitors", "percentage"], "dimensions": ["visit:country"], **page},
        ),
        ("devices", {**base, "metrics": ["visitors", "percentage"], "dimensions": ["visit:device"], **page}),
        (
            "goals",
            {
                **base,
                "metrics": ["visitors", "events", "conversion_rate"],
                "dimensions": ["event:goal"],
                **page,
            },
        ),
    ]


@contextlib.contextmanager
def served(app: Any) -> Iterator[str]:
    """`app` on uvicorn at a free loopback port, in a thread of this process; its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # As `footfall serve` runs it (no access log unless LOG_LEVEL=debug, no Server header).
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        proxy_headers=False,
        server_header=False,
        access_log=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="bench-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the benchmark's server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


class ProcessClient:
    """One keep-alive HTTP client in a child process (`bench.query.client`), as a browser is:
    it does not share this process's interpreter lock with the server. Times each request
    there, from sending it to reading the whole answer."""

    def __init__(self, base_url: str, token: str) -> None:
        self._child = subprocess.Popen(
            [sys.executable, "-m", "bench.query.client", base_url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "BENCH_QUERY_TOKEN": token},
        )

    def post(self, body: dict[str, Any]) -> float:
        assert self._child.stdin is not None and self._child.stdout is not None
        self._child.stdin.write(orjson.dumps(body) + b"\n")
        self._child.stdin.flush()
        line = self._child.stdout.readline()
        if not line:
            raise RuntimeError("the benchmark's HTTP client process ended")
        reply = orjson.loads(line)
        assert reply["status"] == 200, reply.get("text")
        return float(reply["seconds"])

    def close(self) -> None:
        assert self._child.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self._child.stdin.write(b"quit\n")
            self._child.stdin.close()
        self._child.wait(timeout=30)


class InlineClient:
    """The HTTP client in this process, next to the server (`--client inline`): client and
    server then take turns on one interpreter lock, which a browser never does."""

    def __init__(self, base_url: str, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        self._client = httpx.Client(base_url=base_url, timeout=120, headers=headers)

    def post(self, body: dict[str, Any]) -> float:
        started = time.perf_counter()
        response = self._client.post("/api/v2/query", json=body)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.text
        return elapsed

    def close(self) -> None:
        self._client.close()


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=20, help="timed runs of each query")
    parser.add_argument("--data", type=Path, default=None, help="DATA_DIR to use (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the data directory afterwards")
    parser.add_argument(
        "--client",
        choices=("process", "inline"),
        default="process",
        help="run the HTTP client in a child process (default, as a browser is) or in this one",
    )
    args = parser.parse_args()

    data_dir = args.data or Path(tempfile.mkdtemp(prefix="footfall-bench-"))
    settings = load_settings({"DATA_DIR": str(data_dir)})
    services = open_services(settings, run_migrations=True)
    store = services.events
    assert store is not None
    closing = contextlib.ExitStack()
    try:
        with session_scope(services.sessions) as db:
            site = db.query(Site).filter(Site.domain == DOMAIN).one_or_none()
            fresh = site is None
            if fresh:
                owner = create_user(db, "bench@example.com", "correct horse battery staple")
                site = create_site(db, DOMAIN, owner=owner)
                for spec in DEMO_GOALS:
                    display = spec.get("event_name") or f"Visit {spec['page_path']}"
                    db.add(Goal(site_id=site.id, display_name=display, **spec))
            else:
                owner = site.memberships[0].user
            key, _ = create_api_key(db, owner, "bench")
            key_row_id = _.id
            site_id = site.id
        today = datetime.now(UTC).date()
        if fresh:
            started = time.perf_counter()
            result = generate(store, site_id, DOMAIN, events=args.events, days=args.days, last_day=today)
            took = time.perf_counter() - started
            print(
                f"generated {result.events:,} events in {result.visits:,} visits over {args.days} days "
                f"in {took:.1f} s ({result.events / took:,.0f} events/s)"
            )
        else:
            count = store.query("SELECT count() FROM {db}.events").scalar()
            print(f"reusing {count:,} events in {data_dir}")
        started = time.perf_counter()
        with session_scope(services.sessions) as db:
            goals = site_spec(db.get(Site, site_id)).goals
        counts = daily.refresh(store, [(site_id, goals)], datetime.now(UTC))
        print(f"counted {counts} sealed days for the dashboard in {time.perf_counter() - started:.1f} s")
        with session_scope(services.sessions) as db:
            from footfall.meta.models import ApiKey

            db.get(ApiKey, key_row_id).hourly_request_limit = 10**9
            spec = site_spec(db.get(Site, site_id))

        # The real server stack (uvicorn, uvloop, httptools) in a thread of this process, which
        # holds the embedded store, and one keep-alive HTTP client in a process of its own: what
        # a dashboard's requests cost, less the network.
        base_url = closing.enter_context(served(create_app(settings, services)))
        client = (ProcessClient if args.client == "process" else InlineClient)(base_url, key)
        closing.callback(client.close)
        queries = dashboard(today.isoformat())
        api: dict[str, list[float]] = {name: [] for name, _ in queries}
        # What the engine runs (daily counts where they answer, else the compiler's SQL), and two
        # baselines: the compiler's SQL alone (hourly rollups) and the raw tables only.
        variants = ("SQL", "hourly", "no-rollup")
        timings: dict[str, dict[str, list[float]]] = {v: {name: [] for name, _ in queries} for v in variants}
        statements: dict[str, dict[str, list[Any]]] = {v: {} for v in variants}
        for name, body in queries:
            query = v2.parse(spec, body, datetime.now(UTC))
            asked = [query] + ([query.with_range(query.comparison.date_range)] if query.comparison else [])
            statements["SQL"][name] = [daily.compile_daily(store, q) or compile_query(q) for q in asked]
            statements["hourly"][name] = [compile_query(q) for q in asked]
            statements["no-rollup"][name] = [compile_query(q, rollups=False) for q in asked]
            # Warm every path once (caches, first-touch of the parts).
            client.post(body)
            for variant in variants:
                for statement in statements[variant][name]:
                    store.query(statement.sql, statement.params)

        loads: dict[str, list[float]] = {v: [] for v in ("API", *variants)}
        for _ in range(args.repeat):
            load = dict.fromkeys(loads, 0.0)
            for name, body in queries:
                elapsed = client.post(body)
                api[name].append(elapsed)
                load["API"] += elapsed
                for variant in variants:
                    started = time.perf_counter()
                    for statement in statements[variant][name]:
                        store.query(statement.sql, statement.params)
                    elapsed = time.perf_counter() - started
                    timings[variant][name].append(elapsed)
                    load[variant] += elapsed
            for key, value in load.items():
                loads[key].append(value)

        events = store.query("SELECT count() FROM {db}.events").scalar()
        print(f"\n{events:,} events; {args.repeat} runs per query; times in ms\n")
        print(
            f"{'query':<26}{'API p50':>9}{'API p95':>9}{'SQL p50':>9}{'SQL p95':>9}{'API/SQL':>9}"
            f"{'hourly':>9}{'no-rollup':>11}"
        )

        def line(
            name: str, api_s: list[float], sql: list[float], hourly: list[float], tables: list[float]
        ) -> str:
            a50, a95 = percentile(api_s, 0.5) * 1000, percentile(api_s, 0.95) * 1000
            s50, s95 = percentile(sql, 0.5) * 1000, percentile(sql, 0.95) * 1000
            h50, t50 = percentile(hourly, 0.5) * 1000, percentile(tables, 0.5) * 1000
            timed = f"{a50:>9.1f}{a95:>9.1f}{s50:>9.1f}{s95:>9.1f}{a50 / s50:>9.2f}{h50:>9.1f}{t50:>11.1f}"
            return f"{name:<26}{timed}"

        for name, _ in queries:
            print(line(name, api[name], *(timings[v][name] for v in variants)))
        print(line("whole dashboard load", loads["API"], *(loads[v] for v in variants)))
        print(
            "\nSQL: what the engine runs (sealed days from the daily counts, the rest raw); hourly: the"
            "\ncompiler's SQL on the hourly rollups alone; no-rollup: the raw events and sessions only"
        )
        overhead = statistics.fmean(loads["API"]) / statistics.fmean(loads["SQL"])
        print(f"\nmean API/SQL over all runs: {overhead:.2f}")
    finally:
        closing.close()
        services.close()
        if args.data is None and not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
