"""`percentage` with imported data: a breakdown's share is its visitors over the visitors of the
same data it was counted from.

Plausible's denominator is the query's visitors without its dimensions, the imported days'
visitors included whenever the breakdown includes imports (`total_imported_visitors`, read
from `imported_visitors`). That presumes the import filled every table, as Plausible's own
export does; footfall also takes an import of some tables only (a folder with
`imported_visitors` alone), and then a browsers breakdown counts the imported days' visitors
in its total but cannot count them in any row (2 native visitors of 103 = 1.9%). So the
imported part of the total counts only the days the breakdown's table holds: with a complete
import the answer is Plausible's, with a partial one the rows share the total they were
counted from. Custom events are the exception: a day without imported events is a day when
nobody did one, so their shares keep every imported visitor.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from footfall.meta.db import session_scope
from footfall.meta.models import Site
from footfall.moving.imports import run_import
from tests.stats.conftest import CHROME_MAC, FIREFOX_LINUX, SiteSetup, hit

NATIVE_DAY = date(2026, 3, 20)
IMPORT_FIRST, IMPORT_LAST = date(2026, 3, 10), date(2026, 3, 19)  # ten days, 10 visitors each
RANGE = [IMPORT_FIRST.isoformat(), NATIVE_DAY.isoformat()]
SITES = ("visitors-only.example", "complete.example", "half.example")


def _native_hits() -> list:
    """On each site, on its own first day: two Chrome visitors and a Firefox one, one signing up."""
    at = datetime(2026, 3, 20, 10, 0)
    hits = []
    for domain in SITES:
        hits += [
            hit("pageview", "/", at, CHROME_MAC, "85.214.132.117", domain=domain),
            hit("pageview", "/", at, CHROME_MAC, "81.2.69.142", domain=domain),
            hit("pageview", "/", at, FIREFOX_LINUX, "2.125.160.216", domain=domain),
            hit("Signup", "/", at + timedelta(seconds=30), FIREFOX_LINUX, "2.125.160.216", domain=domain),
        ]
    return hits


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _write_import(folder: Path, browser_days: list[date]) -> Path:
    """imported_visitors for the ten days (10 visitors a day); imported_browsers for `browser_days`
    (6 on Chrome, 4 on Safari each); one Signup by 2 visitors on the first day."""
    folder.mkdir()
    stamp = f"{IMPORT_FIRST:%Y%m%d}_{IMPORT_LAST:%Y%m%d}"
    visitors = ["date,visitors,pageviews,bounces,visits,visit_duration"]
    visitors += [f"{d.isoformat()},10,20,5,10,600" for d in _days(IMPORT_FIRST, IMPORT_LAST)]
    (folder / f"imported_visitors_{stamp}.csv").write_text("\n".join(visitors) + "\n")
    events = ["date,name,link_url,path,visitors,events", f"{IMPORT_FIRST.isoformat()},Signup,,,2,2"]
    (folder / f"imported_custom_events_{stamp}.csv").write_text("\n".join(events) + "\n")
    if browser_days:
        browsers = ["date,browser,browser_version,visitors,visits,visit_duration,bounces,pageviews"]
        for d in browser_days:
            browsers.append(f"{d.isoformat()},Chrome,131.0,6,6,360,3,12")
            browsers.append(f"{d.isoformat()},Safari,17.5,4,4,240,2,8")
        (folder / f"imported_browsers_{stamp}.csv").write_text("\n".join(browsers) + "\n")
    return folder


@pytest.fixture(scope="module")
def world(world_factory, tmp_path_factory):
    world = world_factory(
        [SiteSetup(domain, goals=[{"event_name": "Signup"}]) for domain in SITES], _native_hits()
    )
    services = world.services
    with session_scope(services.sessions) as db:
        ids = {s.domain: s.id for s in db.query(Site).all()}
    folder = tmp_path_factory.mktemp("imports")
    every_day = _days(IMPORT_FIRST, IMPORT_LAST)
    for domain, browser_days in zip(SITES, ([], every_day, every_day[5:]), strict=True):
        run_import(services, ids[domain], _write_import(folder / domain, browser_days))
    return world


def query(world, site: str, **body) -> dict:
    response = world.v2({"site_id": site, "date_range": RANGE, "include": {"imports": True}, **body})
    assert response.status_code == 200, response.text
    return response.json()


def shares(world, site: str, dimension: str = "visit:browser") -> dict[str, list]:
    answer = query(world, site, metrics=["visitors", "percentage"], dimensions=[dimension])
    assert answer["meta"]["imports_included"] is True
    return {row["dimensions"][0]: row["metrics"] for row in answer["results"]}


def test_every_site_counts_its_imported_visitors_in_the_top_stats(world) -> None:
    for site in SITES:
        assert query(world, site, metrics=["visitors"])["results"][0]["metrics"] == [103]


def test_a_breakdown_the_import_cannot_fill_shares_the_native_visitors_it_counted(world) -> None:
    # Before: Chrome 2 = 1.9%, Firefox 1 = 1.0% (of 103, the imported visitors' total included).
    assert shares(world, "visitors-only.example") == {"Chrome": [2, 66.7], "Firefox": [1, 33.3]}


def test_a_complete_import_gives_plausibles_shares_of_every_visitor(world) -> None:
    assert shares(world, "complete.example") == {
        "Chrome": [62, 60.2],  # 2 native + 60 imported, of 3 + 100
        "Safari": [40, 38.8],
        "Firefox": [1, 1.0],
    }


def test_an_import_holding_browsers_for_some_days_counts_those_days_in_the_total(world) -> None:
    # Browsers for the last five imported days only: of 3 native + 50 imported visitors.
    assert shares(world, "half.example") == {"Chrome": [32, 60.4], "Safari": [20, 37.7], "Firefox": [1, 1.9]}


def test_the_details_view_and_a_drill_down_give_the_same_shares(world) -> None:
    details = query(
        world,
        "half.example",
        metrics=["visitors", "percentage", "bounce_rate", "visit_duration"],
        dimensions=["visit:browser"],
    )
    assert {r["dimensions"][0]: r["metrics"][:2] for r in details["results"]} == shares(world, "half.example")
    # A browser's versions: the filter is on the browsers table, so its total is the table's own.
    versions = query(
        world,
        "half.example",
        metrics=["visitors", "percentage"],
        dimensions=["visit:browser_version"],
        filters=[["is", "visit:browser", ["Chrome"]]],
    )
    assert {r["dimensions"][0]: r["metrics"] for r in versions["results"]} == {"131.0": [32, 100.0]}


def test_custom_event_shares_keep_every_imported_visitor(world) -> None:
    # No imported event on a day means nobody did one: 1 native + 2 imported of 103 visitors.
    assert shares(world, "visitors-only.example", "event:name") == {
        "Signup": [3, 2.9],
        "pageview": [3, 2.9],  # imported custom events hold no pageviews
    }
