"""Who gets a site's reports and traffic alerts: adding, listing and removing recipients,
and unsubscribing by a recipient's own token (no login: the token is the permission)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from footfall.accounts.errors import DomainError
from footfall.meta.mail import ReportRecipient, TrafficAlert
from footfall.meta.models import Site

REPORT_KINDS = {"weekly": "Weekly report", "monthly": "Monthly report"}
ALERT_KINDS = {"spike": "Traffic spike", "drop": "Traffic drop"}
MAX_RECIPIENTS = 50
_ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")


def checked_address(raw: str, field: str = "email") -> str:
    address = raw.strip()
    if not _ADDRESS.match(address) or len(address) > 320:
        raise DomainError(f"{raw.strip()!r} is not an email address such as name@example.com", field=field)
    return address.lower()


def report_recipients(db: Session, site: Site) -> dict[str, list[ReportRecipient]]:
    rows = db.scalars(
        select(ReportRecipient).where(ReportRecipient.site_id == site.id).order_by(ReportRecipient.email)
    ).all()
    return {kind: [r for r in rows if r.kind == kind] for kind in REPORT_KINDS}


def add_report_recipient(db: Session, site: Site, kind: str, raw_email: str) -> ReportRecipient:
    if kind not in REPORT_KINDS:
        raise DomainError(f"unknown report {kind!r}: weekly or monthly", field="kind")
    email = checked_address(raw_email)
    existing = report_recipients(db, site)[kind]
    if any(r.email == email for r in existing):
        raise DomainError(f"{email} already gets the {kind} report", field="email")
    if len(existing) >= MAX_RECIPIENTS:
        raise DomainError(f"a report has at most {MAX_RECIPIENTS} recipients", field="email")
    row = ReportRecipient(
        site_id=site.id, kind=kind, email=email, unsubscribe_token=secrets.token_urlsafe(32)
    )
    db.add(row)
    db.flush()
    return row


def remove_report_recipient(db: Session, site: Site, recipient_id: int) -> str | None:
    row = db.get(ReportRecipient, recipient_id)
    if row is None or row.site_id != site.id:
        return None
    db.delete(row)
    return row.email


@dataclass(frozen=True)
class Unsubscription:
    email: str
    kind: str
    domain: str


def find_by_token(db: Session, token: str) -> Unsubscription | None:
    row = (
        db.scalar(select(ReportRecipient).where(ReportRecipient.unsubscribe_token == token))
        if token
        else None
    )
    if row is None:
        return None
    site = db.get(Site, row.site_id)
    return Unsubscription(row.email, row.kind, site.domain if site else "")


def unsubscribe(db: Session, token: str) -> Unsubscription | None:
    """Remove the one recipient this token was made for; None if it is unknown (or gone)."""
    found = find_by_token(db, token)
    if found is None:
        return None
    row = db.scalar(select(ReportRecipient).where(ReportRecipient.unsubscribe_token == token))
    db.delete(row)
    return found


def traffic_alerts(db: Session, site: Site) -> dict[str, TrafficAlert | None]:
    rows = {a.kind: a for a in db.scalars(select(TrafficAlert).where(TrafficAlert.site_id == site.id))}
    return {kind: rows.get(kind) for kind in ALERT_KINDS}


def parse_recipients(raw: str) -> list[str]:
    parts = [p for p in re.split(r"[\s,;]+", raw) if p]
    addresses = []
    for part in parts:
        address = checked_address(part, field="recipients")
        if address not in addresses:
            addresses.append(address)
    if len(addresses) > MAX_RECIPIENTS:
        raise DomainError(f"an alert has at most {MAX_RECIPIENTS} recipients", field="recipients")
    return addresses


def save_traffic_alert(
    db: Session, site: Site, kind: str, raw_threshold: str, raw_recipients: str
) -> TrafficAlert:
    if kind not in ALERT_KINDS:
        raise DomainError(f"unknown alert {kind!r}: spike or drop", field="kind")
    try:
        threshold = int(raw_threshold.strip())
    except ValueError:
        raise DomainError(
            f"the threshold must be a whole number of visitors, got {raw_threshold!r}", field="threshold"
        ) from None
    if not 1 <= threshold <= 10_000_000:
        raise DomainError("the threshold must be between 1 and 10,000,000 visitors", field="threshold")
    recipients = parse_recipients(raw_recipients)
    if not recipients:
        raise DomainError("give at least one address to send the alert to", field="recipients")
    alert = traffic_alerts(db, site)[kind]
    if alert is None:
        alert = TrafficAlert(
            site_id=site.id, kind=kind, threshold=threshold, recipients=", ".join(recipients)
        )
        db.add(alert)
    else:
        alert.threshold, alert.recipients = threshold, ", ".join(recipients)
    db.flush()
    return alert


def delete_traffic_alert(db: Session, site: Site, kind: str) -> bool:
    alert = traffic_alerts(db, site).get(kind)
    if alert is None:
        return False
    db.delete(alert)
    return True
