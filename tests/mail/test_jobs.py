"""Job leases: one holder at a time, a crashed holder's lease passes on after its expiry,
and the job's cadence is kept in the database, not in a process."""

from __future__ import annotations

from datetime import timedelta

from footfall.mail.jobs import Job, Scheduler, take_lease
from footfall.meta.models import utcnow


def test_one_holder_at_a_time_and_an_expired_lease_passes_on(metadata_engine) -> None:
    now = utcnow()
    ttl = timedelta(minutes=2)
    assert take_lease(metadata_engine, "reports", "a", ttl, now)
    assert not take_lease(metadata_engine, "reports", "b", ttl, now + timedelta(seconds=30))
    assert take_lease(metadata_engine, "reports", "a", ttl, now + timedelta(seconds=60))  # renewed
    assert not take_lease(metadata_engine, "reports", "b", ttl, now + timedelta(seconds=150))
    assert take_lease(
        metadata_engine, "reports", "b", ttl, now + timedelta(seconds=181)
    )  # a stopped renewing
    assert not take_lease(metadata_engine, "reports", "a", ttl, now + timedelta(seconds=200))


def test_two_schedulers_run_each_job_once_per_interval(metadata_engine) -> None:
    runs: list[tuple[str, str]] = []
    clock = [utcnow()]

    def scheduler(name: str) -> Scheduler:
        jobs = [Job("alerts", timedelta(minutes=15), lambda now, n=name: runs.append((n, "alerts")))]
        return Scheduler(metadata_engine, jobs, now=lambda: clock[0], holder=name)

    first, second = scheduler("first"), scheduler("second")
    for _ in range(4):  # two minutes of ticks every 30 s
        first.tick()
        second.tick()
        clock[0] += timedelta(seconds=30)
    assert runs == [("first", "alerts")]
    clock[0] += timedelta(minutes=13)
    first.tick()
    second.tick()
    assert runs == [("first", "alerts"), ("first", "alerts")]
    # `first` crashes (stops ticking); after its lease expires `second` takes over, on cadence.
    clock[0] += timedelta(minutes=3)
    second.tick()
    assert runs[-1] == ("first", "alerts") and len(runs) == 2
    clock[0] += timedelta(minutes=12)
    second.tick()
    assert runs[-1] == ("second", "alerts") and len(runs) == 3
