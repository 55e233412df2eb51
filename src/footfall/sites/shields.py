"""Shields: a site's rules for events it does not want counted, as Plausible's shields.

Three block lists and one allow-list per site, each rule one row (`footfall.meta.shields`):
- `ip`: an IPv4 or IPv6 address or CIDR range (`203.0.113.7`, `203.0.113.0/24`,
  `2001:db8::/32`); at most 30;
- `country`: an ISO 3166-1 alpha-2 code (`DE`), as the country lookup gives it; at most 30;
- `page`: a page path, `*` matching anything but `/` and `**` anything, as goal paths do
  (`/admin/**`, `/drafts/*`); at most 30;
- `hostname`: the allow-list, at most 10: once it has a rule, events whose page host
  matches none of them are dropped. `*` matches any characters, dots too, as in Plausible:
  `*.example.com` is every subdomain of example.com (but not example.com itself).

Events a rule catches are dropped by the ingestion pipeline's `drop_shield` step
(`footfall.ingest.shields` holds the compiled rules every replica matches against).
Every function that changes rules raises the shield epoch in the same transaction, which
is how each replica learns within a second or two that it should read them again.

Values are normalised before they are stored and compared, so a rule is a duplicate
whatever way it was written (`2001:DB8::1/128` is `2001:db8::1`, `www.Example.com` is
`example.com`, `de` is `DE`).
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from urllib.parse import urlsplit

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from footfall.accounts.errors import Conflict, DomainError, NotFound
from footfall.meta.models import Site
from footfall.meta.shields import ShieldEpoch, ShieldKind, ShieldRule
from footfall.wildcards import wildcard_regex

MAX_RULES: dict[ShieldKind, int] = {
    ShieldKind.ip: 30,
    ShieldKind.country: 30,
    ShieldKind.page: 30,
    ShieldKind.hostname: 10,
}
MAX_PAGE_PATH = 250
MAX_HOSTNAME = 253
MAX_DESCRIPTION = 200

# What each kind is called in messages, and the form field / API field that carries it.
LABELS: dict[ShieldKind, str] = {
    ShieldKind.ip: "IP",
    ShieldKind.country: "country",
    ShieldKind.page: "page path",
    ShieldKind.hostname: "hostname",
}
FIELDS: dict[ShieldKind, str] = {
    ShieldKind.ip: "ip",
    ShieldKind.country: "country",
    ShieldKind.page: "page_path",
    ShieldKind.hostname: "hostname",
}
# Kosovo: not in ISO 3166-1, but the code MaxMind and DB-IP files give its addresses.
_EXTRA_COUNTRIES = {"XK": "Kosovo"}
_HOST_LABEL = re.compile(r"^[a-z0-9_*](?:[a-z0-9_*-]*[a-z0-9_*])?$")


def parse_kind(text: str) -> ShieldKind:
    try:
        return ShieldKind((text or "").strip().lower())
    except ValueError:
        kinds = ", ".join(kind.value for kind in ShieldKind)
        raise DomainError(f"{text!r} is not a kind of shield rule: one of {kinds}", field="kind") from None


@lru_cache(maxsize=1)
def countries() -> dict[str, str]:
    """ISO 3166-1 alpha-2 code -> English name, for validation and the page's list."""
    import pycountry

    names = {
        country.alpha_2: getattr(country, "common_name", country.name) for country in pycountry.countries
    }
    names.update(_EXTRA_COUNTRIES)
    return dict(sorted(names.items(), key=lambda item: item[1]))


