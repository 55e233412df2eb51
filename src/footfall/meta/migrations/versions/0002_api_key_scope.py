"""API key scope

Revision ID: 0002
Revises: 0001

Each key gets one of Plausible's scopes: `stats:read:*` (Stats API only) or
`sites:provision:*` (Sites API too). Keys that exist already could use both APIs, so
they become Sites API keys: nothing that worked before this migration stops working.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("scope", sa.String(length=32), nullable=False, server_default="sites:provision:*")
        )


def downgrade() -> None:
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("scope")
