"""The metadata store: the same migrations and models on SQLite and PostgreSQL."""

import threading
import time

import pytest
from sqlalchemy import inspect, select, update
from sqlalchemy.exc import IntegrityError

from footfall.accounts.apikeys import create_api_key, find_api_key
from footfall.accounts.errors import Conflict, DomainError
from footfall.accounts.passwords import verify_password
from footfall.accounts.users import authenticate, create_user
from footfall.meta.db import current_revision, head_revision, make_sessionmaker, migrate, session_scope
from footfall.meta.models import (
    ApiKey,
    Funnel,
    FunnelStep,
    Goal,
    Membership,
    Role,
    Salt,
    SharedLink,
    Site,
    User,
)
from footfall.sites.sites import create_site, list_sites, role_of


def test_migrations_create_every_table_and_are_idempotent(metadata_engine) -> None:
    tables = set(inspect(metadata_engine).get_table_names())
    assert {
        "users",
        "sites",
        "site_memberships",
        "api_keys",
        "goals",
        "funnels",
        "funnel_steps",
        "shared_links",
        "salts",
    } <= tables
    assert current_revision(metadata_engine) == head_revision(metadata_engine)
    assert migrate(metadata_engine) == head_revision(metadata_engine)


def test_users_sites_and_roles_round_trip(metadata_engine) -> None:
    factory = make_sessionmaker(metadata_engine)
    with session_scope(factory) as db:
        owner = create_user(db, " Owner@Example.com ", "correct horse battery", "Owner")
        viewer = create_user(db, "viewer@example.com", "correct horse battery")
        site = create_site(db, "https://www.Example.com/", "Europe/Berlin", owner)
        create_site(db, "other.org")
        db.add(Membership(site_id=site.id, user_id=viewer.id, role=Role.viewer))
    with session_scope(factory) as db:
        owner = db.scalar(select(type(owner)).where(type(owner).email == "owner@example.com"))
        assert owner.name == "Owner"
        assert owner.password_hash.startswith("$argon2id$")
        assert verify_password(owner.password_hash, "correct horse battery")
        assert authenticate(db, "OWNER@example.com", "correct horse battery").id == owner.id
        assert authenticate(db, "owner@example.com", "wrong password!!") is None
        site = db.scalar(select(Site).where(Site.domain == "example.com"))
        assert site.timezone == "Europe/Berlin"
        assert role_of(db, owner, site) is Role.owner
        assert [s.domain for s in list_sites(db)] == ["example.com", "other.org"]
        assert [s.domain for s in list_sites(db, owner)] == ["example.com"]


def test_duplicates_and_bad_input_are_domain_errors(metadata_engine) -> None:
    factory = make_sessionmaker(metadata_engine)
    with session_scope(factory) as db:
        create_user(db, "a@example.com", "long enough password")
        create_site(db, "example.com")
    with session_scope(factory) as db, pytest.raises(Conflict):
        create_user(db, "A@example.com", "long enough password")
    with session_scope(factory) as db, pytest.raises(Conflict):
        create_site(db, "www.example.com")
    with session_scope(factory) as db, pytest.raises(DomainError, match="time zone"):
        create_site(db, "new.example.com", "Mars/Olympus")
    with session_scope(factory) as db, pytest.raises(DomainError, match="valid domain"):
        create_site(db, "not a domain")
    with session_scope(factory) as db, pytest.raises(DomainError, match="valid email"):
        create_user(db, "nobody", "long enough password")


def test_api_keys_are_stored_hashed_and_found_by_trimmed_token(metadata_engine) -> None:
    factory = make_sessionmaker(metadata_engine)
    with session_scope(factory) as db:
        user = create_user(db, "k@example.com", "long enough password")
        raw, key = create_api_key(db, user, "ci")
    with session_scope(factory) as db:
        stored = db.scalar(select(ApiKey))
        assert raw not in (stored.key_hash, stored.key_prefix) and stored.key_prefix == raw[:8]
        assert find_api_key(db, f"  {raw} ").id == key.id
        assert find_api_key(db, raw + "x") is None
        assert find_api_key(db, "") is None


