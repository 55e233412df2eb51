"""site imports

Revision ID: 0005
Revises: 0004

One row per import of another tool's statistics (Plausible's CSV export, a Google Analytics 4
CSV export) into a site: where it came from, the days it covers, how many rows it brought and
its state. The rows themselves are in the event store's `imported_*` tables under the same id;
queries count them only while the state is `completed`. Deleting the site deletes its imports.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "site_imports",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.Column("progress_done", sa.BigInteger(), nullable=False),
        sa.Column("progress_total", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.String(length=2000), nullable=True),
        sa.Column("imported_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["imported_by_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("site_imports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_site_imports_site_id"), ["site_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("site_imports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_site_imports_site_id"))
    op.drop_table("site_imports")
