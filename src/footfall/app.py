"""The ASGI application: wiring of routes, middleware and the services they share."""

from __future__ import annotations

import contextlib
import gc
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route

import footfall
from footfall.config import Settings
from footfall.ingest.ingestion import ingestion_for
from footfall.mail.service import start_mail
from footfall.moving.imports import settle_interrupted_imports
from footfall.ops.metrics import RouteTimer
from footfall.ops.runtime import start_operations
from footfall.services import Services, open_services
from footfall.stats import daily
from footfall.web.account_pages import account_routes
from footfall.web.assets import asset_routes
from footfall.web.dashboard import dashboard_api_routes, dashboard_routes
from footfall.web.event import EventFirstStarlette
from footfall.web.health import health, ready
from footfall.web.instance_pages import instance_routes
from footfall.web.mail_pages import mail_routes
from footfall.web.metrics import metrics
from footfall.web.moving_pages import moving_routes
from footfall.web.pages import API, OPEN, declare
from footfall.web.segments_api import segments_routes
from footfall.web.settings_pages import settings_routes
from footfall.web.share import share_routes
from footfall.web.shield_pages import shield_routes
from footfall.web.site_pages import site_routes
from footfall.web.sites_api import sites_routes
from footfall.web.stats_api import counted_sites, stats_routes
from footfall.web.tracker import tracker_routes

log = logging.getLogger("footfall")


def routes() -> list[BaseRoute]:
    # POST /api/event is answered by EventFirstStarlette, ahead of the middleware and router.
    # Every route declares who may request it (footfall.web.pages); the route-walk test
    # reads this table. Pages come after the APIs; `/:domain` matches any path, so it is last.
    return [
        *declare(
            OPEN,
            [
                Route("/api/health", health, methods=["GET"]),
                Route("/api/health/ready", ready, methods=["GET"]),
                Route("/metrics", metrics, methods=["GET"]),
            ],
        ),
        *declare(OPEN, tracker_routes()),
        *_split_docs(stats_routes()),
        *declare(API, segments_routes()),  # ahead of the Sites API's /api/v1/sites/{site_id}
        *declare(API, sites_routes()),
        *asset_routes(),
        *dashboard_api_routes(),
        *account_routes(),
        *mail_routes(),
        *instance_routes(),
        *site_routes(),
        *moving_routes(),
        *settings_routes(),
        *share_routes(),
        *shield_routes(),
        *dashboard_routes(),
    ]


def _split_docs(routes: list[BaseRoute]) -> list[BaseRoute]:
    """The Stats API's routes need a key; its documentation (`/api/docs...`) is open."""
    docs = [r for r in routes if getattr(r, "path", "").startswith("/api/docs")]
    return [*declare(API, [r for r in routes if r not in docs]), *declare(OPEN, docs)]


def create_app(settings: Settings, services: Services | None = None) -> Starlette:
    """The application. Pass `services` to share already-open stores (tests do)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        owned = services is None
        app.state.services = services or open_services(settings, run_migrations=True)
        app.state.ingestion = ingestion_for(app.state.services)
        app.state.ingestion.start_buffer()
        # The admin channel (DATA_DIR/admin.sock), the disk watch, scheduled backups (footfall.ops).
        operations = start_operations(app.state.services, lambda: app.state.ingestion.buffer)
        # Counts sealed days for the dashboard (footfall.stats.daily); queries read raw rows until then.
        events = app.state.services.events
        refresher = daily.Refresher(events, lambda: counted_sites(app.state.services)) if events else None
        if refresher is not None:
            app.state.services.extras["daily_refresher"] = refresher  # paused by footfall.ops.migrate_store
            refresher.start()
        if events is not None:
            settle_interrupted_imports(app.state.services)  # footfall.moving.imports
        mail = start_mail(app.state.services)  # the outbox worker and scheduled jobs (footfall.mail)
        # Start-up objects (modules, tables, caches) live forever: keep them out of every
        # garbage collection, which otherwise shows up as latency spikes on /api/event.
        gc.collect()
        gc.freeze()
        # Young collections every 7,000 net allocations instead of 700: a request allocates
        # dozens of containers that reference counting frees anyway. Not more: what outlives
        # a request (a log entry waiting for its flush) is walked by the next young
        # collection, and at 50,000 each one walked 50-60,000 of them (15-35 ms pauses);
        # those entries hold only numbers and bytes, so one look untracks them
        # (bench/ingest/README.md).
        thresholds = gc.get_threshold()
        gc.set_threshold(7_000, 20, 100)
        log.info("footfall ready on %s (write path: %s)", settings.base_url, footfall.HOT_PATH)
        try:
            yield
        finally:
            gc.set_threshold(*thresholds)
            mail.stop()
            if refresher is not None:
                refresher.stop()
                app.state.services.extras.pop("daily_refresher", None)
            operations.stop()
            app.state.ingestion.close()
            app.state.services.extras.pop("ingestion", None)
            if owned:
                app.state.services.close()

    served = routes()
    app = EventFirstStarlette(
        routes=served, lifespan=lifespan, middleware=[Middleware(RouteTimer, routes=served)]
    )
    app.state.settings = settings
    if services is not None:
        app.state.services = services
    return app


def http_protocol(app: Starlette) -> type:
    """The uvicorn `http` protocol class `footfall serve` runs: httptools, with `/api/event`
    answered without ASGI (footfall.web.event_protocol). Imported here, when serving: it
    builds on uvicorn's own protocol module."""
    from footfall.web.event_protocol import event_protocol

    return event_protocol(app)