def normalise_ip(raw: str) -> str:
    """`203.0.113.7`, `203.0.113.0/24`, `2001:DB8::/32`, `::ffff:203.0.113.7` -> their canonical text
    (a single address without its `/32` or `/128`; IPv4-mapped IPv6 as IPv4)."""
    text = (raw or "").strip()
    if not text:
        raise DomainError(
            "an IP rule needs an address or a range, such as 203.0.113.7 or 203.0.113.0/24", "ip"
        )
    if "%" in text:
        raise DomainError(
            f"{text!r}: an address with a zone (%...) cannot be matched; leave the zone out", "ip"
        )
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError:
        try:
            loose = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise DomainError(
                f"{text!r} is not an IP address or CIDR range, such as 203.0.113.7, 203.0.113.0/24 "
                "or 2001:db8::/32",
                "ip",
            ) from None
        raise DomainError(
            f"{text} has bits set after its prefix: the range is {loose.with_prefixlen}; "
            "write that, or the address alone",
            "ip",
        ) from None
    if isinstance(network, ipaddress.IPv6Network) and network.prefixlen >= 96:
        mapped = network.network_address.ipv4_mapped
        if mapped is not None:
            network = ipaddress.IPv4Network((mapped, network.prefixlen - 96))
    if network.prefixlen == network.max_prefixlen:
        return str(network.network_address)
    return network.with_prefixlen


def normalise_country(raw: str) -> str:
    """`de` -> `DE`; only codes the country lookup can give."""
    text = (raw or "").strip()
    code = text.upper()
    if not text:
        raise DomainError("a country rule needs a country code, such as DE or US", "country")
    if code not in countries():
        hint = ""
        for known, name in countries().items():
            if name.casefold() == text.casefold():
                hint = f" ({name} is {known})"
                break
        raise DomainError(
            f"{text!r} is not a country code: use ISO 3166-1 alpha-2 codes such as DE or US{hint}", "country"
        )
    return code


def normalise_page(raw: str) -> str:
    """A page path, with the `/` it starts with added when missing; `*` and `**` are wildcards."""
    text = (raw or "").strip()
    if text and not text.startswith("/"):
        text = "/" + text
    if not text:
        raise DomainError("a page rule needs a path, such as /admin/** or /drafts/*", "page_path")
    if len(text) > MAX_PAGE_PATH:
        raise DomainError(f"a page path is at most {MAX_PAGE_PATH} characters, not {len(text)}", "page_path")
    if any(character.isspace() or not character.isprintable() for character in text):
        raise DomainError(f"{text!r}: a page path has no spaces or control characters", "page_path")
    if text in ("/**", "/*/**", "/**/**"):
        raise DomainError(
            f"{text} would block every page; to stop counting the site, disable it", "page_path"
        )
    return text


def normalise_hostname(raw: str) -> str:
    """`https://www.Example.com:8080/` -> `example.com` (the host as events carry it: lower
    case, without `www.`); `*` is a wildcard (`*.example.com`)."""
    text = (raw or "").strip().lower()
    if "://" in text:
        try:
            text = urlsplit(text.replace("*", "wildcard-")).hostname or ""
        except ValueError:
            text = ""
        text = text.replace("wildcard-", "*")
    text = text.split("/", 1)[0].rstrip(".")
    if text.count(":") == 1:  # a port
        text = text.split(":", 1)[0]
    text = text.removeprefix("www.")
    if not text:
        raise DomainError(
            "a hostname rule needs a hostname, such as example.com or *.example.com", "hostname"
        )
    if not text.isascii():
        try:
            text = ".".join(
                label if "*" in label else label.encode("idna").decode("ascii") for label in text.split(".")
            )
        except UnicodeError:
            raise DomainError(f"{raw.strip()!r} is not a hostname", "hostname") from None
    labels = text.split(".")
    if len(text) > MAX_HOSTNAME or not all(_HOST_LABEL.match(label) for label in labels):
        raise DomainError(
            f"{raw.strip()!r} is not a hostname such as example.com or *.example.com", "hostname"
        )
    if not text.replace("*", "").replace(".", ""):
        raise DomainError(
            f"{text} would allow every hostname; to accept every hostname, remove the allow-list's rules",
            "hostname",
        )
    return text


_NORMALISE = {
    ShieldKind.ip: normalise_ip,
    ShieldKind.country: normalise_country,
    ShieldKind.page: normalise_page,
    ShieldKind.hostname: normalise_hostname,
}


def normalise(kind: ShieldKind, value: str) -> str:
    """`value` as a rule of `kind` stores it, or a DomainError naming what is wrong."""
    if not isinstance(value, str):
        raise DomainError(f"a {LABELS[kind]} rule's value is text", FIELDS[kind])
    return _NORMALISE[kind](value)


