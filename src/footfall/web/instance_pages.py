"""The instance admins' part of the pages: the operator banner on every page they open
(`footfall.accounts.operator_notices`), and `/settings/instance` (notices, registration mode,
the users of the instance: `footfall.accounts.instance`). Other users get 403 there and see no
banner."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import BaseRoute

from footfall.accounts import instance
from footfall.accounts.errors import DomainError
from footfall.accounts.operator_notices import OperatorNotice, is_instance_admin, operator_notices
from footfall.web.pages import INSTANCE_ADMIN, Page, page_route, templates
from footfall.web.stats_api import row_id

REGISTRATION = {
    "false": "Anyone may register.",
    "true": "Nobody may register: new users only through the command line or an admin.",
    "invite_only": "Only someone holding an invitation link to a site may register.",
}


def _banner(page: Page) -> list[OperatorNotice]:
    """For base.html: the notices, for instance admins only (nothing for anyone else)."""
    if not is_instance_admin(page.user):
        return []
    return operator_notices(page.db, page.services)


templates.globals["operator_notices"] = _banner


def _user_id(page: Page) -> int:
    value = row_id(page.field("user_id"))
    if value is None:
        raise DomainError("user_id: not a valid id", field="user_id")
    return value


def _reset_2fa(page: Page) -> str:
    user, ended = instance.reset_two_factor(page.db, _user_id(page))
    return f"Two-factor authentication of {user.email} is off; {ended} session(s) ended."


def _log_out(page: Page) -> str:
    assert page.user is not None
    user, ended = instance.log_out_everywhere(page.db, page.user, _user_id(page))
    return f"{user.email} is logged out everywhere ({ended} session(s) ended)."


def _make_admin(page: Page) -> str:
    assert page.user is not None
    user = instance.set_admin(page.db, page.user, _user_id(page), True)
    return f"{user.email} is an instance admin now."


def _unmake_admin(page: Page) -> str:
    assert page.user is not None
    user = instance.set_admin(page.db, page.user, _user_id(page), False)
    return f"{user.email} is no longer an instance admin."


def _delete(page: Page) -> str:
    assert page.user is not None
    email = instance.delete_user(page.db, page.user, _user_id(page))
    return f"The user {email} is deleted."


_ACTIONS = {
    "reset_2fa": _reset_2fa,
    "log_out": _log_out,
    "make_admin": _make_admin,
    "unmake_admin": _unmake_admin,
    "delete": _delete,
}


def instance_settings(page: Page) -> Response:
    error = None
    if page.posted:
        action = _ACTIONS.get(page.field("action"))
        try:
            if action is None:
                raise DomainError("unknown action")
            with page.db.begin_nested():
                notice = action(page)
        except DomainError as failure:
            error = str(failure)
        else:
            return page.redirect("/settings/instance", notice)
    mode = page.settings.disable_registration
    return page.render(
        "instance.html",
        users=instance.list_users(page.db),
        notices=operator_notices(page.db, page.services),
        registration=mode,
        registration_text=REGISTRATION.get(mode, mode),
        error=error,
        status=400 if error else 200,
    )


def instance_routes() -> list[BaseRoute]:
    return [page_route("/settings/instance", instance_settings, INSTANCE_ADMIN, methods=["GET", "POST"])]
