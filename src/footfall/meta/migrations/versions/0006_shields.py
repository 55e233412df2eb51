"""shield rules

Revision ID: 0006
Revises: 0005

A site's shield rules (IP addresses and ranges, countries and page paths whose events are
dropped; the hostnames it accepts events from), one row each, deleted with the site; and
`shield_epoch`, one row counting changes to them, which every replica polls.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "shield_rules",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("site_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("ip", "country", "page", "hostname", name="shield_kind", native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False, server_default=""),
        sa.Column("added_by", sa.String(length=320), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("site_id", "kind", "value", name="uq_shield_rules_site_kind_value"),
    )
    with op.batch_alter_table("shield_rules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shield_rules_site_id"), ["site_id"], unique=False)
    epoch = op.create_table(
        "shield_epoch",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(epoch, [{"id": 1, "version": 0}])


def downgrade() -> None:
    op.drop_table("shield_epoch")
    with op.batch_alter_table("shield_rules", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shield_rules_site_id"))
    op.drop_table("shield_rules")
