"""Imported statistics in the Stats API: the round trip (export a site, import it into an empty
site, and every dashboard panel's numbers for the range, imports included, are the original's),
imported and native rows merged without counting a day twice, Plausible's skip reasons, v1's
`with_imported=true`, and deleting an import taking its numbers away.

The traffic is shop.example's day (tests/stats/shop.py) played on five days, with a UTM-tagged
visit from a newsletter on every other day; visits never cross midnight, and the site is on UTC,
so each day's visitors are distinct (footfall's visitor ids change daily) and the sum of daily
visitors equals the range's, as it does for Plausible's own export and import.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest

from footfall.meta.db import session_scope
from footfall.meta.models import Site
from footfall.moving.export import write_export
from footfall.moving.imports import delete_import, run_import
from tests.stats.conftest import FIREFOX_LINUX, SiteSetup, hit
from tests.stats.shop import SHOP, shop_hits

DAYS = 5
FIRST = date(2026, 3, 6)
LAST = FIRST + timedelta(days=DAYS - 1)
RANGE = [FIRST.isoformat(), LAST.isoformat()]


def _traffic(domain: str) -> list:
    """shop.example's visits (without its visitor of the day before) on each of the five days."""
    day_one = [h for h in shop_hits() if h.timestamp.date() == date(2026, 3, 10)]
    hits = []
    for n in range(DAYS):
        shift = timedelta(days=(FIRST - date(2026, 3, 10)).days + n)
        for h in day_one:
            hits.append(
                replace(
                    h, url=h.url.replace("shop.example", domain), domain=domain, timestamp=h.timestamp + shift
                )
            )
        if n % 2 == 0:
            at = h.timestamp.replace(hour=16) + shift - timedelta(days=0)
            hits.append(
                hit("pageview", "/?utm_source=newsletter&utm_medium=email&utm_campaign=spring", at,
                    FIREFOX_LINUX, "2.125.160.216", domain=domain)
            )  # fmt: skip
            hits.append(
                hit("Outbound Link: Click", "/", at + timedelta(seconds=20), FIREFOX_LINUX, "2.125.160.216",
                    domain=domain, props={"url": "https://example.org/"})
            )  # fmt: skip
    return hits


@pytest.fixture(scope="module")
def world(world_factory, tmp_path_factory):
    original = SiteSetup("original.example", goals=SHOP.goals)
    world = world_factory(
        [original, SiteSetup("copy.example", goals=SHOP.goals), SiteSetup("merged.example")],
        _traffic("original.example"),
    )
    services = world.services
    with session_scope(services.sessions) as db:
        sites = {s.domain: s for s in db.query(Site).all()}
    archive = tmp_path_factory.mktemp("roundtrip") / "original_example.zip"
    assert services.events is not None
    write_export(services.events, sites["original.example"].id, "Etc/UTC", FIRST, LAST, archive)
    outcome = run_import(services, sites["copy.example"].id, archive)
    world.archive = archive
    world.copy_import = outcome.record.id
    world.sites = sites
    return world


def answer(world, site: str, imports: bool, **body) -> dict:
    request = {"site_id": site, "date_range": RANGE, **body}
    if imports:
        request["include"] = {**request.get("include", {}), "imports": True}
    response = world.v2(request)
    assert response.status_code == 200, response.text
    return response.json()


