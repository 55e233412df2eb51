"""The `footfall` command: a thin layer of click commands over the library."""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from footfall import __version__
from footfall.accounts.apikeys import SCOPES, create_api_key
from footfall.accounts.errors import DomainError
from footfall.accounts.users import create_user, get_user_by_email
from footfall.commands import moving as moving_commands
from footfall.commands.accounts import reset_2fa
from footfall.commands.mail import mail as mail_commands
from footfall.commands.shield import shield
from footfall.config import ConfigError, Settings, load_settings
from footfall.events.store import EventStoreError
from footfall.meta.db import session_scope
from footfall.ops.upgrade import DowngradeRefused
from footfall.services import Services, open_services
from footfall.sites.funnels import create_funnel, delete_funnel, get_funnel, list_funnels
from footfall.sites.goals import goal_for_step
from footfall.sites.sites import create_site, get_site, list_sites
from footfall.sites.snippet import snippet


class CliError(click.ClickException):
    def show(self, file: Any = None) -> None:
        click.echo(f"footfall: error: {self.format_message()}", err=True)


class FootfallGroup(click.Group):
    """Turns every expected failure into one line on stderr and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ConfigError, DomainError, EventStoreError, DowngradeRefused) as error:
            raise CliError(str(error)) from None
        except SQLAlchemyError as error:
            first = str(error.orig if hasattr(error, "orig") and error.orig else error)
            raise CliError(f"metadata store: {first.strip().splitlines()[0]}") from None


def _settings() -> Settings:
    return load_settings()


@contextmanager
def _services(with_events: bool = False) -> Iterator[Services]:
    services = open_services(_settings(), with_events=with_events, run_migrations=True)
    try:
        yield services
    finally:
        services.close()


@click.group(cls=FootfallGroup)
@click.version_option(__version__, prog_name="footfall")
def cli() -> None:
    """footfall: privacy-first web analytics that speaks Plausible's protocol."""


@cli.command()
@click.option("--host", default=None, help="Address to listen on (default: LISTEN_IP).")
@click.option("--port", type=int, default=None, help="Port to listen on (default: HTTP_PORT).")
def serve(host: str | None, port: int | None) -> None:
    """Serve the tracker, ingestion, dashboard and APIs."""
    import uvicorn

    from footfall.app import create_app, http_protocol
    from footfall.logs import configure_logging

    settings = _settings()
    configure_logging(settings.log_level)
    host, port = host or settings.listen_ip, port or settings.http_port
    # Fail here, in one line, if the address cannot be had or the stores cannot be opened
    # (a second process on chDB, say); uvicorn gets the socket already bound.
    listening = _listen(host, port)
    try:
        services = open_services(settings, run_migrations=True)
    except BaseException:
        listening.close()
        raise
    app = create_app(settings, services)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        loop="uvloop",
        http=http_protocol(app),  # httptools, with /api/event answered without ASGI
        log_level=settings.log_level,
        proxy_headers=False,
        server_header=False,
        access_log=settings.log_level == "debug",
    )
    try:
        uvicorn.Server(config).run(sockets=[listening])
    finally:
        listening.close()
        services.close()


