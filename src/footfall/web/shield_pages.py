"""`/:domain/settings/shields`: a site's shield rules in the browser, for its owners and admins.

One page with a section per kind of rule (IP addresses and ranges, countries, pages, the
hostname allow-list): each lists its rules with a remove button and has a form to add one.
Every form posts back here with the CSRF token and an `action` (`add` or `remove`); a bad
value is shown in its own form with what is wrong (400), a good one redirects back with a
notice. The rules themselves are `footfall.sites.shields`'; a change is in force within
about two seconds on every replica (`footfall.ingest.shields`).
"""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute

from footfall.accounts.errors import DomainError
from footfall.meta.shields import ShieldKind
from footfall.sites.shields import (
    FIELDS,
    LABELS,
    MAX_RULES,
    add_rule,
    countries,
    get_rule,
    list_rules,
    parse_kind,
    remove_rule,
)
from footfall.web.pages import Page, settings_route

# Per kind: the section's heading and what its rules do, for the page.
SECTIONS: dict[ShieldKind, tuple[str, str]] = {
    ShieldKind.ip: (
        "IP addresses",
        "Events from these addresses or ranges are not counted: an address (203.0.113.7) or a CIDR "
        "range (203.0.113.0/24, 2001:db8::/32).",
    ),
    ShieldKind.country: ("Countries", "Events from visitors in these countries are not counted."),
    ShieldKind.page: (
        "Pages",
        "Events on these pages are not counted. * matches anything but a slash, ** anything: "
        "/admin/** is every page under /admin/.",
    ),
    ShieldKind.hostname: (
        "Hostnames",
        "With at least one hostname here, only events from pages on these hosts are counted. "
        "*.example.com is every subdomain of example.com (add example.com too for the bare domain).",
    ),
}
PLACEHOLDERS = {
    ShieldKind.ip: "203.0.113.0/24",
    ShieldKind.page: "/admin/**",
    ShieldKind.hostname: "*.example.com",
}


def shields_page(page: Page) -> Response:
    assert page.site is not None and page.user is not None
    # A refused change: which form (`kind`, or "" for the page), which field, and why.
    error: dict[str, str] = {}
    values: dict[str, str] = {}
    if page.posted:
        action = page.field("action")
        try:
            if action == "add":
                kind = parse_kind(page.field("kind"))
                values = {
                    "kind": kind.value,
                    "value": page.field(FIELDS[kind]),
                    "description": page.field("description"),
                }
                rule = add_rule(
                    page.db, page.site, kind, values["value"], values["description"], page.user.email
                )
                verb = "counted only from" if kind is ShieldKind.hostname else "blocked"
                notice = f"Added {rule.value}: events are {verb} it within seconds."
                return page.redirect(page.site_url("settings/shields"), notice)
            if action == "remove":
                rule_id = page.field("rule_id")
                if not rule_id.isascii() or not rule_id.isdigit():
                    raise DomainError("choose a rule to remove", "rule_id")
                rule = get_rule(page.db, page.site, int(rule_id))
                removed = f"Removed the {LABELS[rule.kind]} rule {rule.value}."
                remove_rule(page.db, rule)
                return page.redirect(page.site_url("settings/shields"), removed)
            raise DomainError("this form does not belong to this page: reload it and try again", "action")
        except DomainError as refused:
            page.db.rollback()  # nothing of the refused change (its epoch raise) is kept
            in_form = bool(values) and refused.field not in ("kind", "action", "rule_id")
            field = "description" if refused.field == "description" else "value"
            error = {"kind": values["kind"] if in_form else "", "field": field, "message": str(refused)}
    rules = list_rules(page.db, page.site)
    by_kind = {kind: [rule for rule in rules if rule.kind is kind] for kind in ShieldKind}
    hosts = by_kind[ShieldKind.hostname]
    domain_host = page.site.domain.split("/", 1)[0]
    own_host_dropped = bool(hosts) and not _allowed(domain_host, [rule.value for rule in hosts])
    return page.render(
        "settings/shields.html",
        status=400 if error else 200,
        tab="shields",
        kinds=list(ShieldKind),
        sections=SECTIONS,
        fields=FIELDS,
        limits=MAX_RULES,
        placeholders=PLACEHOLDERS,
        by_kind=by_kind,
        countries=countries(),
        error=error,
        values=values,
        own_host_dropped=own_host_dropped,
        domain_host=domain_host,
    )


def _allowed(host: str, patterns: list[str]) -> bool:
    from footfall.ingest.shields import compile_site

    return compile_site((ShieldKind.hostname, pattern) for pattern in patterns).host_allowed(host)


def shield_routes() -> list[BaseRoute]:
    return [settings_route("shields", shields_page, methods=["GET", "POST"])]
