"""Per-event cost of the write path in-process, without HTTP: what one POST /api/event costs
the web loop between reading its body and answering.

It feeds the `/api/event` ASGI handler (`footfall.web.event.handle`) the same event mixes as
events.lua (bodies, user agents, forwarded addresses; `--mix visits`, the default, or
`new-visits`), with a write-ahead log on a temporary
directory (WAL_SYNC=none, no flusher: only the loop's own work is timed), and prints
microseconds per event. Metadata lives in a temporary SQLite file with example.com as a site.

    python -m bench.ingest.per_event                 # 50,000 events
    python -m bench.ingest.per_event --events 200000 --profile   # then py-spy / cProfile
    python -m bench.ingest.per_event --shields       # example.com with every kind of shield rule

`--shields` gives example.com the most rules a site may have, none of which drops an event
of the mix (30 IP ranges, 30 countries, 30 wildcard page paths; an allow-list of 10
hostnames with example.com among them), so every event runs every check: the step's
worst case. Without it, the site has no rules (one dict look-up per event).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path

from footfall.config import load_settings
from footfall.ingest.buffer import WriteAheadBuffer
from footfall.ingest.ingestion import Ingestion
from footfall.meta.db import make_engine, make_sessionmaker, migrate, session_scope
from footfall.services import Services
from footfall.sites.sites import create_site
from footfall.web.event import handle

USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
    "Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 "
    "Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.81 "
    "Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 "
    "Safari/537.36 Edg/131.0.2903.86",
]
BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
PAGES = ["/", "/pricing", "/blog", "/blog/launch", "/docs", "/docs/install", "/about", "/contact"]
REFERRERS = [
    "https://www.google.com/",
    "https://www.google.de/",
    "https://duckduckgo.com/",
    "https://t.co/x1",
    "https://news.ycombinator.com/",
    "https://www.reddit.com/r/selfhosted/",
    "https://blog.example.org/post",
]


def body(rng: random.Random) -> bytes:
    """One body of the events.lua mix."""
    roll = rng.randint(1, 100)
    page = "https://example.com" + rng.choice(PAGES)
    if roll <= 60:
        if rng.randint(1, 100) <= 40:
            text = f'{{"n":"pageview","u":"{page}","d":"example.com","r":"{rng.choice(REFERRERS)}"}}'
        else:
            tagged = page + "?utm_source=newsletter&utm_medium=email"
            text = f'{{"n":"pageview","u":"{tagged}","d":"example.com","r":null}}'
    elif roll <= 75:
        sd, e = rng.randint(1, 100), rng.randint(1, 60000)
        text = f'{{"n":"engagement","u":"{page}","d":"example.com","sd":{sd},"e":{e}}}'
    elif roll <= 95:
        text = (
            f'{{"n":"Signup","u":"{page}","d":"example.com","p":{{"plan":"pro","source":"hero"}},'
            '"$":{"amount":"19.99","currency":"EUR"}}'
        )
    else:
        text = f'{{"n":"pageview","u":"{page}","d":"unknown.example.net"}}'
    return text.encode()


def visit(rng: random.Random) -> list[bytes]:
    """One visitor's posts in the events.lua `visits` mix."""
    domain = "unknown.example.net" if rng.randint(1, 100) <= 2 else "example.com"
    first, second = "https://example.com" + rng.choice(PAGES), "https://example.com" + rng.choice(PAGES)
    if rng.randint(1, 100) <= 40:
        referrer = f'"{rng.choice(REFERRERS)}"'
    else:
        referrer, first = "null", first + "?utm_source=newsletter&utm_medium=email"

    def post(name: str, url: str, ref: str, extra: str = "") -> bytes:
        return f'{{"n":"{name}","u":"{url}","d":"{domain}","r":{ref}{extra}}}'.encode()

    def engagement(url: str, ref: str) -> bytes:
        return post("engagement", url, ref, f',"sd":{rng.randint(1, 100)},"e":{rng.randint(1, 60000)}')

    posts = [post("pageview", first, referrer), engagement(first, referrer)]
    if rng.randint(1, 3) == 1:
        props = ',"p":{"plan":"pro","source":"hero"},"$":{"amount":"19.99","currency":"EUR"}'
        posts.append(post("Signup", first, referrer, props))
    posts += [post("pageview", second, f'"{first}"'), engagement(second, f'"{first}"')]
    return posts


