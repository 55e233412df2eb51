"""The write path's reads of the metadata store (`footfall.ingest.lookups`), with SQLAlchemy.

Each object opens a short session per call; the pipeline caches what they answer, so on a
running server they are asked about once a second (shield rules), once per new domain a
second (sites) and once a day (salts).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from footfall.meta.models import Salt, Site
from footfall.meta.shields import ShieldEpoch, ShieldRule


class SiteDomains:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def find(self, domain: str) -> tuple[int, bool] | None:
        with self._sessions() as db:
            found = db.execute(select(Site.id, Site.ingest_enabled).where(Site.domain == domain)).first()
        return (int(found[0]), bool(found[1])) if found is not None else None


class SaltRows:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def load(self, day: date) -> bytes | None:
        with self._sessions() as db:
            return db.scalar(select(Salt.salt).where(Salt.day == day))

    def add(self, day: date, salt: bytes) -> bytes:
        try:
            with self._sessions() as db:
                db.add(Salt(day=day, salt=salt))
                db.commit()
        except IntegrityError:  # another replica wrote the day's salt first: that one counts
            existing = self.load(day)
            if existing is None:
                raise
            return existing
        return salt

    def delete_before(self, day: date) -> None:
        with self._sessions() as db:
            db.execute(delete(Salt).where(Salt.day < day))
            db.commit()


class ShieldRuleRows:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    def version(self) -> tuple[int, int]:
        with self._sessions() as db:
            epoch = db.scalar(select(ShieldEpoch.version).where(ShieldEpoch.id == 1)) or 0
            count = db.scalar(select(func.count()).select_from(ShieldRule)) or 0
        return int(epoch), int(count)

    def rules(self) -> list[tuple[int, str, str]]:
        with self._sessions() as db:
            found = db.execute(
                select(ShieldRule.site_id, ShieldRule.kind, ShieldRule.value).order_by(ShieldRule.id)
            ).all()
        return [(int(site_id), str(kind), value) for site_id, kind, value in found]
