"""Two codes of footfall side by side: this tree's against another source tree, in one run.

    git worktree add /tmp/before <commit>          # the code to compare with, compiled there
    (cd /tmp/before && make compile)                # or copy this tree's .so files if unchanged
    python -m bench.ingest.versus /tmp/before/src   # 4 rounds, visits mix
    python -m bench.ingest.versus /tmp/before/src --rounds 6 --mix new-visits
    python -m bench.ingest.versus src --env FLUSH_BATCH_SIZE=200000   # one setting against the default

`python -m bench.ingest` compares footfall with a bare endpoint; from one run to the next the
machine's speed moves that ratio by more than most changes do (on 7 Dec 2026 one code measured
0.53 and 0.60 an hour apart). This runner answers "is the change faster?" directly: both codes
are served at once from this `.venv` (the other from its tree through `PYTHONPATH`), each on a
fresh embedded DATA_DIR, and loaded in turn with the same wrk script, `--duration` seconds per
run at `--connections`, the order alternating each round, so the machine's drift falls on
both. Each round's ratio is this tree's rate over the other's next to it; the printed figure
is their median. The other tree must run with this `.venv`'s packages.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

from bench.ingest.__main__ import ROOT, ensure_wrk, start_footfall, stop, wait_until_up, wrk


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("other", type=Path, help="the other code's source folder (holding footfall/)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--duration", type=int, default=10, help="seconds per run (default 10)")
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--mix", default="visits", choices=("visits", "new-visits"))
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for this tree's server (repeatable)",
    )
    parser.add_argument(
        "--other-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for the other's server",
    )
    args = parser.parse_args()
    settings = {"this tree": _settings(parser, args.env), "other": _settings(parser, args.other_env)}
    if not (args.other / "footfall" / "__init__.py").is_file():
        parser.error(f"{args.other} holds no footfall package")
    binary = ensure_wrk()
    base = {**os.environ, "WAL_SYNC": "group", "LOG_LEVEL": "warning"}
    for name in ("DATABASE_URL", "CLICKHOUSE_DATABASE_URL", "REDIS_URL", "IP_GEOLOCATION_DB", "PYTHONPATH"):
        base.pop(name, None)
    sources = {"this tree": ROOT / "src", "other": args.other.resolve()}
    servers = {}
    try:
        for name, source in sources.items():
            data = tempfile.mkdtemp(prefix="footfall-bench-versus-")
            env = {**base, **settings[name], "DATA_DIR": data, "PYTHONPATH": str(source)}
            servers[name] = start_footfall(env)
        for _, url in servers.values():
            wait_until_up(url + "/api/health")
            wrk(binary, url + "/api/event", seconds=3, connections=50, label="warm-up", mix=args.mix)
        names = list(servers)
        ratios = []
        for number in range(1, args.rounds + 1):
            rates = {}
            for name in names if number % 2 else reversed(names):
                run = wrk(
                    binary,
                    servers[name][1] + "/api/event",
                    seconds=args.duration,
                    connections=args.connections,
                    label=f"{name}, {args.mix} (-c{args.connections}), round {number}",
                    mix=args.mix,
                )
                print(run.line(), flush=True)
                rates[name] = run.rate
            ratios.append(rates["this tree"] / rates["other"])
            print(f"round {number}: this tree / other = {ratios[-1]:.2f}", flush=True)
    finally:
        for process, _ in servers.values():
            stop(process)
    print()
    described = {name: "".join(f", {k}={v}" for k, v in settings[name].items()) for name in sources}
    print(
        f"this tree ({sources['this tree']}{described['this tree']}) / "
        f"other ({sources['other']}{described['other']}), {args.mix} mix: "
        f"{statistics.median(ratios):.2f} (median of the rounds: {', '.join(f'{r:.2f}' for r in ratios)})"
    )


def _settings(parser: argparse.ArgumentParser, pairs: list[str]) -> dict[str, str]:
    found = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name:
            parser.error(f"expected NAME=VALUE, got {pair!r}")
        found[name] = value
    return found


if __name__ == "__main__":
    main()
