"""Referrer spam, and visitors from data centres.

Bots by user agent are recognised in user_agent.py. The spam list below is footfall's
own short list of long-running offenders, matched on the referrer's host and every
parent domain of it. `SpamReferrers` adds the domains of a file (`REFERRER_SPAM_LIST`, one
domain per line, `#` comments), so that a maintained list such as Matomo's
`referrer-spam-list` (`spammers.txt`, the list Plausible ships) can be dropped in.

`DatacenterRanges` holds address ranges whose traffic is dropped as coming from servers,
not people (`DATACENTER_IP_RANGES`: a file of CIDR ranges, one per line, such as the
ranges cloud providers publish). Off by default: footfall ships no such list.
"""

from __future__ import annotations

import ipaddress
import re
from bisect import bisect_right
from functools import lru_cache
from pathlib import Path
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


_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z0-9-]{2,63}$")


class SpamListInvalid(ValueError):
    """A line of the referrer spam file is not a domain name."""


class SpamReferrers:
    """Referrer domains whose events are dropped: footfall's list plus any given."""

    def __init__(self, domains: frozenset[str] = frozenset()) -> None:
        self.domains = SPAM_REFERRER_DOMAINS | domains
        # Referrers repeat (the same spam hits many pages): cached per instance.
        self.is_spam = lru_cache(maxsize=8192)(self._is_spam)

    @classmethod
    def from_file(cls, path: Path) -> SpamReferrers:
        domains = set()
        for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
            text = line.split("#", 1)[0].strip().lower().removeprefix("www.")
            if not text:
                continue
            if not _DOMAIN.match(text):
                raise SpamListInvalid(f"line {number} is not a domain name: {text!r}")
            domains.add(text)
        return cls(frozenset(domains))

    def _is_spam(self, referrer: str) -> bool:
        try:
            host = urlsplit(referrer.strip()).hostname or ""
        except ValueError:
            return False
        labels = host.lower().removeprefix("www.").split(".")
        return any(".".join(labels[i:]) in self.domains for i in range(len(labels) - 1))


class DatacenterRangesInvalid(ValueError):
    """A line of the ranges file is not an address or a CIDR range."""


class DatacenterRanges:
    """A set of IPv4 and IPv6 ranges, merged and sorted; `contains` is two binary searches."""

    def __init__(self, networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> None:
        self._starts: dict[int, list[int]] = {4: [], 6: []}
        self._ends: dict[int, list[int]] = {4: [], 6: []}
        spans: dict[int, list[tuple[int, int]]] = {4: [], 6: []}
        for network in networks:
            spans[network.version].append((int(network.network_address), int(network.broadcast_address)))
        for version, ranges in spans.items():
            for start, end in sorted(ranges):
                ends = self._ends[version]
                if ends and start <= ends[-1] + 1:
                    ends[-1] = max(ends[-1], end)
                else:
                    self._starts[version].append(start)
                    ends.append(end)
        self.count = len(networks)

    @classmethod
    def from_file(cls, path: Path) -> DatacenterRanges:
        networks = []
        for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            try:
                networks.append(ipaddress.ip_network(text, strict=False))
            except ValueError:
                raise DatacenterRangesInvalid(f"line {number} is not a CIDR range: {text!r}") from None
        return cls(networks)

    def contains(self, ip: str) -> bool:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        if address.version == 6 and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        value = int(address)
        starts = self._starts[address.version]
        index = bisect_right(starts, value) - 1
        return index >= 0 and value <= self._ends[address.version][index]
