"""Traffic alerts against events written through the ingestion pipeline: a spike mail with
the last 5 minutes' top sources and pages, a drop mail, at most one per alert per 12 hours,
numbers equal to the Stats API's for the same minutes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from footfall.mail.alerts import check_traffic_alerts
from footfall.mail.outbox import OutboxWorker
from footfall.meta.db import session_scope
from footfall.meta.mail import TrafficAlert
from footfall.meta.models import Site
from footfall.services import Services
from tests.mail.conftest import with_mail
from tests.mail.smtp_server import SmtpServer
from tests.stats.conftest import (
    CHROME_MAC,
    EDGE_WINDOWS,
    FIREFOX_LINUX,
    SAFARI_IPHONE,
    SiteSetup,
    World,
    build_world,
    hit,
)

DOMAIN = "busy.example"
NOW = datetime(2026, 3, 10, 12, 0)


def h(path: str, minutes_ago: float, ua: str, ip: str, **extra):
    return hit("pageview", path, NOW - timedelta(minutes=minutes_ago), ua, ip, domain=DOMAIN, **extra)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, chdb_engine) -> Iterator[World]:
    hits = [
        h("/launch", 4, CHROME_MAC, "85.214.132.117", referrer="https://news.ycombinator.com/"),
        h("/launch", 3, SAFARI_IPHONE, "81.2.69.142", referrer="https://news.ycombinator.com/"),
        h("/launch", 2, FIREFOX_LINUX, "89.160.20.112", referrer="https://www.google.com/"),
        h("/pricing", 1, EDGE_WINDOWS, "216.160.83.56"),
        h("/docs", 1.5, EDGE_WINDOWS, "216.160.83.56"),
        h("/", 300, CHROME_MAC, "1.2.3.4"),  # five hours ago: in the 12 hours, not in the 5 minutes
    ]
    made, close = build_world(tmp_path_factory.mktemp("alerts"), chdb_engine, [SiteSetup(DOMAIN)], hits)
    yield made
    close()


def set_alert(services: Services, kind: str, threshold: int, recipients: str) -> None:
    with session_scope(services.sessions) as db:
        for old in db.scalars(select(TrafficAlert)):
            db.delete(old)
        site = db.scalars(select(Site).where(Site.domain == DOMAIN)).one()
        db.add(TrafficAlert(site_id=site.id, kind=kind, threshold=threshold, recipients=recipients))


def test_a_spike_mails_the_top_sources_and_pages_of_the_last_five_minutes_once_in_12_hours(
    world: World, plain_smtp: SmtpServer, tmp_path: Path
) -> None:
    services = with_mail(world.services, plain_smtp, tmp_path)
    plain_smtp.clear()
    set_alert(services, "spike", 5, "ops@example.org, owner@example.org")
    assert check_traffic_alerts(services, NOW) == []  # 4 current visitors: below 5
    set_alert(services, "spike", 4, "ops@example.org, owner@example.org")
    assert check_traffic_alerts(services, NOW) == [(DOMAIN, "spike", 4)]
    assert check_traffic_alerts(services, NOW + timedelta(minutes=15)) == []
    assert check_traffic_alerts(services, NOW + timedelta(hours=11, minutes=59)) == []
    OutboxWorker(services.sessions, services.settings.mail).send_due()
    [mail] = plain_smtp.received
    assert mail.recipients == ["ops@example.org", "owner@example.org"]
    assert mail.message["Subject"] == "Traffic spike on busy.example: 4 current visitors"
    text = mail.part("plain")
    window = ["2026-03-10T11:55:00Z", "2026-03-10T12:00:00Z"]
    for dimension, heading in (("visit:source", "Top sources"), ("event:page", "Top pages")):
        api = world.query(
            site_id=DOMAIN,
            metrics=["visitors"],
            date_range=window,
            dimensions=[dimension],
            order_by=[["visitors", "desc"], [dimension, "asc"]],
            pagination={"limit": 3},
        )
        block = text.split(f"{heading} (last 5 minutes)\n")[1].split("\n\n")[0]
        assert block.splitlines() == [f"  {r['dimensions'][0]}: {r['metrics'][0]}" for r in api]
    assert "  Hacker News: 2" in text and "  /launch: 3" in text and "/\n" not in text
    assert "https://stats.example.com/busy.example/settings/email-reports" in text


def test_a_drop_below_the_threshold_in_12_hours_mails_again_only_after_12_hours(
    world: World, plain_smtp: SmtpServer, tmp_path: Path
) -> None:
    services = with_mail(world.services, plain_smtp, tmp_path)
    plain_smtp.clear()
    set_alert(services, "drop", 5, "owner@example.org")
    assert check_traffic_alerts(services, NOW) == []  # 5 visitors in 12 hours: not below 5
    set_alert(services, "drop", 100, "owner@example.org")
    [(domain, kind, visitors)] = check_traffic_alerts(services, NOW)
    api = world.query(
        site_id=DOMAIN, metrics=["visitors"], date_range=["2026-03-10T00:00:00Z", "2026-03-10T12:00:00Z"]
    )
    assert (domain, kind, visitors) == (DOMAIN, "drop", api[0]["metrics"][0]) and visitors == 5
    assert check_traffic_alerts(services, NOW + timedelta(hours=6)) == []
    later = check_traffic_alerts(services, NOW + timedelta(hours=12))
    assert later == [(DOMAIN, "drop", 0)]  # nothing in the 12 hours after noon
    OutboxWorker(services.sessions, services.settings.mail).send_due()
    subjects = [m.message["Subject"] for m in plain_smtp.received]
    assert subjects == [
        "Traffic drop on busy.example: 5 visitors in the last 12 hours",
        "Traffic drop on busy.example: 0 visitors in the last 12 hours",
    ]
