"""per-site retention

Revision ID: 0011
Revises: 0010

A site may keep its events for fewer days than the instance (`DATA_RETENTION_DAYS`):
`sites.retention_days`, empty for the instance's setting (`footfall.ops.retention`).
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retention_days", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_column("retention_days")