def page_regex(pattern: str) -> str:
    """A page rule as a regular expression over the whole path (`footfall.wildcards`: `**`
    matches anything, `*` anything but a slash, as goal paths and page filters)."""
    return wildcard_regex(pattern)


def hostname_regex(pattern: str) -> str:
    """A hostname rule as a regular expression over the whole host: `*` matches anything."""
    return ".*".join(re.escape(part) for part in re.split(r"\*+", pattern))


def add_rule(
    db: Session, site: Site, kind: ShieldKind, value: str, description: str = "", added_by: str = ""
) -> ShieldRule:
    """Add one rule to `site`; refuses a bad value, a duplicate, and one over the kind's limit."""
    normalised = normalise(kind, value)
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise DomainError(f"a description is at most {MAX_DESCRIPTION} characters", "description")
    # The epoch first: on PostgreSQL its row lock makes concurrent changes wait for each
    # other, so two adds cannot both pass the limit; on SQLite it takes the write lock
    # before the reads below, so the transaction cannot fail to upgrade later.
    raise_epoch(db)
    existing = db.scalar(
        select(ShieldRule).where(
            ShieldRule.site_id == site.id, ShieldRule.kind == kind, ShieldRule.value == normalised
        )
    )
    if existing is not None:
        raise Conflict(f"{site.domain} already has the {LABELS[kind]} rule {normalised}", FIELDS[kind])
    count = db.scalar(
        select(func.count())
        .select_from(ShieldRule)
        .where(ShieldRule.site_id == site.id, ShieldRule.kind == kind)
    )
    limit = MAX_RULES[kind]
    if (count or 0) >= limit:
        raise DomainError(
            f"{site.domain} has {limit} {LABELS[kind]} rules, the most a site may have; remove one first",
            FIELDS[kind],
        )
    rule = ShieldRule(
        site_id=site.id, kind=kind, value=normalised, description=description, added_by=added_by or ""
    )
    db.add(rule)
    db.flush()
    return rule


def list_rules(db: Session, site: Site, kind: ShieldKind | None = None) -> list[ShieldRule]:
    """The site's rules, by kind (ip, country, page, hostname), oldest first within each."""
    query = select(ShieldRule).where(ShieldRule.site_id == site.id)
    if kind is not None:
        query = query.where(ShieldRule.kind == kind)
    order = {kind: number for number, kind in enumerate(ShieldKind)}
    return sorted(db.scalars(query.order_by(ShieldRule.id)), key=lambda rule: order[rule.kind])


def find_rule(db: Session, site: Site, kind: ShieldKind, value: str) -> ShieldRule:
    """The site's rule of `kind` for `value` (however written); NotFound if it has none."""
    try:
        normalised = normalise(kind, value)
    except DomainError:
        normalised = (value or "").strip()
    rule = db.scalar(
        select(ShieldRule).where(
            ShieldRule.site_id == site.id, ShieldRule.kind == kind, ShieldRule.value == normalised
        )
    )
    if rule is None:
        raise NotFound(f"{site.domain} has no {LABELS[kind]} rule {normalised}", FIELDS[kind])
    return rule


def get_rule(db: Session, site: Site, rule_id: int) -> ShieldRule:
    """The site's rule with that id; another site's rule reads as unknown."""
    rule = None
    if 1 <= rule_id < 2**63:
        rule = db.scalar(select(ShieldRule).where(ShieldRule.id == rule_id, ShieldRule.site_id == site.id))
    if rule is None:
        raise NotFound(f"{site.domain} has no shield rule {rule_id}", "rule_id")
    return rule


def remove_rule(db: Session, rule: ShieldRule) -> None:
    raise_epoch(db)
    db.delete(rule)
    db.flush()


def raise_epoch(db: Session) -> None:
    """Count one more change to shield rules (in the caller's transaction)."""
    done = db.execute(update(ShieldEpoch).where(ShieldEpoch.id == 1).values(version=ShieldEpoch.version + 1))
    if not getattr(done, "rowcount", 1):  # the row is made by the migration; made again if removed
        db.add(ShieldEpoch(id=1, version=1))
    db.flush()