def _listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port, or a CliError saying why there is none."""
    if not 0 < port < 65536:
        raise CliError(f"cannot listen on port {port}: a port is 1-65535")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (OSError, UnicodeError) as error:
        raise CliError(f"cannot listen on {host!r}: not an address or a known host name ({error})") from None
    listening = socket.socket(family, kind, proto)
    try:
        listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listening.bind(address)
        listening.listen(2048)
    except OSError as error:
        listening.close()
        reason = error.strerror or str(error)
        raise CliError(f"cannot listen on {host}:{port}: {reason.lower()}") from None
    listening.set_inheritable(True)
    return listening


@cli.command()
def migrate() -> None:
    """Create or upgrade the metadata and event schemas (a running server did at its start)."""
    from footfall.commands.ops import through_server

    result = through_server("status")
    click.echo(
        f"metadata ({result['metadata']['backend']}) at revision {result['metadata']['revision']}; "
        f"events at schema version {result['events']['schema_version']}"
    )


@cli.group()
def user() -> None:
    """Manage user accounts."""


@user.command("create")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--name", default="")
@click.option("--superuser", is_flag=True, help="May see and manage every site.")
@click.option("--admin", is_flag=True, help="An instance admin (the instance's first user is one anyway).")
def user_create(email: str, password: str, name: str, superuser: bool, admin: bool) -> None:
    """Create a user."""
    with _services() as services, session_scope(services.sessions) as db:
        created = create_user(db, email, password, name, admin=admin)
        created.is_superuser = superuser
        role = " (instance admin)" if created.is_admin else ""
        click.echo(f"created user {created.email} (id {created.id}){role}")


@user.command("make-admin")
@click.argument("email")
@click.option("--revoke", is_flag=True, help="Take the admin flag away instead.")
def user_make_admin(email: str, revoke: bool) -> None:
    """Make EMAIL an instance admin (or, with --revoke, no longer one): admins see
    /settings/instance, the operator notices and get the operator alerts."""
    with _services() as services, session_scope(services.sessions) as db:
        target = get_user_by_email(db, email)
        target.is_admin = not revoke
        click.echo(f"{target.email} is {'no longer' if revoke else 'now'} an instance admin")


@cli.group()
def site() -> None:
    """Manage tracked sites."""


@site.command("create")
@click.argument("domain")
@click.option("--timezone", default="Etc/UTC", show_default=True)
@click.option("--owner", "owner_email", default=None, help="Email of the owning user.")
def site_create(domain: str, timezone: str, owner_email: str | None) -> None:
    """Create a site to track DOMAIN."""
    with _services() as services, session_scope(services.sessions) as db:
        owner = get_user_by_email(db, owner_email) if owner_email else None
        created = create_site(db, domain, timezone, owner)
        click.echo(f"created site {created.domain} ({created.timezone})")


@site.command("list")
def site_list() -> None:
    """List every site."""
    with _services() as services, session_scope(services.sessions) as db:
        sites = list_sites(db)
        if not sites:
            click.echo("no sites yet; create one with: footfall site create example.com")
            return
        width = max(len(s.domain) for s in sites)
        for s in sites:
            click.echo(f"{s.domain:<{width}}  {s.timezone:<20}  created {s.created_at:%Y-%m-%d}")


@site.command("snippet")
@click.argument("domain")
@click.option(
    "--extension",
    "extensions",
    multiple=True,
    metavar="NAME",
    help="A tracker extension (hash, outbound-links, ...); repeat it or separate names with commas.",
)
def site_snippet(domain: str, extensions: tuple[str, ...]) -> None:
    """Print the <script> tag to paste into every page of DOMAIN."""
    settings = _settings()
    with _services() as services, session_scope(services.sessions) as db:
        found = get_site(db, domain).domain
    click.echo(snippet(found, settings.base_url, extensions))


@cli.group()
def apikey() -> None:
    """Manage Stats and Sites API keys."""


@apikey.command("create")
@click.option("--email", required=True, help="The user the key acts for.")
@click.option("--name", default="default")
@click.option(
    "--scope",
    type=click.Choice(sorted(SCOPES)),
    default="sites",
    show_default=True,
    help="stats: a Stats API key (reads statistics, lists sites and goals); "
    "sites: a Sites API key, which may also create, change and delete sites, goals and shared links.",
)
def apikey_create(email: str, name: str, scope: str) -> None:
    """Create an API key and print it once."""
    with _services() as services, session_scope(services.sessions) as db:
        owner = get_user_by_email(db, email)
        raw, _key = create_api_key(db, owner, name, SCOPES[scope])
    click.echo(raw)
    click.echo("store it now: it is not shown again", err=True)


@cli.group()
def funnel() -> None:
    """Manage funnels: ordered goals whose visitors the Stats API counts step by step."""


@funnel.command("create")
@click.argument("domain")
@click.option("--name", required=True, help="The funnel's name, unique on the site.")
@click.option(
    "--step",
    "steps",
    multiple=True,
    metavar="GOAL",
    help="A step, in order; 2 to 8 of them. /path is a pageview of that path (wildcards allowed), "
    "anything else a custom event's name. Goals the site lacks are created.",
)
def funnel_create(domain: str, name: str, steps: tuple[str, ...]) -> None:
    """Create a funnel on DOMAIN from its steps, in order."""
    with _services() as services, session_scope(services.sessions) as db:
        site = get_site(db, domain)
        # If the funnel is refused, the goals made for it are rolled back with it.
        goals = [goal_for_step(db, site, step) for step in steps]
        made = create_funnel(db, site, name, goals)
        click.echo(
            f"funnel {made.id} on {site.domain}: {made.name}: {' -> '.join(g.display_name for g in goals)}"
        )


@funnel.command("list")
@click.argument("domain")
def funnel_list(domain: str) -> None:
    """List DOMAIN's funnels and their steps."""
    with _services() as services, session_scope(services.sessions) as db:
        funnels = list_funnels(db, get_site(db, domain))
        if not funnels:
            click.echo(
                f"no funnels yet; create one with: footfall funnel create {domain} --name N --step ..."
            )
            return
        for made in funnels:
            click.echo(f"{made.id}  {made.name}: {' -> '.join(s.goal.display_name for s in made.steps)}")


