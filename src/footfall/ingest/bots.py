"""Referrer spam: sites that fake visits to get their name into analytics dashboards.

Bots by user agent are recognised in user_agent.py. The spam list below is footfall's
own short list of long-running offenders, matched on the referrer's host and every
parent domain of it.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

SPAM_REFERRER_DOMAINS = frozenset(
    {
        "semalt.com",
        "semalt.semalt.com",
        "buttons-for-website.com",
        "buttons-for-your-website.com",
        "best-seo-offer.com",
        "best-seo-solution.com",
        "darodar.com",
        "econom.co",
        "ilovevitaly.com",
        "ilovevitaly.ru",
        "blackhatworth.com",
        "hulfingtonpost.com",
        "priceg.com",
        "savetubevideo.com",
        "kambasoft.com",
        "cenoval.ru",
        "floating-share-buttons.com",
        "free-social-buttons.com",
        "get-free-traffic-now.com",
        "4webmasters.org",
        "trafficmonetize.org",
        "webmonetizer.net",
        "o-o-6-o-o.com",
        "o-o-8-o-o.com",
        "social-buttons.com",
        "simple-share-buttons.com",
        "100dollars-seo.com",
        "success-seo.com",
        "videos-for-your-business.com",
        "video--production.com",
        "rank-checker.online",
        "seo-platform.com",
        "traffic2money.com",
    }
)


@lru_cache(maxsize=8192)
def is_spam_referrer(referrer: str) -> bool:
    try:
        host = urlsplit(referrer.strip()).hostname or ""
    except ValueError:
        return False
    labels = host.lower().removeprefix("www.").split(".")
    return any(".".join(labels[i:]) in SPAM_REFERRER_DOMAINS for i in range(len(labels) - 1))
