"""Shield rules in the metadata store, on SQLite and on PostgreSQL (which must run, not skip,
under CI=true): limits, duplicates, the epoch every change raises, what a replica's snapshot
reads back, and migration 0006 up and down."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import delete, inspect, select

from footfall.accounts.errors import Conflict, DomainError, NotFound
from footfall.ingest.shields import ShieldSnapshot
from footfall.meta.db import _alembic_config, make_sessionmaker, migrate, session_scope
from footfall.meta.lookups import ShieldRuleRows
from footfall.meta.models import Site
from footfall.meta.shields import ShieldEpoch, ShieldKind, ShieldRule
from footfall.sites.shields import (
    MAX_RULES,
    add_rule,
    countries,
    find_rule,
    get_rule,
    list_rules,
    remove_rule,
)
from footfall.sites.sites import create_site


@pytest.fixture
def sessions(metadata_engine):
    return make_sessionmaker(metadata_engine)


def epoch(sessions) -> int:
    with sessions() as db:
        return db.scalar(select(ShieldEpoch.version).where(ShieldEpoch.id == 1))


def test_rules_are_added_listed_found_and_removed(sessions) -> None:
    with session_scope(sessions) as db:
        site = create_site(db, "shop.example")
        add_rule(db, site, ShieldKind.hostname, "shop.example", added_by="ada@example.com")
        add_rule(db, site, ShieldKind.ip, "203.0.113.0/24", description="office")
        add_rule(db, site, ShieldKind.page, "/admin/**")
        add_rule(db, site, ShieldKind.country, "de")
    with session_scope(sessions) as db:
        site = db.scalar(select(Site).where(Site.domain == "shop.example"))
        listed = [(r.kind.value, r.value, r.description, r.added_by) for r in list_rules(db, site)]
        assert listed == [
            ("ip", "203.0.113.0/24", "office", ""),
            ("country", "DE", "", ""),
            ("page", "/admin/**", "", ""),
            ("hostname", "shop.example", "", "ada@example.com"),
        ]
        assert [r.value for r in list_rules(db, site, ShieldKind.country)] == ["DE"]
        found = find_rule(db, site, ShieldKind.ip, "203.0.113.0/24")
        assert get_rule(db, site, found.id) is found
        remove_rule(db, find_rule(db, site, ShieldKind.country, "DE"))
    with session_scope(sessions) as db:
        site = db.scalar(select(Site).where(Site.domain == "shop.example"))
        assert [r.kind.value for r in list_rules(db, site)] == ["ip", "page", "hostname"]
        with pytest.raises(NotFound, match="has no country rule DE"):
            find_rule(db, site, ShieldKind.country, "de")
        with pytest.raises(NotFound, match="no shield rule 999"):
            get_rule(db, site, 999)


def test_a_duplicate_is_refused_however_it_is_written(sessions) -> None:
    with session_scope(sessions) as db:
        site = create_site(db, "dup.example")
        add_rule(db, site, ShieldKind.ip, "2001:db8::1")
        add_rule(db, site, ShieldKind.hostname, "www.dup.example")
    for kind, again in [(ShieldKind.ip, "2001:DB8:0::1/128"), (ShieldKind.hostname, "https://dup.example/")]:
        with pytest.raises(Conflict, match="already has the"), session_scope(sessions) as db:
            site = db.scalar(select(Site).where(Site.domain == "dup.example"))
            add_rule(db, site, kind, again)


@pytest.mark.parametrize("kind", list(ShieldKind))
def test_each_kind_has_its_limit(sessions, kind: ShieldKind) -> None:
    values = {
        ShieldKind.ip: [f"203.0.113.{n}" for n in range(31)],
        ShieldKind.country: sorted(countries())[:31],
        ShieldKind.page: [f"/page-{n}/**" for n in range(31)],
        ShieldKind.hostname: [f"h{n}.example" for n in range(11)],
    }[kind]
    limit = MAX_RULES[kind]
    assert limit == (10 if kind is ShieldKind.hostname else 30)
    with session_scope(sessions) as db:
        site = create_site(db, "many.example")
        other = create_site(db, "other.example")
        for value in values[:limit]:
            add_rule(db, site, kind, value)
        add_rule(db, other, kind, values[limit])  # another site's rules do not count
    refused = pytest.raises(DomainError, match=f"has {limit} .* rules, the most a site may have")
    with refused, session_scope(sessions) as db:
        site = db.scalar(select(Site).where(Site.domain == "many.example"))
        site_id = site.id
        add_rule(db, site, kind, values[limit])
    with sessions() as db:
        assert (
            db.scalar(
                select(ShieldRule.id).where(ShieldRule.value == values[limit], ShieldRule.site_id == site_id)
            )
            is None
        )


def test_a_long_description_is_refused(sessions) -> None:
    with pytest.raises(DomainError, match="at most 200 characters"), session_scope(sessions) as db:
        add_rule(db, create_site(db, "d.example"), ShieldKind.ip, "203.0.113.1", "x" * 201)


def test_every_change_raises_the_epoch_and_a_refused_one_does_not(sessions) -> None:
    before = epoch(sessions)
    with session_scope(sessions) as db:
        site = create_site(db, "epoch.example")
        add_rule(db, site, ShieldKind.page, "/a")
    assert epoch(sessions) == before + 1
    with pytest.raises(DomainError), session_scope(sessions) as db:
        site = db.scalar(select(Site).where(Site.domain == "epoch.example"))
        add_rule(db, site, ShieldKind.page, "/a")
    assert epoch(sessions) == before + 1
    with session_scope(sessions) as db:
        site = db.scalar(select(Site).where(Site.domain == "epoch.example"))
        remove_rule(db, find_rule(db, site, ShieldKind.page, "/a"))
    assert epoch(sessions) == before + 2


def test_a_snapshot_reads_changes_and_deleted_sites(sessions) -> None:
    snapshot = ShieldSnapshot(ShieldRuleRows(sessions))
    assert snapshot.refresh() is True and snapshot.by_site == {}
    assert snapshot.refresh() is False  # nothing changed: one small query, nothing read
    with session_scope(sessions) as db:
        site = create_site(db, "snap.example")
        add_rule(db, site, ShieldKind.ip, "203.0.113.0/24")
        site_id = site.id
    assert snapshot.refresh() is True
    assert snapshot.by_site[site_id].ip_blocked("203.0.113.9")
    # A site deleted with its rules (no epoch change: the cascade does it) is noticed too.
    with session_scope(sessions) as db:
        db.execute(delete(Site).where(Site.id == site_id))
    assert snapshot.refresh() is True
    assert site_id not in snapshot.by_site


def test_a_snapshot_keeps_its_rules_when_the_store_is_unreachable(sessions, metadata_engine) -> None:
    snapshot = ShieldSnapshot(ShieldRuleRows(sessions))
    with session_scope(sessions) as db:
        site = create_site(db, "down.example")
        add_rule(db, site, ShieldKind.country, "FR")
        site_id = site.id
    snapshot.start()
    try:
        assert snapshot.by_site[site_id].countries == frozenset({"FR"})
        with metadata_engine.begin() as connection:  # the table gone: every read now fails
            connection.exec_driver_sql("DROP TABLE shield_epoch")
        with pytest.raises(Exception):  # noqa: B017 (the driver's own error)
            snapshot.refresh(force=True)
        snapshot._refresh_logged()  # what the thread does: a warning, the old rules kept
        assert snapshot.by_site[site_id].countries == frozenset({"FR"})
    finally:
        snapshot.stop()


def test_migration_0004_makes_and_removes_the_tables(metadata_engine) -> None:
    names = inspect(metadata_engine).get_table_names()
    assert {"shield_rules", "shield_epoch"} <= set(names)
    config = _alembic_config(metadata_engine)
    ours = next(r for r in ScriptDirectory.from_config(config).walk_revisions() if r.doc == "shield rules")
    command.downgrade(config, ours.down_revision)
    assert not {"shield_rules", "shield_epoch"} & set(inspect(metadata_engine).get_table_names())
    migrate(metadata_engine)
    assert epoch(make_sessionmaker(metadata_engine)) == 0
