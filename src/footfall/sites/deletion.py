"""Deleting a site with all its data: its events and visits in the event store first (through
`footfall.events.deletion`), then its metadata (goals, funnels, members, links cascade).

The event store goes first: if it fails, the site is still there to delete again, and no
later site can inherit rows of a deleted one's id."""

from __future__ import annotations

from sqlalchemy.orm import Session

from footfall.events.deletion import delete_site_events
from footfall.events.store import EventStore
from footfall.meta.models import Site


def delete_site(db: Session, store: EventStore | None, site: Site) -> None:
    if store is not None:
        delete_site_events(store, site.id)
    db.delete(site)
    db.flush()