def test_goals_funnels_links_and_salts_round_trip(metadata_engine) -> None:
    import datetime

    factory = make_sessionmaker(metadata_engine)
    with session_scope(factory) as db:
        site = create_site(db, "shop.example.com")
        signup = Goal(site_id=site.id, event_name="Signup", display_name="Signup")
        visit = Goal(site_id=site.id, page_path="/pricing", display_name="Visit /pricing")
        buy = Goal(site_id=site.id, event_name="Purchase", display_name="Purchase", currency="EUR")
        db.add_all([signup, visit, buy])
        db.flush()
        funnel = Funnel(site_id=site.id, name="Checkout")
        funnel.steps = [
            FunnelStep(goal_id=visit.id, step_order=1),
            FunnelStep(goal_id=signup.id, step_order=2),
            FunnelStep(goal_id=buy.id, step_order=3),
        ]
        db.add(funnel)
        db.add(SharedLink(site_id=site.id, name="public", slug="abc123"))
        db.add(Salt(day=datetime.date(2026, 11, 24), salt=b"\x01" * 32))
    with session_scope(factory) as db:
        funnel = db.scalar(select(Funnel))
        assert [step.goal.display_name for step in funnel.steps] == [
            "Visit /pricing",
            "Signup",
            "Purchase",
        ]
        assert db.scalar(select(Salt)).salt == b"\x01" * 32
        assert db.scalar(select(SharedLink)).slug == "abc123"
    with pytest.raises(IntegrityError), session_scope(factory) as db:
        site = db.scalar(select(Site))
        db.add(Goal(site_id=site.id, event_name="X", page_path="/x", display_name="both"))
        db.flush()


def test_deleting_a_site_removes_its_goals_and_memberships(metadata_engine) -> None:
    factory = make_sessionmaker(metadata_engine)
    with session_scope(factory) as db:
        user = create_user(db, "o@example.com", "long enough password")
        site = create_site(db, "gone.example.com", owner=user)
        db.add(Goal(site_id=site.id, event_name="Signup", display_name="Signup"))
    with session_scope(factory) as db:
        db.delete(db.scalar(select(Site)))
    with session_scope(factory) as db:
        assert db.scalar(select(Goal)) is None
        assert db.scalar(select(Membership)) is None


def test_a_keys_last_use_is_recorded_to_the_minute(metadata_engine) -> None:
    """Every API request finds its key; the time of use is written at most once a minute, so a
    request is not a database commit."""
    from datetime import timedelta

    factory = make_sessionmaker(metadata_engine)
    with session_scope(factory) as db:
        user = create_user(db, "keys@example.com", "correct horse battery")
        raw, key = create_api_key(db, user, "minute")
        key_id = key.id
    with session_scope(factory) as db:
        first = find_api_key(db, raw).last_used_at
    assert first is not None
    with session_scope(factory) as db:
        found = find_api_key(db, raw)
        assert found.last_used_at == first
        assert not db.dirty  # nothing to write back
        found.last_used_at = first - timedelta(minutes=2)
    with session_scope(factory) as db:
        assert find_api_key(db, raw).last_used_at > first - timedelta(minutes=2)
        assert db.get(ApiKey, key_id).id == key_id


def test_a_nested_block_reading_then_writing_survives_a_commit_from_another_connection(
    metadata_engine,
) -> None:
    """A page's `begin_nested()` block reads, works a while (a password hash), then writes;
    another connection (the outbox worker marking a mail sent) commits in between. On SQLite a
    deferred transaction's write then failed at once with "database is locked"; the block
    must wait for the other writer instead and both writes land."""
    factory = make_sessionmaker(metadata_engine)
    with session_scope(factory) as db:
        create_user(db, "reader@example.com", "long enough password")
        create_user(db, "other@example.com", "long enough password")
    trying = threading.Event()
    failures: list[BaseException] = []

    def rename_other() -> None:
        try:
            with session_scope(factory) as other:
                trying.set()
                other.execute(update(User).where(User.email == "other@example.com").values(name="Other"))
        except BaseException as error:  # reported by the assertion below
            failures.append(error)

    with session_scope(factory) as db, db.begin_nested():
        reader = db.scalar(select(User).where(User.email == "reader@example.com"))
        assert reader is not None
        writer = threading.Thread(target=rename_other)
        writer.start()
        trying.wait(10)
        time.sleep(0.3)  # the other connection's commit lands here when nothing holds it back
        reader.name = "Reader"
        db.flush()
    writer.join(60)
    assert failures == []
    with session_scope(factory) as db:
        names = dict(db.execute(select(User.email, User.name)).all())
    assert names == {"reader@example.com": "Reader", "other@example.com": "Other"}
