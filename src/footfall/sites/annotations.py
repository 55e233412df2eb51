"""A site's annotations (dated notes on its graph): list, add, delete, checked.

Who may do what is the caller's (the dashboard's routes: editors and above write, everyone
who sees the dashboard reads); the model is `footfall.meta.annotations`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from footfall.accounts.errors import DomainError
from footfall.meta.annotations import MAX_TEXT, Annotation

MAX_PER_SITE = 1000


def annotation_json(note: Annotation) -> dict[str, Any]:
    return {"id": note.id, "date": note.day.isoformat(), "text": note.text}


def site_annotations(db: Session, site_id: int) -> list[Annotation]:
    """The site's notes, oldest day first."""
    return list(
        db.scalars(
            select(Annotation).where(Annotation.site_id == site_id).order_by(Annotation.day, Annotation.id)
        )
    )


def parse_day(raw: Any) -> date:
    if not isinstance(raw, str):
        raise DomainError("`date` must be a day as YYYY-MM-DD", field="date")
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise DomainError(f"`date` {raw[:20]!r} is not a day as YYYY-MM-DD", field="date") from None
    if len(raw) != 10 or not 2000 <= day.year <= 2100:
        raise DomainError("`date` must be a day as YYYY-MM-DD between 2000 and 2100", field="date")
    return day


def clean_text(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise DomainError("`text` must be a non-empty string", field="text")
    text = " ".join(raw.split())  # one line: a label on a graph
    if "\x00" in text:
        raise DomainError("`text` may not hold NUL characters", field="text")
    if len(text) > MAX_TEXT:
        raise DomainError(f"`text` must be at most {MAX_TEXT} characters", field="text")
    return text


def add_annotation(db: Session, site_id: int, author_id: int | None, day: Any, text: Any) -> Annotation:
    note = Annotation(site_id=site_id, author_id=author_id, day=parse_day(day), text=clean_text(text))
    count = db.scalar(select(func.count(Annotation.id)).where(Annotation.site_id == site_id)) or 0
    if count >= MAX_PER_SITE:
        raise DomainError(f"a site may have at most {MAX_PER_SITE} annotations; delete one first")
    db.add(note)
    db.flush()
    return note


def delete_annotation(db: Session, site_id: int, annotation_id: int) -> Annotation | None:
    """The deleted note, or None when the site has no such note."""
    note = db.get(Annotation, annotation_id)
    if note is None or note.site_id != site_id:
        return None
    db.delete(note)
    db.flush()
    return note


__all__ = [
    "MAX_PER_SITE",
    "add_annotation",
    "annotation_json",
    "delete_annotation",
    "site_annotations",
]
