"""Operator alerts (a failed or stale backup, a disk filling up): a log line, and a mail
through `footfall.mail.operator_alert` when the mail module provides it."""

from __future__ import annotations

import logging

log = logging.getLogger("footfall.ops")


def operator_alert(kind: str, message: str) -> None:
    """Tell the operators; never raises (an alert must not break what raised it)."""
    log.warning("operator alert (%s): %s", kind, message)
    try:
        from footfall import mail
    except ImportError:  # pragma: no cover - the package is part of footfall
        return
    send = getattr(mail, "operator_alert", None)
    if send is None:
        return
    try:
        send(kind, message)
    except Exception:
        log.exception("cannot send the operator alert %s", kind)
