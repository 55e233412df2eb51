"""Visitor ids: stable for a day, different across days and sites, never holding the IP or UA."""

import hashlib
from datetime import date, datetime, timedelta

from sqlalchemy import select

from footfall.ingest.api import Hit, record_hits
from footfall.ingest.identity import Salts, root_domain, visitor_id
from footfall.meta.lookups import SaltRows
from footfall.meta.models import Salt
from tests.ingest.conftest import CHROME_MAC, SAFARI_IPHONE, rows

IP = "85.214.132.117"


def user_ids(services) -> list[int]:
    return [r["user_id"] for r in rows(services, "SELECT user_id FROM {db}.events ORDER BY timestamp")]


def test_the_same_visitor_has_one_id_all_day(services) -> None:
    morning = datetime(2026, 3, 2, 0, 5)
    record_hits(
        services,
        [
            Hit("pageview", "https://example.com/", "example.com", CHROME_MAC, IP, morning),
            Hit(
                "pageview",
                "https://example.com/b",
                "example.com",
                CHROME_MAC,
                IP,
                morning + timedelta(hours=12),
            ),
            Hit(
                "pageview",
                "https://example.com/c",
                "example.com",
                CHROME_MAC,
                IP,
                morning + timedelta(hours=23),
            ),
        ],
    )
    assert len(set(user_ids(services))) == 1


def test_ids_differ_across_days_sites_browsers_and_addresses(services) -> None:
    day = datetime(2026, 3, 2, 12)
    record_hits(
        services,
        [
            Hit("pageview", "https://example.com/", "example.com", CHROME_MAC, IP, day),
            Hit("pageview", "https://example.com/", "example.com", CHROME_MAC, IP, day + timedelta(days=1)),
            Hit("pageview", "https://blog.example.org/", "blog.example.org", CHROME_MAC, IP, day),
            Hit("pageview", "https://example.com/", "example.com", SAFARI_IPHONE, IP, day),
            Hit("pageview", "https://example.com/", "example.com", CHROME_MAC, "81.2.69.142", day),
        ],
    )
    assert len(set(user_ids(services))) == 5


def test_no_address_or_user_agent_is_stored(services) -> None:
    record_hits(
        services, [Hit("pageview", "https://example.com/", "example.com", CHROME_MAC, IP, datetime.now())]
    )
    for table in ("events", "sessions"):
        for row in rows(services, f"SELECT * FROM {{db}}.{table}"):
            text = repr(row)
            assert IP not in text and "AppleWebKit" not in text and "85.214" not in text


def test_salts_are_kept_for_today_and_yesterday_only(services) -> None:
    salts = Salts(SaltRows(services.sessions))
    for offset in range(5):
        salts.for_day(date(2026, 3, 1) + timedelta(days=offset))
    salts.rotate(date(2026, 3, 5))
    with services.sessions() as db:
        kept = sorted(db.scalars(select(Salt.day)))
    assert kept == [date(2026, 3, 4), date(2026, 3, 5)]
    # A second replica reading the store agrees on today's salt.
    assert Salts(SaltRows(services.sessions)).for_day(date(2026, 3, 5), create=False) == salts.for_day(
        date(2026, 3, 5)
    )


def test_visitor_id_uses_the_root_domain_of_the_page() -> None:
    salt = b"s" * 32
    assert root_domain("shop.example.co.uk") == "example.co.uk"
    assert root_domain("10.1.2.3") == "10.1.2.3"
    a = visitor_id(salt, CHROME_MAC, IP, "example.co.uk", "shop.example.co.uk")
    b = visitor_id(salt, CHROME_MAC, IP, "example.co.uk", "blog.example.co.uk")
    assert a == b
    assert a != visitor_id(b"t" * 32, CHROME_MAC, IP, "example.co.uk", "shop.example.co.uk")


def test_visitor_id_is_the_keyed_blake2b_of_the_visit_fields() -> None:
    """The documented formula, so ids stay the same across releases (a change would split
    every visit under way at the upgrade in two), whatever the code does to compute it."""
    for salt in (b"s" * 32, b"t" * 32, b"s" * 32):  # the same salt again: its cached state is unchanged
        data = "\x00".join((CHROME_MAC, IP, "example.co.uk", "example.co.uk")).encode()
        expected = int.from_bytes(hashlib.blake2b(data, key=salt, digest_size=8).digest(), "big")
        assert visitor_id(salt, CHROME_MAC, IP, "example.co.uk", "shop.example.co.uk") == expected


def test_the_running_server_deletes_salts_once_their_day_is_over(services) -> None:
    from footfall.ingest.ingestion import ingestion_for

    ingestion = ingestion_for(services)
    salts = ingestion.pipeline.salts
    for offset in range(3):
        salts.for_day(date(2026, 3, 1) + timedelta(days=offset))
    ingestion.rotate_salts(date(2026, 3, 3))
    ingestion.rotate_salts(date(2026, 3, 4))
    with services.sessions() as db:
        kept = sorted(db.scalars(select(Salt.day)))
    assert kept == [date(2026, 3, 3), date(2026, 3, 4)]


def test_a_deleted_salt_leaves_no_keyed_hash_state_in_memory(services) -> None:
    """The keyed state a visitor id is hashed from works as its salt does: once the salt is
    deleted, the process keeps neither."""
    from footfall.ingest import identity
    from footfall.ingest.ingestion import ingestion_for

    ingestion = ingestion_for(services)
    old = ingestion.pipeline.salts.for_day(date(2026, 3, 1))
    visitor_id(old, CHROME_MAC, IP, "example.com", "example.com")
    assert identity._keyed.cache_info().currsize >= 1
    ingestion.rotate_salts(date(2026, 3, 3))
    assert identity._keyed.cache_info().currsize == 0
