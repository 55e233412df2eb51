"""import checkpoint

Revision ID: 0010
Revises: 0009

An import records, as each of its tables is complete, what it has done so far (the files it
reads, the tables already in and their counts): an import cut short (the process killed)
resumes from its last complete table instead of starting again (`footfall.moving.imports`).
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    with op.batch_alter_table("site_imports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("checkpoint", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("site_imports", schema=None) as batch_op:
        batch_op.drop_column("checkpoint")
