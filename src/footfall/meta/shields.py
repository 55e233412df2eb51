"""Shield rules: a site's block lists (IP addresses and ranges, countries, page paths) and
its hostname allow-list, as the metadata store keeps them (tables made by migration 0006).

`ShieldEpoch` is one row whose `version` goes up by one in the transaction of every change
to any site's rules (`footfall.sites.shields`), so that each running replica notices a
change by reading one number a second (`footfall.ingest.shields`) instead of the rules.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from footfall.meta.models import Base, utcnow


class ShieldKind(enum.StrEnum):
    ip = "ip"  # an address or a CIDR range, IPv4 or IPv6: blocked
    country = "country"  # an ISO 3166-1 alpha-2 code: blocked
    page = "page"  # a page path with `*` / `**` wildcards: blocked
    hostname = "hostname"  # a page host (wildcards allowed): the allow-list


class ShieldRule(Base):
    __tablename__ = "shield_rules"
    __table_args__ = (UniqueConstraint("site_id", "kind", "value", name="uq_shield_rules_site_kind_value"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ShieldKind] = mapped_column(
        Enum(ShieldKind, name="shield_kind", native_enum=False, length=16)
    )
    value: Mapped[str] = mapped_column(String(255))  # normalised (footfall.sites.shields)
    description: Mapped[str] = mapped_column(String(200), default="")
    added_by: Mapped[str] = mapped_column(String(320), default="")  # who added it (an email, or "cli")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ShieldEpoch(Base):
    """One row (id 1): the number of changes made to shield rules so far."""

    __tablename__ = "shield_epoch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


__all__ = ["ShieldEpoch", "ShieldKind", "ShieldRule"]
