"""Dashboard query benchmark.

Generates a site of N events over 30 days with the demo generator (`footfall.demo`), then
times the queries one dashboard load makes, each through the Stats API v2 (in-process HTTP:
auth, parse, compile, run, shape, JSON), as the same compiled SQL run raw on the engine, and
as the SQL compiled without the hourly rollups (raw tables only), to show what they save.
Prints p50/p95 per query, the whole dashboard load, and the API / raw SQL ratio.

    python -m bench.query --events 10000000
    python -m bench.query --events 100000000 --data /var/tmp/ff-bench --keep
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from footfall.accounts.apikeys import create_api_key
from footfall.accounts.users import create_user
from footfall.app import create_app
from footfall.config import load_settings
from footfall.demo import DEMO_GOALS, generate
from footfall.meta.db import session_scope
from footfall.meta.models import Goal, Site
from footfall.services import open_services
from footfall.sites.sites import create_site
from footfall.stats import v2
from footfall.stats.sql import compile_query
from footfall.web.stats_api import site_spec

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
    args = parser.parse_args()

    data_dir = args.data or Path(tempfile.mkdtemp(prefix="footfall-bench-"))
    settings = load_settings({"DATA_DIR": str(data_dir)})
    services = open_services(settings, run_migrations=True)
    store = services.events
    assert store is not None
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
        with session_scope(services.sessions) as db:
            from footfall.meta.models import ApiKey

            db.get(ApiKey, key_row_id).hourly_request_limit = 10**9
            spec = site_spec(db.get(Site, site_id))

        client = TestClient(create_app(settings, services))
        headers = {"Authorization": f"Bearer {key}"}
        queries = dashboard(today.isoformat())
        api: dict[str, list[float]] = {name: [] for name, _ in queries}
        raw: dict[str, list[float]] = {name: [] for name, _ in queries}
        tables: dict[str, list[float]] = {name: [] for name, _ in queries}
        compiled = {}
        uncompiled = {}
        for name, body in queries:
            query = v2.parse(spec, body, datetime.now(UTC))
            statements = [compile_query(query)]
            if query.comparison is not None:
                statements.append(compile_query(query.with_range(query.comparison.date_range)))
            compiled[name] = statements
            uncompiled[name] = [compile_query(query, rollups=False)]
            if query.comparison is not None:
                uncompiled[name].append(
                    compile_query(query.with_range(query.comparison.date_range), rollups=False)
                )
            # Warm both paths once (caches, first-touch of the parts).
            response = client.post("/api/v2/query", json=body, headers=headers)
            assert response.status_code == 200, response.text
            for statement in statements + uncompiled[name]:
                store.query(statement.sql, statement.params)

        loads: list[float] = []
        raw_loads: list[float] = []
        table_loads: list[float] = []
        for _ in range(args.repeat):
            load = raw_load = table_load = 0.0
            for name, body in queries:
                started = time.perf_counter()
                response = client.post("/api/v2/query", json=body, headers=headers)
                elapsed = time.perf_counter() - started
                assert response.status_code == 200, response.text
                api[name].append(elapsed)
                load += elapsed
                started = time.perf_counter()
                for statement in compiled[name]:
                    store.query(statement.sql, statement.params)
                elapsed = time.perf_counter() - started
                raw[name].append(elapsed)
                raw_load += elapsed
                started = time.perf_counter()
                for statement in uncompiled[name]:
                    store.query(statement.sql, statement.params)
                elapsed = time.perf_counter() - started
                tables[name].append(elapsed)
                table_load += elapsed
            loads.append(load)
            raw_loads.append(raw_load)
            table_loads.append(table_load)

        events = store.query("SELECT count() FROM {db}.events").scalar()
        print(f"\n{events:,} events; {args.repeat} runs per query; times in ms\n")
        print(
            f"{'query':<26}{'API p50':>9}{'API p95':>9}{'SQL p50':>9}{'SQL p95':>9}{'API/SQL':>9}"
            f"{'no-rollup':>11}"
        )
        for name, _ in queries:
            a50, a95 = percentile(api[name], 0.5) * 1000, percentile(api[name], 0.95) * 1000
            s50, s95 = percentile(raw[name], 0.5) * 1000, percentile(raw[name], 0.95) * 1000
            t50 = percentile(tables[name], 0.5) * 1000
            print(f"{name:<26}{a50:>9.1f}{a95:>9.1f}{s50:>9.1f}{s95:>9.1f}{a50 / s50:>9.2f}{t50:>11.1f}")
        l50, l95 = percentile(loads, 0.5) * 1000, percentile(loads, 0.95) * 1000
        r50, r95 = percentile(raw_loads, 0.5) * 1000, percentile(raw_loads, 0.95) * 1000
        t50 = percentile(table_loads, 0.5) * 1000
        print(
            f"{'whole dashboard load':<26}{l50:>9.1f}{l95:>9.1f}{r50:>9.1f}{r95:>9.1f}{l50 / r50:>9.2f}"
            f"{t50:>11.1f}"
        )
        print("\nno-rollup: SQL p50 of the same queries compiled to read only the raw events and sessions")
        print(f"\nmean API/SQL over all runs: {statistics.fmean(loads) / statistics.fmean(raw_loads):.2f}")
    finally:
        services.close()
        if args.data is None and not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
