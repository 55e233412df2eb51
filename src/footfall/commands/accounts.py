"""Account commands: `footfall user reset-2fa EMAIL`, for an admin whose user lost their
authenticator and recovery codes. It turns two-factor authentication off for that user and
ends their sessions; they log in with their password and may enrol again."""

from __future__ import annotations

import click

from footfall.accounts.logins import end_all_sessions
from footfall.accounts.twofactor import disable
from footfall.accounts.users import get_user_by_email
from footfall.config import load_settings
from footfall.meta.db import session_scope
from footfall.services import open_services


@click.command("reset-2fa")
@click.argument("email")
def reset_2fa(email: str) -> None:
    """Turn off two-factor authentication of the user EMAIL (and end their sessions)."""
    services = open_services(load_settings(), with_events=False, run_migrations=True)
    try:
        with session_scope(services.sessions) as db:
            user = get_user_by_email(db, email)
            was_on = user.totp_secret is not None
            disable(db, user)
            ended = end_all_sessions(db, user)
    finally:
        services.close()
    state = "turned off" if was_on else "was already off"
    click.echo(f"two-factor authentication of {user.email} {state}; {ended} session(s) ended")
