"""The one place each account link leaves footfall: invitations and password resets.

Until mail is sent (the email issue replaces the bodies of these functions with a message
enqueued through `footfall.mail`), each link is written to the log at INFO, so an operator
can hand it on. Keep the log line when `MAILER_ADAPTER=log`.
"""

from __future__ import annotations

import logging

log = logging.getLogger("footfall.accounts")


def deliver_invitation(email: str, domain: str, role: str, url: str, inviter: str) -> None:
    log.info("invitation for %s to %s as %s (from %s): %s", email, domain, role, inviter, url)


def deliver_password_reset(email: str, url: str) -> None:
    log.info("password reset link for %s: %s", email, url)
