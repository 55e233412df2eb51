"""What the pipeline's `drop_shield` step costs an event, beside the step before it.

Times the step alone over the events of `per_event`'s mix (parsed once, addresses from
85.x.x.x), for a site without rules and for a site with the most rules of every kind that
drop none of the mix (every check runs: the worst case for an event that is kept), and, in
the same rounds, `find_site` (a cached dict look-up) as the baseline. Prints nanoseconds per
event, the best of several rounds, and the ratio to `find_site`.

    python -m bench.ingest.shield_step
    python -m bench.ingest.shield_step --events 100000 --rounds 9
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench.ingest.per_event import add_shields, requests

import footfall
from footfall.config import load_settings
from footfall.ingest.ingestion import Ingestion
from footfall.ingest.pipeline import Event
from footfall.ingest.request import decode_body, parse_event
from footfall.meta.db import make_engine, make_sessionmaker, migrate, session_scope
from footfall.services import Services
from footfall.sites.sites import create_site


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="footfall-bench-shield-step-"))
    settings = load_settings({"DATA_DIR": str(directory / "data")})
    engine = make_engine(settings.database_url)
    migrate(engine)
    services = Services(settings=settings, engine=engine, sessions=make_sessionmaker(engine))
    with session_scope(services.sessions) as db:
        plain = create_site(db, "example.com")
        shielded = create_site(db, "shielded.example.com")
        add_shields(db, shielded)
        plain_id, shielded_id = plain.id, shielded.id
    pipeline = Ingestion(services).pipeline
    pipeline.shields.refresh()
    made = []
    for scope, body in requests(args.events):
        request = parse_event(decode_body(body))
        ip = dict(scope["headers"])[b"x-forwarded-for"].decode()
        made.append(Event(request, "example.com", "", ip, 0))

    def per_event(step, site_id: int) -> float:
        for event in made:
            event.site_id, event.location = site_id, None
        clock = time.perf_counter
        started = clock()
        for event in made:
            step(event)
        return (clock() - started) / len(made) * 1e9

    for event in made:
        event.site_id = shielded_id
    dropped = sum(pipeline.drop_shield(event) is not None for event in made)
    best: dict[str, float] = {}
    for _ in range(args.rounds):
        for name, step, site_id in [
            ("find_site (baseline)", pipeline.find_site, plain_id),
            ("drop_shield, site without rules", pipeline.drop_shield, plain_id),
            ("drop_shield, 100 rules, none matching", pipeline.drop_shield, shielded_id),
            ("put_geolocation (what it saves)", pipeline.put_geolocation, plain_id),
        ]:
            took = per_event(step, site_id)
            best[name] = min(best.get(name, took), took)
    print(f"write path: {footfall.HOT_PATH}; {len(made):,} events, best of {args.rounds} rounds")
    baseline = best["find_site (baseline)"]
    for name, took in best.items():
        print(f"  {name:<40} {took:8.0f} ns/event  ({took / baseline:.2f} x find_site)")
    print(f"  events of the mix the 100 rules dropped: {dropped}")


if __name__ == "__main__":
    main()
