"""Saved segments: a named list of Stats API v2 filters kept for one site.

A personal segment is seen only by its owner; a site segment by everyone who can see the
site. `["is", "segment", [id, ...]]` in a v2 query stands for the filters of those segments.
The owner may be gone (the user was deleted): the segment stays, owned by nobody, until
someone edits it. A user taken off a site loses their personal segments of it, and
their site segments of it become ownerless (`sites.remove_member`). The table is made by migration 0003.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    String,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from footfall.meta.db import session_scope
from footfall.meta.models import Base, utcnow


class SegmentType(enum.StrEnum):
    personal = "personal"
    site = "site"


class Segment(Base):
    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True, default=None
    )
    name: Mapped[str] = mapped_column(String(255))
    type: Mapped[SegmentType] = mapped_column(
        Enum(SegmentType, name="segment_type", native_enum=False, length=16)
    )
    # {"filters": [...v2 filters...], "labels": {...}?}
    segment_data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


def visible_to(user_id: int | None) -> ColumnElement[bool]:
    """The segments a user sees on a site: the site's, and their own personal ones."""
    if user_id is None:
        return Segment.type == SegmentType.site
    return or_(Segment.type == SegmentType.site, Segment.owner_id == user_id)


def segment_lookup(
    sessions: sessionmaker[Session], site_id: int, user_id: int | None
) -> Callable[[tuple[int, ...]], Mapping[int, Any]]:
    """For a Stats API query: segment id -> its saved `filters`, for the ids among those asked
    that this user may use on this site. Reads the store only when called."""

    def lookup(ids: tuple[int, ...]) -> Mapping[int, Any]:
        with session_scope(sessions) as db:
            found = db.scalars(
                select(Segment).where(Segment.site_id == site_id, Segment.id.in_(ids), visible_to(user_id))
            ).all()
            return {segment.id: (segment.segment_data or {}).get("filters") for segment in found}

    return lookup


__all__ = ["Segment", "SegmentType", "segment_lookup", "visible_to"]
