"""Upgrading the metadata schema keeps every row: SQLite's batch migrations copy a table and
drop the old one, which with foreign keys on would cascade into every table pointing at it."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from footfall.meta.db import _alembic_config, make_engine, migrate

TABLES = ("users", "sites", "site_memberships", "goals", "shared_links", "api_keys")


def test_upgrading_from_the_first_schema_keeps_users_sites_members_goals_links_and_keys(
    metadata_url: str,
) -> None:
    engine = make_engine(metadata_url)
    try:
        command.upgrade(_alembic_config(engine), "0001")
        with engine.begin() as connection:
            for statement in (
                "INSERT INTO users (email, name, password_hash, is_superuser, created_at) "
                "VALUES ('owner@example.com', '', 'x', false, CURRENT_TIMESTAMP)",
                "INSERT INTO sites (domain, timezone, public, ingest_enabled, created_at, updated_at) "
                "VALUES ('example.com', 'UTC', false, true, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
                "INSERT INTO site_memberships (site_id, user_id, role, created_at) "
                "SELECT sites.id, users.id, 'owner', CURRENT_TIMESTAMP FROM sites, users",
                "INSERT INTO goals (site_id, event_name, display_name, created_at) "
                "SELECT id, 'Signup', 'Signup', CURRENT_TIMESTAMP FROM sites",
                "INSERT INTO shared_links (site_id, name, slug, created_at) "
                "SELECT id, 'press', 'slug-1', CURRENT_TIMESTAMP FROM sites",
                "INSERT INTO api_keys (user_id, name, key_prefix, key_hash, hourly_request_limit, "
                "created_at) SELECT id, 'k', 'ff_k', 'hash', 600, CURRENT_TIMESTAMP FROM users",
            ):
                connection.execute(text(statement))
        migrate(engine)
        with engine.connect() as connection:
            counts = {t: connection.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in TABLES}
        assert counts == dict.fromkeys(TABLES, 1)
    finally:
        engine.dispose()
