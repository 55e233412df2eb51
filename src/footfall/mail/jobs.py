"""Scheduled jobs in the app process, each run by one replica at a time.

A job holds a lease row (`job_leases`: holder, expiry). Every tick each replica tries to
take or renew the lease of every job: an UPDATE that succeeds only when the lease is its
own or has expired, or an INSERT that only one replica can win. The holder runs the job when
its interval has passed since `last_run_at` (kept in the row, so the cadence survives a
change of holder). A holder that crashes stops renewing; its lease expires and another
replica takes over. Jobs must still be idempotent (a report period is a primary key), since
a holder stalled past its expiry may overlap with the next one for one run.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, insert, update
from sqlalchemy.exc import IntegrityError

from footfall.meta.mail import JobLease
from footfall.meta.models import utcnow

log = logging.getLogger("footfall.mail")


def holder_id() -> str:
    """This process: host, pid and a random part (a pid can come back after a restart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def take_lease(engine: Engine, name: str, holder: str, ttl: timedelta, now: datetime) -> bool:
    """Take or renew the lease of job `name` for `holder` until now + ttl; True if held."""
    with engine.begin() as connection:
        renewed = connection.execute(
            update(JobLease)
            .where(JobLease.name == name, (JobLease.holder == holder) | (JobLease.expires_at < now))
            .values(holder=holder, expires_at=now + ttl)
        ).rowcount
    if renewed:
        return True
    try:
        with engine.begin() as connection:
            connection.execute(insert(JobLease).values(name=name, holder=holder, expires_at=now + ttl))
    except IntegrityError:
        return False  # the row exists and is another holder's, unexpired
    return True


def release_lease(engine: Engine, name: str, holder: str) -> None:
    with engine.begin() as connection:
        connection.execute(
            update(JobLease)
            .where(JobLease.name == name, JobLease.holder == holder)
            .values(expires_at=datetime(1970, 1, 1))
        )


def _due(engine: Engine, name: str, holder: str, interval: timedelta, now: datetime) -> bool:
    """Mark the job as run now if its interval has passed; True if it should run."""
    with engine.begin() as connection:
        return bool(
            connection.execute(
                update(JobLease)
                .where(
                    JobLease.name == name,
                    JobLease.holder == holder,
                    JobLease.last_run_at.is_(None) | (JobLease.last_run_at <= now - interval),
                )
                .values(last_run_at=now)
            ).rowcount
        )


@dataclass(frozen=True)
class Job:
    name: str
    interval: timedelta
    run: Callable[[datetime], object]  # given the time of the tick (UTC, naive)


class Scheduler:
    """Runs `jobs` from a daemon thread, each on the one replica holding its lease."""

    def __init__(
        self,
        engine: Engine,
        jobs: list[Job],
        *,
        tick_seconds: float = 30.0,
        lease_ttl: timedelta = timedelta(minutes=2),
        now: Callable[[], datetime] = utcnow,
        holder: str | None = None,
    ) -> None:
        self.engine = engine
        self.jobs = jobs
        self.tick_seconds = tick_seconds
        self.lease_ttl = lease_ttl
        self.now = now
        self.holder = holder or holder_id()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="footfall-jobs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None
        for job in self.jobs:
            try:
                release_lease(self.engine, job.name, self.holder)
            except Exception:  # the store is gone while stopping: the lease expires by itself
                log.warning("jobs: could not release the lease of %s", job.name)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(self.tick_seconds)

    def tick(self) -> list[str]:
        """One round: every job whose lease this process holds and whose time has come runs.
        Returns the names of the jobs run."""
        ran = []
        for job in self.jobs:
            if self._stop.is_set():
                break
            now = self.now()
            try:
                if not take_lease(self.engine, job.name, self.holder, self.lease_ttl, now):
                    continue
                if not _due(self.engine, job.name, self.holder, job.interval, now):
                    continue
            except Exception:
                log.exception("jobs: the metadata store did not answer for %s's lease", job.name)
                continue
            try:
                job.run(now)
                ran.append(job.name)
            except Exception:
                log.exception("jobs: %s failed; it runs again in %s", job.name, job.interval)
        return ran
