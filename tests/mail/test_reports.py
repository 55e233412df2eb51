"""Weekly and monthly reports: due at 09:00 in the site's zone, numbers equal to the Stats
API's for the same period, sent once, a missed one caught up within a day, two app
instances on one PostgreSQL sending each report once."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from footfall.mail.jobs import Job, Scheduler
from footfall.mail.outbox import OutboxWorker
from footfall.mail.reports import latest_period, send_due_reports
from footfall.meta.db import make_engine, make_sessionmaker, migrate, session_scope
from footfall.meta.mail import ReportRecipient, ReportRun
from footfall.meta.models import Site
from footfall.services import Services
from footfall.sites.sites import create_site
from tests.mail.conftest import with_mail
from tests.mail.smtp_server import SmtpServer
from tests.stats.conftest import CHROME_MAC, FIREFOX_LINUX, SAFARI_IPHONE, SiteSetup, World, build_world, hit

DOMAIN = "report.example"
ZONE = "Europe/Berlin"  # UTC+1 until 29 March 2026, then UTC+2


def h(name: str, path: str, when: datetime, ua: str, ip: str, **extra):
    return hit(name, path, when, ua, ip, domain=DOMAIN, **extra)


def hits():
    week = datetime(2026, 3, 10, 9)  # Tuesday of the week 9-15 March
    before = datetime(2026, 3, 3, 9)  # the week before
    return [
        # The week reported: 4 visitors, 6 pageviews, one Signup.
        h("pageview", "/", week, CHROME_MAC, "85.214.132.117", referrer="https://www.google.com/"),
        h("pageview", "/pricing", week + timedelta(minutes=2), CHROME_MAC, "85.214.132.117"),
        h("Signup", "/pricing", week + timedelta(minutes=3), CHROME_MAC, "85.214.132.117"),
        h(
            "pageview",
            "/",
            week + timedelta(hours=2),
            SAFARI_IPHONE,
            "81.2.69.142",
            referrer="https://news.ycombinator.com/",
        ),
        h(
            "pageview",
            "/blog",
            week + timedelta(days=1),
            FIREFOX_LINUX,
            "89.160.20.112",
            referrer="https://www.google.com/",
        ),
        h("pageview", "/blog/one", week + timedelta(days=1, minutes=1), FIREFOX_LINUX, "89.160.20.112"),
        h("pageview", "/", week + timedelta(days=2), CHROME_MAC, "216.160.83.56"),
        # The week before: 2 visitors.
        h("pageview", "/", before, CHROME_MAC, "85.214.132.117", referrer="https://duckduckgo.com/"),
        h("pageview", "/blog", before + timedelta(hours=1), SAFARI_IPHONE, "81.2.69.142"),
        # Outside both weeks (Monday 16 March, 10:00 Berlin): not in the report.
        h("pageview", "/late", datetime(2026, 3, 16, 9), CHROME_MAC, "85.214.132.117"),
    ]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, chdb_engine) -> Iterator[World]:
    setup = SiteSetup(DOMAIN, ZONE, goals=[{"event_name": "Signup"}, {"page_path": "/blog**"}])
    made, close = build_world(tmp_path_factory.mktemp("reports"), chdb_engine, [setup], hits())
    yield made
    close()


def subscribe(services: Services, kind: str, *emails: str, since: datetime = datetime(2026, 1, 1)) -> None:
    with session_scope(services.sessions) as db:
        site = db.scalars(select(Site).where(Site.domain == DOMAIN)).one()
        for n, email in enumerate(emails):
            db.add(
                ReportRecipient(
                    site_id=site.id,
                    kind=kind,
                    email=email,
                    unsubscribe_token=f"{kind}-{email}-{n}",
                    created_at=since,
                )
            )


def clear_reports(services: Services) -> None:
    with session_scope(services.sessions) as db:
        for model in (ReportRecipient, ReportRun):
            for row in db.scalars(select(model)):
                db.delete(row)


def test_the_schedule_is_monday_and_the_first_at_nine_in_the_sites_zone() -> None:
    # 08:59 Berlin on Monday 16 March is 07:59 UTC: the latest weekly report is the week before.
    before = latest_period("weekly", ZONE, datetime(2026, 3, 16, 7, 59))
    assert (before.first.isoformat(), before.last.isoformat()) == ("2026-03-02", "2026-03-08")
    due = latest_period("weekly", ZONE, datetime(2026, 3, 16, 8, 0))
    assert (due.first.isoformat(), due.last.isoformat()) == ("2026-03-09", "2026-03-15")
    assert due.scheduled_at == datetime(2026, 3, 16, 8, 0)
    assert (due.previous_first.isoformat(), due.previous_last.isoformat()) == ("2026-03-02", "2026-03-08")
    monthly = latest_period("monthly", ZONE, datetime(2026, 4, 1, 7, 0))  # 09:00 CEST
    assert (monthly.first.isoformat(), monthly.last.isoformat()) == ("2026-03-01", "2026-03-31")
    assert (monthly.previous_first.isoformat(), monthly.previous_last.isoformat()) == (
        "2026-02-01",
        "2026-02-28",
    )
    assert latest_period("monthly", ZONE, datetime(2026, 4, 1, 6, 59)).first.isoformat() == "2026-02-01"
    assert (
        latest_period("weekly", "Pacific/Kiritimati", datetime(2026, 3, 15, 19, 0)).first.isoformat()
        == "2026-03-09"
    )


def test_weekly_report_numbers_equal_the_stats_api_and_it_goes_out_once(
    world: World, plain_smtp: SmtpServer, tmp_path: Path
) -> None:
    services = with_mail(world.services, plain_smtp, tmp_path)
    clear_reports(services)
    plain_smtp.clear()
    subscribe(services, "weekly", "ada@example.org", "partner@agency.example")
    now = datetime(2026, 3, 16, 8, 30)  # Monday 09:30 in Berlin
    assert send_due_reports(services, now) == [(DOMAIN, "weekly", now.date() - timedelta(days=7), "sent")]
    assert send_due_reports(services, now + timedelta(minutes=1)) == []  # never twice
    OutboxWorker(services.sessions, services.settings.mail).send_due()
    mails = sorted(plain_smtp.received, key=lambda m: m.recipients)
    assert [m.recipients for m in mails] == [["ada@example.org"], ["partner@agency.example"]]
    mail = mails[0]
    assert mail.message["Subject"] == "Weekly report for report.example: 9 Mar to 15 Mar 2026"
    text = mail.part("plain")

    api = world.v1(
        "aggregate",
        site_id=DOMAIN,
        period="custom",
        date="2026-03-09,2026-03-15",
        metrics="visitors,pageviews,bounce_rate,visit_duration",
        compare="previous_period",
    ).json()["results"]
    assert api["visitors"]["value"] == 4 and api["pageviews"]["value"] == 6
    assert (
        f"Visitors:                  {api['visitors']['value']}   (+{api['visitors']['change']:g}%)" in text
    )
    assert (
        f"Pageviews:                 {api['pageviews']['value']}   (+{api['pageviews']['change']:g}%)" in text
    )
    assert f"Bounce rate:             {api['bounce_rate']['value']:g}%" in text
    sources = world.v1(
        "breakdown",
        site_id=DOMAIN,
        period="custom",
        date="2026-03-09,2026-03-15",
        property="visit:source",
        limit=10,
    ).json()["results"]
    expected_sources = [r for r in sources if r["source"] != "Direct / None"][:5]
    assert [r["source"] for r in expected_sources] == ["Google", "Hacker News"]
    block = text.split("Top sources\n")[1].split("\n\n")[0]
    assert block.splitlines() == [f"  {r['source']}: {r['visitors']}" for r in expected_sources]
    pages = world.v1(
        "breakdown",
        site_id=DOMAIN,
        period="custom",
        date="2026-03-09,2026-03-15",
        property="event:page",
        limit=5,
    ).json()["results"]
    block = text.split("Top pages\n")[1].split("\n\n")[0]
    assert block.splitlines() == [f"  {r['page']}: {r['visitors']}" for r in pages]
    assert "/late" not in text
    goals = world.v1(
        "breakdown",
        site_id=DOMAIN,
        period="custom",
        date="2026-03-09,2026-03-15",
        property="event:goal",
        metrics="visitors,conversion_rate",
    ).json()["results"]
    block = text.split("Top goal conversions\n")[1].split("\n\n")[0]
    assert sorted(block.splitlines()) == sorted(
        f"  {r['goal']}: {r['visitors']} ({r['conversion_rate']:g}%)" for r in goals
    )
    link = "https://stats.example.com/report.example?period=custom&from=2026-03-09&to=2026-03-15"
    assert link in text and f'href="{link.replace("&", "&amp;")}"' in mail.part("html")
    unsubscribe = "https://stats.example.com/email-reports/unsubscribe/weekly-ada@example.org-0"
    assert unsubscribe in text
    assert mail.message["List-Unsubscribe"] == f"<{unsubscribe}>"


def test_a_missed_report_is_sent_within_a_day_and_skipped_after(
    world: World, plain_smtp: SmtpServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    services = with_mail(world.services, plain_smtp, tmp_path)
    clear_reports(services)
    subscribe(services, "weekly", "ada@example.org")
    subscribe(services, "monthly", "ada@example.org")
    # Down from Sunday until Tuesday 08:59 Berlin (07:59 UTC): 23 h 59 min late, still sent.
    assert send_due_reports(services, datetime(2026, 3, 17, 7, 59)) == [
        (DOMAIN, "monthly", datetime(2026, 2, 1).date(), "skipped"),
        (DOMAIN, "weekly", datetime(2026, 3, 9).date(), "sent"),
    ]
    assert (
        "the monthly report of report.example for February 2026 was due at 2026-03-01 08:00:00 UTC"
        in caplog.text
    )
    clear_reports(services)
    subscribe(services, "weekly", "ada@example.org")
    with caplog.at_level(logging.WARNING, logger="footfall.mail"):
        assert send_due_reports(services, datetime(2026, 3, 17, 8, 1)) == [
            (DOMAIN, "weekly", datetime(2026, 3, 9).date(), "skipped")
        ]
    assert "more than a day ago (footfall was not running): skipped" in caplog.text
    assert send_due_reports(services, datetime(2026, 3, 17, 8, 2)) == []  # logged once


def test_a_new_subscriber_gets_the_next_report_not_the_last_one(
    world: World, plain_smtp: SmtpServer, tmp_path: Path
) -> None:
    services = with_mail(world.services, plain_smtp, tmp_path)
    clear_reports(services)
    subscribe(services, "weekly", "late@example.org", since=datetime(2026, 3, 16, 8, 10))
    assert send_due_reports(services, datetime(2026, 3, 16, 8, 30)) == []
    assert send_due_reports(services, datetime(2026, 3, 23, 8, 0)) == [
        (DOMAIN, "weekly", datetime(2026, 3, 16).date(), "sent")
    ]


@pytest.mark.postgres
def test_two_app_instances_on_one_postgresql_send_each_report_once(
    postgres_url: str, event_store, plain_smtp: SmtpServer, tmp_path: Path
) -> None:
    from footfall.config import load_settings

    settings = load_settings(
        {
            "DATA_DIR": str(tmp_path),
            "DATABASE_URL": postgres_url,
            "BASE_URL": "https://stats.example.com",
            **plain_smtp.env(),
        }
    )
    engines = [make_engine(settings.database_url), make_engine(settings.database_url)]
    migrate(engines[0])
    instances = [
        Services(settings=settings, engine=e, sessions=make_sessionmaker(e), events=event_store)
        for e in engines
    ]
    with session_scope(instances[0].sessions) as db:
        for n in range(3):
            site = create_site(db, f"site{n}.example", "America/New_York")
            for kind in ("weekly", "monthly"):
                db.add(
                    ReportRecipient(
                        site_id=site.id,
                        kind=kind,
                        email=f"owner{n}@example.org",
                        unsubscribe_token=f"t{n}{kind}",
                        created_at=datetime(2026, 1, 1),
                    )
                )
    plain_smtp.clear()
    # Monday 1 June 2026, 09:00 in New York (13:00 UTC): a weekly and a monthly report per site.
    clock = [datetime(2026, 6, 1, 13, 0)]
    schedulers = [
        Scheduler(
            s.engine,
            [Job("reports", timedelta(minutes=1), lambda now, s=s: send_due_reports(s, now))],
            now=lambda: clock[0],
            holder=f"replica-{i}",
            lease_ttl=timedelta(seconds=45),
        )
        for i, s in enumerate(instances)
    ]
    try:
        for _ in range(6):  # three minutes of ticks, the two replicas at the same moments
            threads = [threading.Thread(target=s.tick) for s in schedulers]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            clock[0] += timedelta(seconds=30)
        # replica-0 dies; replica-1 takes the lease and finds nothing left to send.
        for _ in range(4):
            schedulers[1].tick()
            clock[0] += timedelta(seconds=30)
        workers = [OutboxWorker(s.sessions, settings.mail) for s in instances]
        threads = [threading.Thread(target=w.send_due) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        got = sorted((m.recipients[0], m.message["Subject"].split(" report")[0]) for m in plain_smtp.received)
        assert got == sorted(
            (f"owner{n}@example.org", kind) for n in range(3) for kind in ("Weekly", "Monthly")
        )
        with session_scope(instances[0].sessions) as db:
            assert db.scalar(select(ReportRun.outcome).distinct()) == "sent"
    finally:
        for engine in engines:
            engine.dispose()
