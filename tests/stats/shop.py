"""The shop.example fixture: four visits by three visitors on 2026-03-10 (UTC), one the day before.

Worked out by hand, for 2026-03-10:

- A1, visitor A (Chrome, Mac, Desktop, DE), 10:00-10:03: / (from google.com), /pricing, then a
  Signup event (plan=pro) on /pricing, then /blog/post-1. 3 pageviews, 180 s, not a bounce.
- B1, visitor B (Safari, iOS, Mobile, GB), 11:00: / only. A bounce, 0 s.
- B2, visitor B, 12:00: /pricing only (an hour idle starts a new visit). A bounce, 0 s.
- C1, visitor C (Firefox, GNU/Linux, Desktop, SE), 13:00-13:02:20: /blog/post-1 (from
  news.ycombinator.com, utm_campaign=launch), /blog/post-2, then Purchase (20 EUR) there.
  2 pageviews, 140 s, not a bounce.

Engagement: A spends 10 s and scrolls 40% on /blog/post-1; C spends 30 s and scrolls 80% there.
On 2026-03-09 visitor D (Edge, Windows) views / once and leaves (a bounce).

Totals on 03-10: visitors 3, visits 4, pageviews 7, events 9 (7 pageviews + Signup + Purchase),
bounce_rate 2/4 = 50, visit_duration (180+0+0+140)/4 = 80, views_per_visit 7/4 = 1.75.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.stats.conftest import CHROME_MAC, EDGE_WINDOWS, FIREFOX_LINUX, SAFARI_IPHONE, SiteSetup, hit

DAY = "2026-03-10"
T = datetime(2026, 3, 10)
IP_A, IP_B, IP_C, IP_D = "85.214.132.117", "81.2.69.142", "89.160.20.112", "216.160.83.56"

SHOP = SiteSetup(
    "shop.example",
    goals=[
        {"event_name": "Signup"},
        {"event_name": "Purchase", "currency": "EUR"},
        {"page_path": "/pricing"},
        {"page_path": "/blog/**"},
    ],
    funnels=[
        ("Pricing to signup", ["Visit /pricing", "Signup"]),
        ("Blog to purchase", ["Visit /blog/**", "Purchase"]),
    ],
)


def at(hours: int, minutes: int = 0, seconds: int = 0) -> datetime:
    return T + timedelta(hours=hours, minutes=minutes, seconds=seconds)


def shop_hits():
    return [
        hit("pageview", "/", T - timedelta(hours=10), EDGE_WINDOWS, IP_D),
        hit("pageview", "/", at(10), CHROME_MAC, IP_A, referrer="https://www.google.com/"),
        hit("pageview", "/pricing", at(10, 1), CHROME_MAC, IP_A),
        hit("Signup", "/pricing", at(10, 2), CHROME_MAC, IP_A, props={"plan": "pro"}),
        hit("pageview", "/blog/post-1", at(10, 3), CHROME_MAC, IP_A),
        hit(
            "engagement",
            "/blog/post-1",
            at(10, 3, 10),
            CHROME_MAC,
            IP_A,
            scroll_depth=40,
            engagement_time=10_000,
        ),
        hit("pageview", "/", at(11), SAFARI_IPHONE, IP_B),
        hit("pageview", "/pricing", at(12), SAFARI_IPHONE, IP_B),
        hit(
            "pageview",
            "/blog/post-1?utm_campaign=launch",
            at(13),
            FIREFOX_LINUX,
            IP_C,
            referrer="https://news.ycombinator.com/item?id=1",
        ),
        hit(
            "engagement",
            "/blog/post-1",
            at(13, 1),
            FIREFOX_LINUX,
            IP_C,
            scroll_depth=80,
            engagement_time=30_000,
        ),
        hit("pageview", "/blog/post-2", at(13, 2), FIREFOX_LINUX, IP_C),
        hit(
            "Purchase",
            "/blog/post-2",
            at(13, 2, 20),
            FIREFOX_LINUX,
            IP_C,
            revenue={"amount": "20", "currency": "EUR"},
        ),
    ]
