"""Mail pages: `/:domain/settings/email-reports` (report recipients and traffic alerts, for
the site's owners and admins), `/email-reports/unsubscribe/{token}` (no login), and dismissing
the notice about mail footfall gave up on (`mail.outbox.failed_notices`, shown to instance
admins by the operator banner of `web.instance_pages`)."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute

from footfall.accounts.errors import DomainError
from footfall.mail.outbox import dismiss_failed
from footfall.mail.subscriptions import (
    ALERT_KINDS,
    REPORT_KINDS,
    add_report_recipient,
    delete_traffic_alert,
    find_by_token,
    remove_report_recipient,
    report_recipients,
    save_traffic_alert,
    traffic_alerts,
    unsubscribe,
)
from footfall.web.pages import LOGIN, OPEN, Page, page_route, settings_route
from footfall.web.stats_api import row_id

# The unsubscribe link needs no user: the secret token in its URL is the permission, for its
# GET (a page asking to confirm) and its POST alike; CSRF tokens protect a session, which this
# route does not use, and mail clients' one-click unsubscribe (RFC 8058) posts without cookies.
TOKEN = OPEN


def email_reports(page: Page) -> Response:
    assert page.site is not None
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    if page.posted:
        action = page.field("action")
        try:
            if action == "add-recipient":
                kind = page.field("kind")
                values[f"email-{kind}"] = page.field("email")
                added = add_report_recipient(page.db, page.site, kind, page.field("email"))
                return page.redirect(
                    page.site_url("settings/email-reports"), f"{added.email} gets the {kind} report."
                )
            if action == "remove-recipient":
                recipient = row_id(page.field("recipient"))
                gone = remove_report_recipient(page.db, page.site, recipient) if recipient else None
                message = (
                    f"{gone} no longer gets that report." if gone else "That recipient was already removed."
                )
                return page.redirect(page.site_url("settings/email-reports"), message)
            if action == "save-alert":
                kind = page.field("kind")
                values.update(
                    {
                        f"threshold-{kind}": page.field("threshold"),
                        f"recipients-{kind}": page.field("recipients"),
                    }
                )
                save_traffic_alert(
                    page.db, page.site, kind, page.field("threshold"), page.field("recipients")
                )
                return page.redirect(
                    page.site_url("settings/email-reports"), f"{ALERT_KINDS.get(kind)} alert saved."
                )
            if action == "delete-alert":
                kind = page.field("kind")
                deleted = delete_traffic_alert(page.db, page.site, kind)
                message = (
                    f"{ALERT_KINDS.get(kind, 'The')} alert is off."
                    if deleted
                    else "That alert was already off."
                )
                return page.redirect(page.site_url("settings/email-reports"), message)
            errors["form"] = f"Unknown action {action!r}."
        except DomainError as error:
            kind = page.field("kind")
            errors[f"{error.field or 'form'}-{kind}"] = str(error)
    status = 400 if errors else 200
    return page.render(
        "settings/email_reports.html",
        status=status,
        reports=report_recipients(page.db, page.site),
        report_kinds=REPORT_KINDS,
        alerts=traffic_alerts(page.db, page.site),
        alert_kinds=ALERT_KINDS,
        errors=errors,
        values=values,
    )


def unsubscribe_page(page: Page) -> Response:
    token = page.request.path_params["token"]
    found = find_by_token(page.db, token)
    if found is None:
        return page.render("unsubscribe.html", status=404, found=None, done=False)
    return page.render("unsubscribe.html", found=found, done=False, token=token)


def unsubscribe_post(page: Page) -> Response:
    gone = unsubscribe(page.db, page.request.path_params["token"])
    if gone is None:
        return page.render("unsubscribe.html", status=404, found=None, done=False)
    return page.render("unsubscribe.html", found=gone, done=True)


def dismiss_mail_failures(page: Page) -> Response:
    user = page.user
    back = page.field("next")
    target = back if back.startswith("/") and not back.startswith("//") else "/sites"
    if user is None or not (user.is_admin or user.is_superuser):
        return page.redirect(target, "Only the instance's administrators see and dismiss mail failures.")
    count = dismiss_failed(page.db)
    return page.redirect(target, f"Dismissed {count} failed message(s).")


def mail_routes() -> list[BaseRoute]:
    path = "/email-reports/unsubscribe/{token}"
    return [
        settings_route("email-reports", email_reports, methods=["GET", "POST"]),
        page_route(path, unsubscribe_page, TOKEN, methods=["GET"]),
        page_route(path, unsubscribe_post, TOKEN, methods=["POST"], name="unsubscribe_post"),
        page_route("/settings/mail-failures/dismiss", dismiss_mail_failures, LOGIN, methods=["POST"]),
    ]
