"""Migration 0003 makes the `segments` table, on SQLite and on PostgreSQL (which must run, not
skip, under CI=true): segment data round-trips as JSON, deleting the site deletes its segments,
deleting the owner leaves the segment without one, and the migration undoes cleanly."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, select

from footfall.meta.db import (
    _alembic_config,
    head_revision,
    make_engine,
    make_sessionmaker,
    migrate,
    session_scope,
)
from footfall.meta.models import Site, User
from footfall.meta.segments import Segment, SegmentType, segment_lookup

FILTERS = [["is", "visit:country_name", ["Germany"]], ["has_done", ["is", "event:goal", ["Signup"]]]]


def test_segments_table_on_both_stores(metadata_url: str) -> None:
    engine = make_engine(metadata_url)
    try:
        assert migrate(engine) == head_revision(engine)
        assert "segments" in inspect(engine).get_table_names()
        sessions = make_sessionmaker(engine)
        with session_scope(sessions) as db:
            owner = User(email="o@example.com", password_hash="x")
            other = User(email="p@example.com", password_hash="x")
            site = Site(domain="seg.example")
            db.add_all([owner, other, site])
            db.flush()
            db.add_all(
                [
                    Segment(
                        site_id=site.id,
                        owner_id=owner.id,
                        name="Germans who signed up",
                        type=SegmentType.site,
                        segment_data={"filters": FILTERS, "labels": {"DE": "Germany"}},
                    ),
                    Segment(
                        site_id=site.id,
                        owner_id=other.id,
                        name="Other's own",
                        type=SegmentType.personal,
                        segment_data={"filters": FILTERS[:1]},
                    ),
                ]
            )
            ids = (site.id, owner.id, other.id)
        site_id, owner_id, other_id = ids
        with session_scope(sessions) as db:
            saved = db.scalars(select(Segment).order_by(Segment.id)).all()
            assert [(s.name, s.type, s.segment_data["filters"]) for s in saved] == [
                ("Germans who signed up", SegmentType.site, FILTERS),
                ("Other's own", SegmentType.personal, FILTERS[:1]),
            ]
            first, second = (s.id for s in saved)
        # What a Stats API query of the owner may use: the site segment, not the other's personal one.
        assert dict(segment_lookup(sessions, site_id, owner_id)((first, second))) == {first: FILTERS}
        assert set(segment_lookup(sessions, site_id, other_id)((first, second))) == {first, second}
        assert dict(segment_lookup(sessions, site_id + 1, owner_id)((first, second))) == {}

        with session_scope(sessions) as db:
            db.delete(db.get(User, owner_id))
        with session_scope(sessions) as db:
            assert db.get(Segment, first).owner_id is None
            db.delete(db.get(Site, site_id))
        with session_scope(sessions) as db:
            assert db.scalars(select(Segment)).all() == []

        config = _alembic_config(engine)
        command.downgrade(config, "0002")
        assert "segments" not in inspect(engine).get_table_names()
        assert migrate(engine) == head_revision(engine)
        assert "segments" in inspect(engine).get_table_names()
    finally:
        engine.dispose()
