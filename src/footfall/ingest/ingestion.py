"""The write path of one running footfall, assembled once from its settings and services.

`ingestion_for(services)` returns it (creating it on first use): the pipeline with its
caches (sites, salts, visits, user agents, locations, shield rules), the client IP resolver
and, while the server runs, the write-ahead buffer.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime

from footfall.ingest.bots import DatacenterRanges, SpamReferrers
from footfall.ingest.buffer import WriteAheadBuffer, ensure_deduplication
from footfall.ingest.client_ip import ClientIpResolver
from footfall.ingest.geo import Geolocator
from footfall.ingest.pipeline import Pipeline
from footfall.ingest.sessions import MemorySessionCache, RedisSessionCache, SessionCache, SessionTracker
from footfall.services import Services

log = logging.getLogger("footfall.ingest")


class Ingestion:
    def __init__(self, services: Services, session_cache: SessionCache | None = None) -> None:
        settings = services.settings
        self.services = services
        if session_cache is None:
            session_cache = (
                RedisSessionCache(settings.redis_url) if settings.redis_url else MemorySessionCache()
            )
        self.session_cache = session_cache
        # Redis round trips would stall the event loop: with a Redis cache the HTTP handler runs
        # the pipeline on these threads (the interpreter lock is released while they wait).
        self.executor: ThreadPoolExecutor | None = (
            ThreadPoolExecutor(max_workers=16, thread_name_prefix="footfall-visits")
            if isinstance(session_cache, RedisSessionCache)
            else None
        )
        self.geolocator = Geolocator(settings.ip_geolocation_db)
        datacenters = (
            DatacenterRanges.from_file(settings.datacenter_ip_ranges)
            if settings.datacenter_ip_ranges
            else None
        )
        spam = SpamReferrers.from_file(settings.referrer_spam_list) if settings.referrer_spam_list else None
        self.pipeline = Pipeline(
            services.ingest_lookups(), SessionTracker(session_cache), self.geolocator, datacenters, spam
        )
        self.client_ip = ClientIpResolver(settings.trusted_proxies)
        self.max_body_bytes = settings.max_body_bytes
        self.buffer: WriteAheadBuffer | None = None
        self._rotated_on: date | None = None
        self._stop_rotating = threading.Event()
        self._rotator: threading.Thread | None = None

    def start_buffer(self) -> WriteAheadBuffer | None:
        """Replay the write-ahead log and start flushing (the server calls this at start).
        Without an open event store there is nothing to flush to: /api/event answers 503."""
        settings = self.services.settings
        if self.services.events is None:
            log.warning("no event store open: /api/event will answer 503")
            return None
        ensure_deduplication(self.services.events)
        self.buffer = WriteAheadBuffer(
            self.services.events,
            settings.wal_dir,
            sync=settings.wal_sync,
            max_bytes=settings.wal_max_bytes,
            flush_interval=settings.flush_interval_ms / 1000,
            batch_size=settings.flush_batch_size,
        )
        self.buffer.start()
        self.pipeline.shields.start()  # reads the shield rules now, then every second
        self.rotate_salts()
        self._stop_rotating.clear()
        self._rotator = threading.Thread(target=self._rotate_daily, name="footfall-salts", daemon=True)
        self._rotator.start()
        return self.buffer

    def rotate_salts(self, today: date | None = None) -> None:
        """Create today's salt and delete those older than yesterday (the live server does
        this at start and then every minute, so an old salt never outlives its day by more)."""
        today = today or datetime.now(UTC).date()
        if today != self._rotated_on:
            self.pipeline.salts.rotate(today)
            self._rotated_on = today

    def _rotate_daily(self) -> None:
        while not self._stop_rotating.wait(60):
            try:
                self.rotate_salts()
            except Exception:
                log.exception("cannot rotate the daily salts; retrying in a minute")

    def stop_buffer(self) -> None:
        self.pipeline.shields.stop()
        self._stop_rotating.set()
        if self._rotator is not None:
            self._rotator.join(timeout=5)
            self._rotator = None
        if self.buffer is not None:
            if not self.buffer.stop():
                log.warning("event store unreachable at shutdown; unflushed events stay in the log")
            self.buffer = None

    def close(self) -> None:
        self.stop_buffer()
        if self.executor is not None:
            self.executor.shutdown(wait=True)
        self.session_cache.close()
        self.geolocator.close()


def ingestion_for(services: Services) -> Ingestion:
    ingestion = services.extras.get("ingestion")
    if ingestion is None:
        ingestion = services.extras["ingestion"] = Ingestion(services)
    return ingestion
