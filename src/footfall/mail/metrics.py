"""Mail counters on /metrics: sent, failed attempts by reason, given up, and the outbox."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

SENT = Counter("footfall_mail_sent", "Messages the SMTP relay accepted, by kind of mail.", ["kind"])
FAILURES = Counter(
    "footfall_mail_failures",
    "Failed attempts to send a message, by reason (connection_refused, tls_mismatch, certificate, "
    "auth_failed, sender_refused, ...).",
    ["reason"],
)
GIVEN_UP = Counter(
    "footfall_mail_given_up",
    "Messages given up on after their last attempt (shown to admins in settings), by kind.",
    ["kind"],
)
OUTBOX = Gauge(
    "footfall_mail_outbox", "Messages in the outbox by status (queued, sending, failed).", ["status"]
)