PANELS = [
    pytest.param(
        {"metrics": ["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration"]},
        id="top stats",
    ),
    pytest.param(
        {
            "metrics": ["visitors", "pageviews", "visits", "bounce_rate", "visit_duration"],
            "dimensions": ["time:day"],
        },
        id="graph by day",
    ),
    pytest.param({"metrics": ["visitors"], "dimensions": ["time:week"]}, id="graph by week"),
    pytest.param(
        {"metrics": ["visitors", "bounce_rate", "visit_duration"], "dimensions": ["visit:source"]},
        id="sources",
    ),
    pytest.param({"metrics": ["visitors"], "dimensions": ["visit:channel"]}, id="channels"),
    pytest.param(
        {"metrics": ["visitors", "bounce_rate"], "dimensions": ["visit:utm_medium"]}, id="utm mediums"
    ),
    pytest.param({"metrics": ["visitors"], "dimensions": ["visit:utm_campaign"]}, id="utm campaigns"),
    pytest.param(
        {"metrics": ["visitors", "visits", "pageviews", "time_on_page"], "dimensions": ["event:page"]},
        id="top pages",
    ),
    pytest.param(
        {
            "metrics": ["visitors", "visits", "bounce_rate", "visit_duration"],
            "dimensions": ["visit:entry_page"],
        },
        id="entry pages",
    ),
    pytest.param({"metrics": ["visitors", "visits"], "dimensions": ["visit:exit_page"]}, id="exit pages"),
    pytest.param(
        {"metrics": ["visitors", "percentage"], "dimensions": ["visit:country_name"]}, id="countries"
    ),
    pytest.param({"metrics": ["visitors"], "dimensions": ["visit:region_name"]}, id="regions"),
    pytest.param({"metrics": ["visitors", "percentage"], "dimensions": ["visit:device"]}, id="devices"),
    pytest.param({"metrics": ["visitors"], "dimensions": ["visit:browser"]}, id="browsers"),
    pytest.param({"metrics": ["visitors"], "dimensions": ["visit:os"]}, id="operating systems"),
    pytest.param(
        {
            "metrics": ["visitors", "events"],
            "dimensions": ["event:name"],
            "filters": [["is_not", "event:name", ["pageview"]]],
        },
        id="custom events",
    ),
    pytest.param(
        {
            "metrics": ["visitors", "bounce_rate"],
            "dimensions": ["visit:source"],
            "filters": [["is", "visit:source", ["Google"]]],
        },
        id="sources filtered",
    ),
    pytest.param(
        {"metrics": ["visitors", "pageviews"], "filters": [["is", "event:page", ["/blog/post-1"]]]},
        id="pages filtered",
    ),
]


@pytest.mark.parametrize("body", PANELS)
def test_round_trip_every_panel_of_the_copy_equals_the_original(world, body) -> None:
    original = answer(world, "original.example", False, **body)
    copied = answer(world, "copy.example", True, **body)
    assert original["results"], "the original has numbers for this panel"
    assert copied["results"] == original["results"]
    assert copied["meta"]["imports_included"] is True
    # Without imports the copy has nothing of its own.
    assert all(
        m in (0, None) for r in answer(world, "copy.example", False, **body)["results"] for m in r["metrics"]
    )


def test_the_copy_without_imports_says_why_and_other_queries_give_plausible_skip_reasons(world) -> None:
    meta = answer(
        world,
        "copy.example",
        True,
        metrics=["visitors"],
        dimensions=["event:goal"],
        filters=[["is", "visit:country", ["DE"]]],
    )["meta"]
    assert meta["imports_included"] is False and meta["imports_skip_reason"] == "unsupported_query"
    assert "imports_warning" in meta
    mixed = answer(world, "copy.example", True, metrics=["visitors"], dimensions=["visit:source"],
                   filters=[["is", "visit:country", ["DE"]]])  # fmt: skip
    assert mixed["meta"]["imports_skip_reason"] == "unsupported_query"
    hourly = answer(world, "copy.example", True, metrics=["visitors"], dimensions=["time:hour"])
    assert hourly["meta"]["imports_skip_reason"] == "unsupported_interval"
    before = world.v2({"site_id": "copy.example", "date_range": ["2020-01-01", "2020-01-31"],
                       "metrics": ["visitors"], "include": {"imports": True}}).json()  # fmt: skip
    assert before["meta"] == {"imports_included": False, "imports_skip_reason": "out_of_range"}
    none = answer(world, "original.example", True, metrics=["visitors"])
    assert none["meta"] == {"imports_included": False, "imports_skip_reason": "no_imported_data"}


