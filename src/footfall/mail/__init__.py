"""Outgoing mail: the SMTP mailer, the outbox, transactional mail, reports and alerts.

What other areas call (each enqueues into the outbox inside the caller's transaction, so
no request waits for SMTP; the app process's outbox worker sends):

- `send_password_reset`, `send_email_change_confirmation`, `send_email_changed_notice`,
  `send_invitation`,
  `send_ownership_transfer`, `send_two_factor_notice` (accounts);
- `operator_alert(condition, summary, details="")` (ops, from inside a running app): mails the
  instance's admins at most once per condition every few hours.
"""

from footfall.mail.operator import operator_alert
from footfall.mail.transactional import (
    send_email_change_confirmation,
    send_email_changed_notice,
    send_invitation,
    send_ownership_transfer,
    send_password_reset,
    send_two_factor_notice,
)

__all__ = [
    "operator_alert",
    "send_email_change_confirmation",
    "send_email_changed_notice",
    "send_invitation",
    "send_ownership_transfer",
    "send_password_reset",
    "send_two_factor_notice",
]
