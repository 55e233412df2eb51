"""`footfall mail ...`: check the mail set-up from the command line."""

from __future__ import annotations

import socket
from datetime import UTC, datetime

import click

from footfall.config import load_settings
from footfall.mail.mailer import MailError, Message, mailer_for

# `footfall mail test`'s exit status per failure (README, "Mail"); 1 is a bad setting.
EXIT_CODES = {
    "connection_refused": 3,
    "connection_failed": 3,
    "timeout": 3,
    "tls_mismatch": 4,
    "starttls_required": 4,
    "certificate": 5,
    "auth_unsupported": 6,
    "auth_failed": 6,
    "sender_refused": 7,
    "recipient_refused": 8,
    "data_refused": 8,
    "protocol": 9,
}


class _Error(click.ClickException):
    """One line, as every footfall error is (cli.CliError; not imported: cli imports us)."""

    def show(self, file: object = None) -> None:
        click.echo(f"footfall: error: {self.format_message()}", err=True)


@click.group()
def mail() -> None:
    """Outgoing mail: test the SMTP relay."""


@mail.command("test")
@click.option("--to", "to", required=True, metavar="ADDRESS", help="Where to send the test message.")
@click.option(
    "--timeout",
    type=click.FloatRange(0.5, 300),
    default=10.0,
    show_default=True,
    help="Seconds to wait for the server's greeting and for each answer.",
)
def mail_test(to: str, timeout: float) -> None:
    """Send a test message now, through MAILER_* / SMTP_*, and print the server's answer."""
    if "@" not in to or to.strip() != to or to.startswith("@") or to.endswith("@"):
        raise _Error(f"--to: {to!r} is not an email address")
    settings = load_settings()
    if settings.mail.adapter == "log":
        raise _Error(
            "MAILER_ADAPTER is log: messages are written to the log, never sent; "
            "set SMTP_HOST_ADDR (and MAILER_ADAPTER=smtp) to test a relay"
        )
    mailer = mailer_for(settings.mail, timeout=timeout, greeting_timeout=timeout)
    now = datetime.now(UTC)
    message = Message(
        to=(to,),
        subject="footfall test message",
        text=(
            f"This message was sent by `footfall mail test` on {socket.gethostname()} "
            f"at {now:%Y-%m-%d %H:%M:%S} UTC, through {mailer.where}.\n\n"
            f"footfall at {settings.base_url} can send mail: password resets, invitations, "
            "reports and alerts will arrive.\n"
        ),
    )
    try:
        sent = mailer.send(message)
    except MailError as error:
        click.echo(f"footfall: error: {error}", err=True)
        raise SystemExit(EXIT_CODES.get(error.reason, 9)) from None
    login = f", logged in as {settings.mail.smtp.username}" if settings.mail.smtp.username else ""
    click.echo(f"sent to {to} through {mailer.where} ({sent.how}{login}): {sent.reply}")
