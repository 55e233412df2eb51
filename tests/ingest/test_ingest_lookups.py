"""The pipeline reads sites, salts and shield rules only through the lookups it is given
(footfall.ingest.lookups): any objects with those methods serve, here plain dicts."""

from __future__ import annotations

from datetime import UTC, date, datetime

from footfall.ingest.geo import Geolocator
from footfall.ingest.lookups import IngestLookups
from footfall.ingest.pipeline import DropReason, Pipeline
from footfall.ingest.request import parse_event
from footfall.ingest.sessions import MemorySessionCache, SessionTracker
from tests.ingest.conftest import CHROME_MAC


class Sites:
    def __init__(self, sites: dict[str, tuple[int, bool]]) -> None:
        self.sites = sites
        self.asked: list[str] = []

    def find(self, domain: str) -> tuple[int, bool] | None:
        self.asked.append(domain)
        return self.sites.get(domain)


class Salts:
    def __init__(self) -> None:
        self.salts: dict[date, bytes] = {}

    def load(self, day: date) -> bytes | None:
        return self.salts.get(day)

    def add(self, day: date, salt: bytes) -> bytes:
        return self.salts.setdefault(day, salt)

    def delete_before(self, day: date) -> None:
        for old in [d for d in self.salts if d < day]:
            del self.salts[old]


class Shields:
    def __init__(self, rules: list[tuple[int, str, str]]) -> None:
        self.found = rules

    def version(self) -> tuple[int, int]:
        return 1, len(self.found)

    def rules(self) -> list[tuple[int, str, str]]:
        return self.found


def test_a_pipeline_given_its_lookups_finds_sites_salts_and_rules_through_them() -> None:
    sites, salts = Sites({"given.example": (7, True), "off.example": (8, False)}), Salts()
    shields = Shields([(7, "page", "/private/**")])
    pipeline = Pipeline(
        IngestLookups(sites, salts, shields), SessionTracker(MemorySessionCache()), Geolocator()
    )
    pipeline.shields.refresh()
    at = int(datetime(2026, 3, 5, 10, tzinfo=UTC).timestamp())

    def post(url: str, domain: str) -> tuple[bool, DropReason | None, int | None]:
        request = parse_event({"n": "pageview", "u": url, "d": domain}).arrived("81.2.69.160", CHROME_MAC, at)
        outcomes, _ = pipeline.process(request)
        return outcomes[0].accepted, outcomes[0].drop_reason, outcomes[0].site_id

    assert post("https://given.example/", "given.example") == (True, None, 7)
    assert post("https://given.example/private/x", "given.example") == (False, DropReason.shield, 7)
    assert post("https://off.example/", "off.example") == (False, DropReason.ingest_disabled, 8)
    assert post("https://other.example/", "other.example") == (False, DropReason.unknown_site, None)
    assert list(salts.salts) == [date(2026, 3, 5)]  # today's salt, made through the store
    pipeline.salts.rotate(date(2026, 3, 7))
    assert list(salts.salts) == [date(2026, 3, 7)]
    assert set(sites.asked) == {"given.example", "off.example", "other.example"}
