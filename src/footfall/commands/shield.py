"""`footfall shield add|list|remove DOMAIN ...`: a site's shield rules from the command line.

A thin layer over `footfall.sites.shields`; a rule added or removed here is in force in a
running footfall (every replica) within about two seconds. Errors (a bad address, an
unknown country code, a duplicate, too many rules) are one line on stderr, exit status 1,
through `footfall.cli.FootfallGroup`.
"""

from __future__ import annotations

import click

from footfall.config import load_settings
from footfall.meta.db import session_scope
from footfall.meta.shields import ShieldKind
from footfall.services import open_services
from footfall.sites.shields import LABELS, add_rule, find_rule, list_rules, parse_kind, remove_rule
from footfall.sites.sites import get_site

KINDS = "|".join(kind.value for kind in ShieldKind)
ADDED_BY = "command line"


@click.group()
def shield() -> None:
    """Manage a site's shields: events from blocked addresses, countries or pages, or from
    hosts outside its allow-list, are dropped.

    KIND is ip (an address or CIDR range, IPv4 or IPv6), country (an ISO code such as DE),
    page (a path; * matches anything but /, ** anything) or hostname (the allow-list;
    *.example.com for every subdomain)."""


@shield.command("add")
@click.argument("domain")
@click.argument("kind", metavar="KIND")
@click.argument("value")
@click.option("--description", default="", help="Why the rule is there (shown in lists).")
def shield_add(domain: str, kind: str, value: str, description: str) -> None:
    """Add a rule of KIND for VALUE to DOMAIN's shields."""
    services = open_services(load_settings(), with_events=False, run_migrations=True)
    try:
        with session_scope(services.sessions) as db:
            site = get_site(db, domain)
            rule = add_rule(db, site, parse_kind(kind), value, description, ADDED_BY)
            what = f"{LABELS[rule.kind]} rule {rule.value}"
            site_domain = site.domain
    finally:
        services.close()
    verb = "allows events from" if rule.kind is ShieldKind.hostname else "blocks"
    click.echo(f"{site_domain}: added the {what} (id {rule.id}); {site_domain} {verb} it within seconds")


@shield.command("list")
@click.argument("domain")
@click.option("--kind", default=None, metavar=KINDS, help="Only rules of this kind.")
def shield_list(domain: str, kind: str | None) -> None:
    """List DOMAIN's shield rules: id, kind, value, description, who added it, when."""
    services = open_services(load_settings(), with_events=False, run_migrations=True)
    try:
        with session_scope(services.sessions) as db:
            site = get_site(db, domain)
            rules = list_rules(db, site, parse_kind(kind) if kind else None)
            site_domain = site.domain
            lines = [
                (
                    str(r.id),
                    r.kind.value,
                    r.value,
                    r.description or "-",
                    r.added_by or "-",
                    f"{r.created_at:%Y-%m-%d}",
                )
                for r in rules
            ]
    finally:
        services.close()
    if not lines:
        click.echo(f"{site_domain} has no shield rules{f' of kind {kind}' if kind else ''}")
        return
    widths = [max(len(line[column]) for line in lines) for column in range(5)]
    for line in lines:
        click.echo(
            "  ".join(f"{cell:<{width}}" for cell, width in zip(line[:5], widths, strict=True))
            + f"  {line[5]}"
        )


@shield.command("remove")
@click.argument("domain")
@click.argument("kind", metavar="KIND")
@click.argument("value")
def shield_remove(domain: str, kind: str, value: str) -> None:
    """Remove DOMAIN's rule of KIND for VALUE (written as it was added, or any equivalent form)."""
    services = open_services(load_settings(), with_events=False, run_migrations=True)
    try:
        with session_scope(services.sessions) as db:
            site = get_site(db, domain)
            rule = find_rule(db, site, parse_kind(kind), value)
            what = f"{LABELS[rule.kind]} rule {rule.value}"
            remove_rule(db, rule)
            site_domain = site.domain
    finally:
        services.close()
    click.echo(f"{site_domain}: removed the {what}")
