"""Annotations: a dated note on a site's graph ("Launched the pricing page").

Editors and above add and delete them from the dashboard's graph; everyone who sees the
dashboard sees them (members of any role, shared links, a public site's visitors). A note
belongs to its site (deleting the site deletes its notes); its author may be gone (the user
was deleted) and the note stays. The table is made by migration 0008; reading and
writing them is `footfall.sites.annotations`.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from footfall.meta.models import Base, utcnow

MAX_TEXT = 200  # characters: a note is a label on a graph, not a document


class Annotation(Base):
    __tablename__ = "annotations"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True, default=None
    )
    day: Mapped[date] = mapped_column(Date)
    text: Mapped[str] = mapped_column(String(MAX_TEXT))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


__all__ = ["MAX_TEXT", "Annotation"]
