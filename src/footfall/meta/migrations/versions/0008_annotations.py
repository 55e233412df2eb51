"""annotations: dated notes on a site's graph

Revision ID: 0008
Revises: 0007

One row per note: its site (deleting the site deletes its notes), its author (deleting
the user leaves the note without one), its day and its text.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "annotations",
        sa.Column("id", ID, nullable=False),
        sa.Column("site_id", ID, nullable=False),
        sa.Column("author_id", ID, nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("text", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_annotations_site_id"), ["site_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_annotations_author_id"), ["author_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_annotations_author_id"))
        batch_op.drop_index(batch_op.f("ix_annotations_site_id"))
    op.drop_table("annotations")
