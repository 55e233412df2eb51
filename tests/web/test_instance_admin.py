"""The instance admin flag grants something real: the operator banner (mail given up on, stale
backups, low disk) and `/settings/instance` (the users of the instance); nobody else sees
either. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from footfall.accounts import operator_notices
from footfall.accounts.operator_notices import OperatorNotice
from footfall.meta.db import session_scope
from footfall.meta.mail import OutboxMessage
from footfall.meta.models import LoginSession, Membership, Role, User

PAGE = "/settings/instance"


def backup_made(directory: Path, when: datetime) -> None:
    """A backup directory as `footfall backup create` leaves it, as far as the status check
    reads it: its manifest's format and creation time."""
    folder = directory / f"footfall-{when:%Y%m%dT%H%M%SZ}"
    folder.mkdir(parents=True)
    (folder / "manifest.json").write_text(json.dumps({"format": 1, "created_at": when.isoformat()}))


@pytest.fixture
def world(web_factory, metadata_url, tmp_path):
    backups = tmp_path / "backups"
    backup_made(backups, datetime.now(UTC) - timedelta(days=3))
    web = web_factory(
        metadata_url,
        DISK_WARN_PERCENT="1",
        DISK_CRITICAL_PERCENT="100",
        BACKUP_SCHEDULE="0 * * * *",
        BACKUP_DIR=str(backups),
    )
    web.user("root@example.com", is_admin=True)
    web.user("owner@example.com")
    web.user("helper@example.com")
    web.site("shop.example", "owner@example.com")
    with session_scope(web.services.sessions) as db:
        db.add(
            OutboxMessage(
                kind="invitation",
                recipients="x@example.org",
                subject="Join",
                text_body="x",
                message_id="<walk@example.com>",
                status="failed",
                attempts=3,
                last_error="535 authentication failed",
            )
        )
    return web


def logged_in(web, email: str):
    visitor = web.visitor()
    visitor.log_in(email)
    return visitor


def notices(html: str) -> list[str]:
    return re.findall(r'<div class="notice operator ([a-z-]+) ', html)


def test_only_instance_admins_see_the_operator_banner_and_the_instance_page(world):
    root = logged_in(world, "root@example.com")
    sites = root.get("/sites").text
    assert notices(sites) == ["mail-failed", "disk-low", "backup-stale"]
    assert "1 mail could not be sent" in sites and "535 authentication failed" in sites
    assert "% full" in sites and "BACKUP_SCHEDULE (0 * * * *) asks for one every 1 h" in sites
    assert 'href="/settings/instance"' in sites
    page = root.get(PAGE)
    assert page.status_code == 200 and "DISABLE_REGISTRATION=invite_only" in page.text
    assert "3 notices above need your attention" in page.text
    owner = logged_in(world, "owner@example.com")
    assert notices(owner.get("/sites").text) == []
    assert 'href="/settings/instance"' not in owner.get("/sites").text
    assert owner.get(PAGE).status_code == 403
    assert world.visitor().get(PAGE).headers["location"].startswith("/login")
    # The instance admin reaches no site it is not a member of.
    assert root.get("/shop.example").status_code == 404


def test_a_notice_source_added_to_the_hook_reaches_the_banner(world):
    def quota(db, services) -> list[OperatorNotice]:
        return [OperatorNotice(kind="quota", message="Quota nearly used.", action="Raise it.")]

    def broken(db, services) -> list[OperatorNotice]:
        raise RuntimeError("this check is broken")

    operator_notices.NOTICE_SOURCES.extend([broken, quota])
    try:
        html = logged_in(world, "root@example.com").get("/sites").text
    finally:
        operator_notices.NOTICE_SOURCES.remove(broken)
        operator_notices.NOTICE_SOURCES.remove(quota)
    assert notices(html)[-1] == "quota" and "Quota nearly used." in html  # the broken one is skipped


def test_instance_admins_manage_the_users_of_the_instance(world):
    root = logged_in(world, "root@example.com")
    helper = logged_in(world, "helper@example.com")
    with session_scope(world.services.sessions) as db:
        ids = {u.email: u.id for u in db.scalars(select(User))}
        db.get(User, ids["helper@example.com"]).totp_secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

    def act(action: str, email: str):
        return root.post(PAGE, {"action": action, "user_id": str(ids[email])})

    listing = root.get(PAGE).text
    for email in ids:
        assert email in listing
    assert act("make_admin", "helper@example.com").status_code == 303
    assert helper.get(PAGE).status_code == 200
    assert act("unmake_admin", "helper@example.com").status_code == 303
    assert helper.get(PAGE).status_code == 403
    myself = act("unmake_admin", "root@example.com")
    assert myself.status_code == 400 and "cannot take away your own admin flag" in myself.text
    assert act("reset_2fa", "helper@example.com").status_code == 303
    assert helper.get("/settings").headers["location"].startswith("/login")  # its sessions ended
    with session_scope(world.services.sessions) as db:
        assert db.get(User, ids["helper@example.com"]).totp_secret is None
    owner = logged_in(world, "owner@example.com")
    assert act("log_out", "owner@example.com").status_code == 303
    assert owner.get("/settings").headers["location"].startswith("/login")
    owns = act("delete", "owner@example.com")
    assert owns.status_code == 400 and "owns 1 site(s)" in owns.text
    assert act("delete", "helper@example.com").status_code == 303
    with session_scope(world.services.sessions) as db:
        assert db.get(User, ids["helper@example.com"]) is None
        assert (
            db.scalars(select(LoginSession).where(LoginSession.user_id == ids["helper@example.com"])).all()
            == []
        )
        assert (
            db.scalar(select(Membership.role).where(Membership.user_id == ids["owner@example.com"]))
            is Role.owner
        )
    unknown = root.post(PAGE, {"action": "delete", "user_id": "999999"})
    assert unknown.status_code == 400 and "no such user" in unknown.text
