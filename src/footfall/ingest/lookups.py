"""What the write path reads of the metadata store, as objects it is given.

The pipeline needs three things the metadata store holds: which site a domain is (and
whether it takes events), the daily salts, and the shield rules. It never opens a database
session for them itself: it is given an `IngestLookups` (`Services.ingest_lookups()` makes
the one backed by SQLAlchemy, `footfall.meta.lookups`), and keeps its own caches in front
of it (`pipeline.SiteGate`, `identity.Salts`, `shields.ShieldSnapshot`). A test or another
store passes any objects with these methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol


class SiteDirectory(Protocol):
    def find(self, domain: str) -> tuple[int, bool] | None:
        """(site id, ingest enabled) of the site with this domain, or None if there is none."""


class SaltStore(Protocol):
    def load(self, day: date) -> bytes | None:
        """The salt of one UTC day, if it was written."""

    def add(self, day: date, salt: bytes) -> bytes:
        """Write the day's salt; if another replica wrote one first, that one (the day's salt)."""

    def delete_before(self, day: date) -> None:
        """Delete the salts of the days before `day`."""


class ShieldRules(Protocol):
    def version(self) -> tuple[int, int]:
        """(shield epoch, number of rules): either changes when any site's rules change."""

    def rules(self) -> list[tuple[int, str, str]]:
        """(site id, kind, value) of every rule, oldest first."""


@dataclass(frozen=True, slots=True)
class IngestLookups:
    sites: SiteDirectory
    salts: SaltStore
    shields: ShieldRules
