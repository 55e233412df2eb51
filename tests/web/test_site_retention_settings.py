"""A site's own retention on `/:domain/settings/general` and through the Sites API: empty
for the instance's DATA_RETENTION_DAYS, a whole number of days no longer than it, and every
bad value refused with what is wrong (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from footfall.accounts.apikeys import create_api_key
from footfall.accounts.users import get_user_by_email
from footfall.meta.db import session_scope
from footfall.meta.models import Site

GENERAL = "/example.com/settings/general"


def setup(web_factory, metadata_url, **env):
    web = web_factory(metadata_url, **env)
    web.user("owner@example.com")
    site_id = web.site("example.com", "owner@example.com")
    owner = web.visitor()
    owner.log_in("owner@example.com")
    return web, owner, site_id


def stored(web, site_id: int) -> int | None:
    with session_scope(web.services.sessions) as db:
        return db.get(Site, site_id).retention_days


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "must be from 1 to 100000 days (got 0)"),
        ("-5", "must be from 1 to 100000 days (got -5)"),
        ("ten", "is not a number of days"),
        ("2.5", "is not a number of days"),
        ("91", "91 days is longer than this instance keeps events (DATA_RETENTION_DAYS=90)"),
    ],
)
def test_the_form_refuses_bad_values_and_says_why(web_factory, metadata_url, value, message) -> None:
    web, owner, site_id = setup(web_factory, metadata_url, DATA_RETENTION_DAYS="90")
    answer = owner.post(GENERAL, {"action": "retention", "retention_days": value})
    assert answer.status_code == 400
    assert message in answer.text
    assert f'name="retention_days" type="text" inputmode="numeric" value="{value}"' in answer.text
    assert stored(web, site_id) is None


def test_the_form_sets_and_clears_a_shorter_retention(web_factory, metadata_url) -> None:
    web, owner, site_id = setup(web_factory, metadata_url, DATA_RETENTION_DAYS="90")
    page = owner.get(GENERAL).text
    assert 'name="retention_days"' in page and "(90 days, <code>DATA_RETENTION_DAYS</code>)" in page
    saved = owner.post(GENERAL, {"action": "retention", "retention_days": " 30 "})
    assert saved.status_code == 303
    assert "older than 30 days are now deleted" in owner.get(saved.headers["location"]).text
    assert stored(web, site_id) == 30
    assert 'value="30"' in owner.get(GENERAL).text
    assert owner.post(GENERAL, {"action": "retention", "retention_days": "90"}).status_code == 303
    assert stored(web, site_id) == 90
    assert owner.post(GENERAL, {"action": "retention", "retention_days": ""}).status_code == 303
    assert stored(web, site_id) is None


def test_without_a_global_limit_the_form_says_so_and_any_number_of_days_is_taken(
    web_factory, metadata_url
) -> None:
    web, owner, site_id = setup(web_factory, metadata_url)
    assert "this instance sets no <code>DATA_RETENTION_DAYS</code>" in owner.get(GENERAL).text
    assert owner.post(GENERAL, {"action": "retention", "retention_days": "5000"}).status_code == 303
    assert stored(web, site_id) == 5000
    too_long = owner.post(GENERAL, {"action": "retention", "retention_days": "100001"})
    assert too_long.status_code == 400 and "must be from 1 to 100000 days" in too_long.text


def test_the_sites_api_updates_and_shows_retention_days(web_factory, metadata_url) -> None:
    web, _owner, site_id = setup(web_factory, metadata_url, DATA_RETENTION_DAYS="90")
    with session_scope(web.services.sessions) as db:
        key, _ = create_api_key(db, get_user_by_email(db, "owner@example.com"), scope="sites")
    headers = {"Authorization": f"Bearer {key}"}
    api = web.visitor().client
    shown = api.get("/api/v1/sites/example.com", headers=headers).json()
    assert shown["retention_days"] is None
    updated = api.put("/api/v1/sites/example.com", json={"retention_days": 30}, headers=headers)
    assert updated.status_code == 200, updated.text
    assert updated.json() == {"domain": "example.com", "timezone": "Etc/UTC", "retention_days": 30}
    assert api.get("/api/v1/sites/example.com", headers=headers).json()["retention_days"] == 30
    for bad, message in [
        (0, "must be from 1 to 100000 days (got 0)"),
        (-1, "must be from 1 to 100000 days (got -1)"),
        ("soon", "is not a number of days"),
        (True, "is not a number of days"),
        (12.5, "is not a number of days"),
        (120, "120 days is longer than this instance keeps events (DATA_RETENTION_DAYS=90)"),
    ]:
        refused = api.put("/api/v1/sites/example.com", json={"retention_days": bad}, headers=headers)
        assert refused.status_code == 400, bad
        assert message in refused.json()["error"], bad
    assert stored(web, site_id) == 30
    cleared = api.put("/api/v1/sites/example.com", json={"retention_days": None}, headers=headers)
    assert cleared.json()["retention_days"] is None
    assert stored(web, site_id) is None
    # Plausible's own answer is unchanged when retention_days is not given.
    assert api.put(
        "/api/v1/sites/example.com", json={"timezone": "Europe/Paris"}, headers=headers
    ).json() == {
        "domain": "example.com",
        "timezone": "Europe/Paris",
    }
