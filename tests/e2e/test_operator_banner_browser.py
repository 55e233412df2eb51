"""The operator banner in Debian's chromium: a footfall whose disk is over DISK_WARN_PERCENT
shows its first user (the instance admin) the notice on every page, and nobody else.
Screenshots at 1280 and 360 px go to `$FOOTFALL_SCREENSHOTS` (else a temporary folder)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tests.e2e.conftest import log_in, new_page
from tests.e2e.harness import FootfallServer
from tests.e2e.test_accounts_browser import shoot


def test_the_instance_admin_sees_the_low_disk_notice_and_a_member_does_not(
    tmp_path: Path, browser: Any, built_tracker: Path
) -> None:
    shots = Path(os.environ.get("FOOTFALL_SCREENSHOTS") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    # Every disk is more than 1% full: the warning level, whatever machine runs the test.
    server = FootfallServer(tmp_path / "data", env={"DISK_WARN_PERCENT": "1", "DISK_CRITICAL_PERCENT": "100"})
    server.start()
    try:
        admin = new_page(browser)
        admin.goto(server.url + "/register")
        admin.get_by_label("Email").fill("root@ops.test")
        admin.get_by_label("Password", exact=True).fill("the operator's passphrase")
        admin.get_by_label("Password again").fill("the operator's passphrase")
        admin.get_by_role("button", name="Create account").click()
        admin.wait_for_url("**/sites/new")
        admin.goto(server.url + "/sites")
        banner = admin.locator(".operator-notices .notice.disk-low")
        assert banner.count() == 1
        assert "% full" in banner.inner_text() and "DISK_WARN_PERCENT=1" in banner.inner_text()
        shoot(admin, shots, "operator-banner")
        admin.get_by_role("link", name="Instance").click()
        admin.wait_for_url("**/settings/instance")
        assert "1 notice above needs your attention" in admin.content()
        server.cli("user", "create", "--email", "member@ops.test", "--password", "the member's passphrase")
        member = new_page(browser)
        log_in(member, server.url, "member@ops.test", "the member's passphrase")
        member.wait_for_url("**/sites")
        assert member.locator(".operator-notices").count() == 0
        assert member.get_by_role("link", name="Instance").count() == 0
        refused = member.goto(server.url + "/settings/instance")
        assert refused is not None and refused.status == 403
        admin.context.close()
        member.context.close()
    finally:
        server.stop()
