"""The long-lived parts of a running footfall, opened once and passed to whoever needs them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from footfall.config import Settings
from footfall.events.connect import open_event_store
from footfall.events.store import EventStore, migrate_events
from footfall.ingest.lookups import IngestLookups
from footfall.meta.db import make_engine, make_sessionmaker, migrate
from footfall.meta.lookups import SaltRows, ShieldRuleRows, SiteDomains

# The key in `Services.extras` of the Stats and Sites APIs' rate limiter (web/auth.py), made
# on first use; with REDIS_URL it holds a Redis connection pool, which `close()` closes.
API_RATE_LIMITER = "api_rate_limiter"
# The key in `Services.extras` of the Stats API's cache of authorised keys and sites (web/auth.py).
API_AUTH_CACHE = "api_auth_cache"
# The key in `Services.extras` of the login throttle (accounts/throttle.py), made on first use.
LOGIN_THROTTLE = "login_throttle"


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    events: EventStore | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def ingest_lookups(self) -> IngestLookups:
        """What the write path reads of the metadata store (sites, salts, shield rules), as the
        objects the pipeline is given (footfall.ingest.lookups)."""
        return IngestLookups(
            SiteDomains(self.sessions), SaltRows(self.sessions), ShieldRuleRows(self.sessions)
        )

    def close(self) -> None:
        limiter = self.extras.pop(API_RATE_LIMITER, None)
        throttle = self.extras.pop(LOGIN_THROTTLE, None)
        if throttle is not None:
            throttle.close()
        try:
            if limiter is not None:
                limiter.close()
        finally:
            if self.events is not None:
                self.events.close()
                self.events = None
            self.engine.dispose()


def open_metadata(settings: Settings) -> Services:
    engine = make_engine(settings.database_url)
    return Services(settings=settings, engine=engine, sessions=make_sessionmaker(engine))


def open_services(settings: Settings, *, with_events: bool = True, run_migrations: bool = False) -> Services:
    """Open the metadata store and (unless told not to) the event store."""
    from footfall.ops.upgrade import check_data_dir, record_version

    if run_migrations:
        check_data_dir(settings.data_dir)  # a data directory of a newer footfall: refused, untouched
    services = open_metadata(settings)
    try:
        if run_migrations:
            migrate(services.engine)
        if with_events:
            services.events = open_event_store(settings)
            if run_migrations:
                migrate_events(services.events)
        if run_migrations and with_events:
            record_version(settings.data_dir)
    except BaseException:
        services.close()
        raise
    return services
