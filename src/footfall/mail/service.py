"""What a running footfall does about mail: the outbox worker and the scheduled jobs
(reports, traffic alerts), started and stopped with the app (`app.py`'s lifespan)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from footfall.mail.jobs import Job, Scheduler
from footfall.mail.operator import bind
from footfall.mail.outbox import OutboxWorker
from footfall.meta.models import utcnow
from footfall.services import Services


class MailService:
    def __init__(
        self,
        services: Services,
        *,
        now: Callable[[], datetime] = utcnow,
        poll_seconds: float = 1.0,
        tick_seconds: float = 30.0,
        holder: str | None = None,
        jobs: list[Job] | None = None,
    ) -> None:
        self.services = services
        self.outbox = OutboxWorker(
            services.sessions, services.settings.mail, poll_seconds=poll_seconds, now=now
        )
        self.scheduler = Scheduler(
            services.engine,
            default_jobs(services) if jobs is None else jobs,
            tick_seconds=tick_seconds,
            now=now,
            holder=holder,
        )

    def start(self) -> MailService:
        bind(self.services.sessions, self.services.settings)  # for operator_alert(condition, summary)
        self.outbox.start()
        self.scheduler.start()
        return self

    def stop(self) -> None:
        bind(None, None)
        self.scheduler.stop()
        self.outbox.stop()


def default_jobs(services: Services) -> list[Job]:
    from datetime import timedelta

    from footfall.mail.alerts import check_traffic_alerts
    from footfall.mail.reports import send_due_reports

    return [
        # Each minute: a report is due at 09:00 in its site's zone, and caught up within a day.
        Job("reports", timedelta(minutes=1), lambda now: send_due_reports(services, now)),
        Job("traffic_alerts", timedelta(minutes=15), lambda now: check_traffic_alerts(services, now)),
    ]


def start_mail(services: Services) -> MailService:
    return MailService(services).start()