def test_v1_with_imported(world) -> None:
    params = {"site_id": "copy.example", "period": "custom", "date": ",".join(RANGE)}
    original = world.aggregate(
        **{**params, "site_id": "original.example"}, metrics="visitors,visits,bounce_rate"
    )
    assert world.aggregate(**params, metrics="visitors,visits,bounce_rate", with_imported="true") == original
    assert world.aggregate(**params, metrics="visitors")["visitors"] == 0
    breakdown = world.v1("breakdown", **params, property="visit:source", with_imported="true").json()
    expected = world.v1(
        "breakdown", **{**params, "site_id": "original.example"}, property="visit:source"
    ).json()
    assert breakdown["results"] == expected["results"]


def test_imported_and_native_days_are_summed_and_no_day_is_counted_twice(world) -> None:
    """merged.example has its own data on the range's last two days, and imports all five: the
    import keeps its first three days only, and the range's numbers are the original's."""
    services = world.services
    merged = world.sites["merged.example"]
    from footfall.ingest.api import record_hits

    late = [h for h in _traffic("merged.example") if h.timestamp.date() >= LAST - timedelta(days=1)]
    assert not [o for o in record_hits(services, late) if not o.accepted]
    outcome = run_import(services, merged.id, world.archive)
    assert outcome.skipped > 0
    assert (outcome.record.start_date, outcome.record.end_date) == (FIRST, LAST - timedelta(days=2))
    metrics = ["visitors", "visits", "pageviews", "bounce_rate", "visit_duration"]
    original = answer(world, "original.example", False, metrics=metrics)["results"]
    assert answer(world, "merged.example", True, metrics=metrics)["results"] == original
    by_source = {"metrics": ["visitors", "bounce_rate"], "dimensions": ["visit:source"]}
    assert (
        answer(world, "merged.example", True, **by_source)["results"]
        == answer(world, "original.example", False, **by_source)["results"]
    )
    native_only = answer(world, "merged.example", False, metrics=["visitors"])["results"][0]["metrics"][0]
    assert 0 < native_only < original[0]["metrics"][0]
    delete_import(services, merged.id, outcome.record.id)
    with_imports = answer(world, "merged.example", True, metrics=["visitors"])
    assert with_imports["results"][0]["metrics"][0] == native_only
    assert with_imports["meta"]["imports_skip_reason"] == "no_imported_data"


def test_cities_keep_their_numbers_under_their_geonames_names(world) -> None:
    """The export names a city by its GeoNames id, so the copy shows GeoNames' name of each city
    (DB-IP's "Berlin (Charlottenburg-Wilmersdorf)" is GeoNames' Berlin), with the same visitors,
    districts of one city added up."""
    body = {"metrics": ["visitors"], "dimensions": ["visit:city_name"]}
    original = answer(world, "original.example", False, **body)["results"]
    copied = answer(world, "copy.example", True, **body)["results"]
    by_name: dict[str, int] = {}
    for row in original:  # two London districts are one GeoNames city
        name = row["dimensions"][0].split(" (")[0]
        by_name[name] = by_name.get(name, 0) + row["metrics"][0]
    assert len(original) == 4 and sorted(by_name) == ["Berlin", "London", "Stockholm"]
    assert {r["dimensions"][0]: r["metrics"][0] for r in copied} == by_name


def test_goal_conversions_come_from_imported_custom_events_and_pages(world) -> None:
    """Event goals and single-page goals match the original exactly; a wildcard goal over several
    pages counts each page's visitors (imported rows have no visitor ids to tell them apart), as
    Plausible does: A and C read /blog/post-1 and C /blog/post-2 each day, 2 visitors a day
    natively, 3 from the imported pages."""
    body = {"metrics": ["visitors", "events", "conversion_rate"], "dimensions": ["event:goal"]}
    original = {
        r["dimensions"][0]: r["metrics"] for r in answer(world, "original.example", False, **body)["results"]
    }
    copied = answer(world, "copy.example", True, **body)
    assert copied["meta"]["imports_included"] is True
    found = {r["dimensions"][0]: r["metrics"] for r in copied["results"]}
    assert set(found) == set(original) == {"Signup", "Purchase", "Visit /pricing", "Visit /blog/**"}
    for goal in ("Signup", "Purchase", "Visit /pricing"):
        assert found[goal] == original[goal], goal
    assert original["Visit /blog/**"][:2] == [10, 15]
    assert found["Visit /blog/**"][:2] == [15, 15]
