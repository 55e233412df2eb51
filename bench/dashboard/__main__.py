"""Dashboard load benchmark: Debian chromium (Playwright) against the real app, 10M events.

Reuses a DATA_DIR with the demo generator's `bench.example` (`footfall demo --domain
bench.example --events 10000000 --owner bench@example.com`), counts its sealed days, serves
the app (uvicorn in a thread of this process, which holds the embedded store), logs in, and
times from navigation to every panel rendered (top stats, graph, every panel's rows) for the
30-day view unfiltered, with one source filter and with one page filter. Next to each: the
engine time of the queries that load sent (captured from the browser), run one after another
on the same store, and of the same queries without the daily counts (the baseline in the same
run). Prints p50 / p95 of `--repeat` loads.

    python -m bench.dashboard --data /var/tmp/dash-bench/data --repeat 7
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from bench.query.__main__ import served

from footfall.accounts.passwords import hash_password
from footfall.app import create_app
from footfall.config import load_settings
from footfall.meta.db import session_scope
from footfall.meta.models import Membership, Site
from footfall.services import open_services
from footfall.sites.stats_sites import site_spec
from footfall.stats import daily, v2
from footfall.stats.compiler import compile_query

DOMAIN = "bench.example"
PASSWORD = "the bench's own passphrase"
VIEWS = [
    ("30 days, unfiltered", "?period=30d"),
    ("30 days, source filter", "?period=30d&f=is,source,Google"),
    ("30 days, page filter", "?period=30d&f=is,page,/pricing"),
]
# Every panel has drawn rows (or said it has none), the top stats have numbers and nothing
# is loading: what a user sees as "the dashboard is there".
RENDERED = """() => {
  if (document.querySelector('[aria-busy=true], .panel-loading')) return false;
  const values = [...document.querySelectorAll('.stat-value')].map((e) => e.textContent.trim());
  if (!values.length || values.some((v) => v === '\\u2013')) return false;
  const panels = [...document.querySelectorAll('section.panel')];
  if (panels.length < 5) return false;
  if (!document.querySelector('.graph path.line')) return false;
  return panels.every((p) => p.querySelector('.row-link, .panel-empty, .country, .funnel-steps'));
}"""


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _timed(store: Any, statement: Any) -> float:
    started = time.perf_counter()
    store.query(statement.sql, statement.params)
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, required=True, help="DATA_DIR holding bench.example")
    parser.add_argument("--repeat", type=int, default=7, help="timed loads of each view")
    parser.add_argument(
        "--bodies", type=Path, help="write the Stats API bodies each view sent to this JSON file"
    )
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    settings = load_settings({"DATA_DIR": str(args.data)})
    services = open_services(settings, run_migrations=True)
    store = services.events
    assert store is not None
    with session_scope(services.sessions) as db:
        site = db.query(Site).filter(Site.domain == DOMAIN).one()
        owner = db.query(Membership).filter(Membership.site_id == site.id).first().user
        owner.password_hash = hash_password(PASSWORD)
        email = owner.email
        spec = site_spec(site)
    events = store.query(
        "SELECT count() FROM {db}.events WHERE site_id = {s:UInt64}", {"s": spec.id}
    ).scalar()
    started = time.perf_counter()
    counted = daily.refresh(store, [(spec.id, spec.goals)], datetime.now(UTC))
    print(f"{events:,} events; counted {counted} sealed days in {time.perf_counter() - started:.1f} s")

    with contextlib.ExitStack() as closing:
        base = closing.enter_context(served(create_app(settings, services)))
        driver = closing.enter_context(sync_playwright())
        browser = driver.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[
                "--no-sandbox",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        closing.callback(browser.close)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.goto(f"{base}/login")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/sites")
        bodies: list[dict[str, Any]] = []
        page.on(
            "request",
            lambda r: bodies.append(orjson.loads(r.post_data)) if r.url.endswith("/query") else None,
        )

        results = []
        captured: dict[str, list[dict[str, Any]]] = {}
        for name, query in VIEWS:
            loads: list[float] = []
            sent: list[dict[str, Any]] = []
            for attempt in range(args.repeat + 1):  # the first load warms caches and is not counted
                bodies.clear()
                page.goto("about:blank")
                page.goto(f"{base}/{DOMAIN}{query}")
                page.wait_for_function(RENDERED, timeout=60_000, polling=10)
                rendered = page.evaluate("performance.now()")
                if attempt:
                    loads.append(rendered)
                sent = list(bodies)
            # The engine time of the statements the app ran, and (the baseline, interleaved)
            # of the same queries without daily counts: hourly rollups or raw tables.
            engine: list[float] = []
            baseline: list[float] = []
            for _ in range(args.repeat):
                total = without = 0.0
                for body in sent:
                    parsed = v2.parse(spec, {**body, "site_id": DOMAIN}, datetime.now(UTC))
                    asked = [parsed] + (
                        [parsed.with_range(parsed.comparison.date_range)] if parsed.comparison else []
                    )
                    for q in asked:
                        total += _timed(store, daily.compile_daily(store, q) or compile_query(q))
                        without += _timed(store, compile_query(q))
                engine.append(total)
                baseline.append(without)
            results.append((name, len(sent), loads, engine, baseline))
            captured[name] = sent

    if args.bodies:
        args.bodies.write_bytes(orjson.dumps(captured, option=orjson.OPT_INDENT_2))
    print(f"\n{args.repeat} loads per view (after one warm-up); times in ms; chromium 1280x900\n")
    print(
        f"{'view':<26}{'queries':>8}{'load p50':>10}{'load p95':>10}{'engine p50':>12}{'load/engine':>13}"
        f"{'no-daily p50':>14}"
    )
    for name, count, loads, engine, baseline in results:
        p50, e50 = statistics.median(loads), statistics.median(engine)
        print(
            f"{name:<26}{count:>8}{p50:>10.0f}{percentile(loads, 0.95):>10.0f}{e50:>12.0f}{p50 / e50:>13.2f}"
            f"{statistics.median(baseline):>14.0f}"
        )
    print("\nno-daily: the same queries' engine time on the hourly rollups or raw tables (no daily counts)")
    services.close()


if __name__ == "__main__":
    main()