def bodies(count: int, rng: random.Random, mix: str) -> list[tuple[str, str, bytes]]:
    """(user agent, address, body) of `count` posts in one of events.lua's mixes."""
    if mix == "new-visits":
        made = []
        for _ in range(count):
            ua = BOT if rng.randint(1, 100) <= 3 else rng.choice(USER_AGENTS)
            ip = f"85.{rng.randint(1, 220)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
            made.append((ua, ip, body(rng)))
        return made
    under_way: list[tuple[str, str, list[bytes]]] = []  # visitors taking turns, as events.lua's
    made, turn = [], 0
    while len(made) < count:
        if turn == len(under_way):
            turn = 0
            if len(under_way) < 4_096:
                under_way.append(("", "", []))
        ua, ip, posts = under_way[turn]
        if not posts:
            ua = BOT if rng.randint(1, 100) <= 2 else rng.choice(USER_AGENTS)
            ip = f"85.{rng.randint(1, 220)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
            posts = visit(rng)
        made.append((ua, ip, posts[0]))
        under_way[turn] = (ua, ip, posts[1:])
        turn += 1
    return made


def requests(count: int, seed: int = 1, mix: str = "visits") -> list[tuple[dict, bytes]]:
    rng = random.Random(seed)
    made = []
    for ua, ip, data in bodies(count, rng, mix):
        scope = {
            "type": "http",
            "method": "POST",
            "path": "/api/event",
            "client": ("127.0.0.1", 50000),
            "headers": [
                (b"host", b"127.0.0.1:8000"),
                (b"content-type", b"text/plain"),
                (b"user-agent", ua.encode()),
                (b"x-forwarded-for", ip.encode()),
                (b"content-length", str(len(data)).encode()),
            ],
        }
        made.append((scope, data))
    return made


async def run(ingestion: Ingestion, made: list[tuple[dict, bytes]]) -> float:
    async def send(message: dict) -> None:
        pass

    started = time.perf_counter()
    for scope, data in made:
        message = {"type": "http.request", "body": data, "more_body": False}

        async def receive(message: dict = message) -> dict:
            return message

        await handle(ingestion, scope, receive, send)
    return time.perf_counter() - started


def add_shields(db, site) -> None:
    """The most rules of each kind, none matching the mix (whose addresses are 85.x.x.x)."""
    import iptocc

    from footfall.meta.shields import ShieldKind
    from footfall.sites.shields import add_rule, countries

    for number in range(30):
        add_rule(
            db,
            site,
            ShieldKind.ip,
            f"{100 + number}.{number}.0.0/16" if number % 2 else f"2001:db8:{number:x}::/48",
        )
    seen = {iptocc.country_code(f"85.{a}.{b}.0") for a in range(1, 221) for b in range(256)}
    for code in [code for code in countries() if code not in seen][:30]:
        add_rule(db, site, ShieldKind.country, code)
    for number in range(30):
        add_rule(
            db, site, ShieldKind.page, f"/private-{number}/**" if number % 2 else f"/drafts-{number}/*/edit"
        )
    for host in ["example.com", "*.example.com", *(f"site-{n}.example.net" for n in range(8))]:
        add_rule(db, site, ShieldKind.hostname, host)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--mix", choices=("visits", "new-visits"), default="visits", help="events.lua's MIX")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one run")
    parser.add_argument(
        "--shields", action="store_true", help="example.com with the most shield rules allowed"
    )
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="footfall-bench-per-event-"))
    settings = load_settings({"DATA_DIR": str(directory / "data")})
    engine = make_engine(settings.database_url)
    migrate(engine)
    services = Services(settings=settings, engine=engine, sessions=make_sessionmaker(engine))
    with session_scope(services.sessions) as db:
        site = create_site(db, "example.com")
        if args.shields:
            add_shields(db, site)
    ingestion = Ingestion(services)
    ingestion.pipeline.shields.refresh()
    ingestion.buffer = WriteAheadBuffer(None, directory / "wal", sync="none")  # type: ignore[arg-type]
    ingestion.buffer.open()
    ingestion.rotate_salts()
    asyncio.run(run(ingestion, requests(5_000, seed=7, mix=args.mix)))  # warm caches, as a server has
    made = requests(args.events, mix=args.mix)
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        asyncio.run(run(ingestion, made))
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(35)
        return
    best = min(asyncio.run(run(ingestion, made)) for _ in range(3))
    print(
        f"{best / len(made) * 1e6:.1f} µs per event (best of 3 runs of {len(made):,}, "
        f"events.lua {args.mix} mix)"
    )


if __name__ == "__main__":
    main()
