"""Taking a user off a site deletes their personal segments of that site and leaves their site
segments of it ownerless, in the same transaction (as Plausible does); other users' segments
and the user's segments of other sites are untouched.
On SQLite and PostgreSQL (which must run, not skip, under CI=true)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from footfall.accounts.errors import Conflict, NotFound
from footfall.accounts.users import create_user
from footfall.meta.db import make_engine, make_sessionmaker, migrate, session_scope
from footfall.meta.models import Membership, Role, Site, User
from footfall.meta.segments import Segment, SegmentType
from footfall.sites.sites import create_site, remove_member

GERMANY = {"filters": [["is", "visit:country_name", ["Germany"]]]}
PASSWORD = "correct horse battery staple"


@pytest.fixture
def sessions(metadata_url: str):
    engine = make_engine(metadata_url)
    migrate(engine)
    sessions = make_sessionmaker(engine)
    with session_scope(sessions) as db:
        owner = create_user(db, "owner@example.com", PASSWORD)
        member = create_user(db, "member@example.com", PASSWORD)
        shop = create_site(db, "shop.example", owner=owner)
        blog = create_site(db, "blog.example", owner=owner)
        for site in (shop, blog):
            db.add(Membership(site_id=site.id, user_id=member.id, role=Role.admin))
        saved = [
            (shop, member, SegmentType.personal, "member's own on shop"),
            (shop, member, SegmentType.site, "member's site segment on shop"),
            (shop, owner, SegmentType.personal, "owner's own on shop"),
            (blog, member, SegmentType.personal, "member's own on blog"),
        ]
        for site, user, kind, name in saved:
            db.add(Segment(site_id=site.id, owner_id=user.id, name=name, type=kind, segment_data=GERMANY))
    yield sessions
    engine.dispose()


def _load(db, email: str, domain: str) -> tuple[User, Site]:
    user = db.scalar(select(User).where(User.email == email))
    site = db.scalar(select(Site).where(Site.domain == domain))
    return user, site


def _segment_names(sessions) -> set[str]:
    with session_scope(sessions) as db:
        return set(db.scalars(select(Segment.name)))


def _owners(sessions) -> dict[str, str | None]:
    with session_scope(sessions) as db:
        rows = db.execute(select(Segment.name, User.email).outerjoin(User, Segment.owner_id == User.id))
        return {name: email for name, email in rows}


def _members(sessions, domain: str) -> set[str]:
    with session_scope(sessions) as db:
        return set(db.scalars(select(User.email).join(Membership).join(Site).where(Site.domain == domain)))


def test_removing_a_member_deletes_their_personal_segments_of_that_site(sessions) -> None:
    with session_scope(sessions) as db:
        member, shop = _load(db, "member@example.com", "shop.example")
        remove_member(db, shop, member)
    assert _members(sessions, "shop.example") == {"owner@example.com"}
    assert _members(sessions, "blog.example") == {"owner@example.com", "member@example.com"}
    assert _owners(sessions) == {
        "member's site segment on shop": None,
        "owner's own on shop": "owner@example.com",
        "member's own on blog": "member@example.com",
    }


def test_a_failed_removal_leaves_the_membership_and_the_segments(sessions) -> None:
    with pytest.raises(RuntimeError), session_scope(sessions) as db:
        member, shop = _load(db, "member@example.com", "shop.example")
        remove_member(db, shop, member)
        raise RuntimeError("the transaction fails after the removal")
    assert _members(sessions, "shop.example") == {"owner@example.com", "member@example.com"}
    owners = _owners(sessions)
    assert owners["member's own on shop"] == owners["member's site segment on shop"] == "member@example.com"


def test_the_only_owner_and_non_members_cannot_be_removed(sessions) -> None:
    with session_scope(sessions) as db:
        owner, shop = _load(db, "owner@example.com", "shop.example")
        with pytest.raises(Conflict, match="only owner"):
            remove_member(db, shop, owner)
        stranger = create_user(db, "stranger@example.com", PASSWORD)
        with pytest.raises(NotFound):
            remove_member(db, shop, stranger)
    assert _members(sessions, "shop.example") == {"owner@example.com", "member@example.com"}
    assert "owner's own on shop" in _segment_names(sessions)
