"""Migration 0002 gives API keys a scope; keys made before it keep every power they had."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from footfall.meta.db import _alembic_config, head_revision, make_engine, migrate


def test_existing_keys_become_sites_keys_and_new_rows_default_to_it(metadata_url: str) -> None:
    engine = make_engine(metadata_url)
    try:
        config = _alembic_config(engine)
        command.upgrade(config, "0001")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO users (email, name, password_hash, is_superuser, created_at) "
                    "VALUES ('old@example.com', '', 'x', false, CURRENT_TIMESTAMP)"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO api_keys (user_id, name, key_prefix, key_hash, hourly_request_limit, "
                    "created_at) SELECT id, 'old', 'ff_old', 'hash-of-an-old-key', 600, CURRENT_TIMESTAMP "
                    "FROM users"
                )
            )
        assert migrate(engine) == head_revision(engine)
        with engine.connect() as connection:
            scopes = connection.execute(text("SELECT name, scope FROM api_keys")).all()
        assert [tuple(row) for row in scopes] == [("old", "sites:provision:*")]
        command.downgrade(config, "0001")
        with engine.connect() as connection:
            columns = connection.execute(text("SELECT * FROM api_keys")).keys()
        assert "scope" not in columns
    finally:
        engine.dispose()