@funnel.command("delete")
@click.argument("domain")
@click.argument("funnel_id", type=int)
def funnel_delete(domain: str, funnel_id: int) -> None:
    """Delete DOMAIN's funnel FUNNEL_ID (its goals stay)."""
    with _services() as services, session_scope(services.sessions) as db:
        gone = get_funnel(db, get_site(db, domain), funnel_id)
        name = gone.name
        delete_funnel(db, gone)
    click.echo(f"deleted funnel {funnel_id} ({name}) from {domain}")


@cli.command()
@click.option("--domain", default="demo.example", show_default=True, help="The demo site's domain.")
@click.option(
    "--events",
    "event_count",
    type=click.IntRange(1_000, 500_000_000),
    default=150_000,
    show_default=True,
    help="About how many events to generate.",
)
@click.option("--days", type=click.IntRange(1, 400), default=30, show_default=True)
@click.option("--timezone", default="Etc/UTC", show_default=True)
@click.option("--owner", "owner_email", default=None, help="Email of a user to own the demo site.")
@click.option("--replace", is_flag=True, help="Delete the site's existing events first.")
def demo(
    domain: str, event_count: int, days: int, timezone: str, owner_email: str | None, replace: bool
) -> None:
    """Create a demo site with DAYS days of believable traffic up to today.

    While `footfall serve` runs this goes through its admin channel; with the server
    stopped it opens the stores itself. Then open the site's dashboard or query it over
    the Stats API.
    """
    from footfall.commands.ops import through_server

    result = through_server(
        "demo",
        {
            "domain": domain,
            "events": event_count,
            "days": days,
            "timezone": timezone,
            "owner": owner_email,
            "replace": replace,
        },
    )
    click.echo(
        f"{result['domain']}: {result['visits']} visits, {result['events']} events "
        f"from {result['first_day']} to {result['last_day']}"
    )
    if not owner_email:
        click.echo("superusers see it; give it to a user with --owner EMAIL", err=True)


cli.add_command(mail_commands)
user.add_command(reset_2fa)
for command in moving_commands.COMMANDS:  # import, export, imports
    cli.add_command(command)
from footfall.commands.migrate_store import migrate_store  # noqa: E402
from footfall.commands.ops import admin, backup  # noqa: E402

cli.add_command(admin)
cli.add_command(backup)
cli.add_command(shield)
cli.add_command(migrate_store)


def main() -> None:
    try:
        cli(standalone_mode=True)
    except KeyboardInterrupt:
        sys.exit(130)
