"""Importing Google Analytics 4 reports exported as CSV (written by hand from GA4's documented
report columns): each report fills its imported table with the documented column mapping."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from footfall.meta.db import session_scope
from footfall.meta.models import Site
from footfall.moving.files import ImportFileError
from footfall.moving.imports import list_imports, run_import
from footfall.services import Services

from .conftest import stored_rows

PREAMBLE = (
    "# ----------------------------------------\n"
    "# {title}\n"
    "# Account: Shop\n"
    "# Property: shop.example\n"
    "# ----------------------------------------\n"
    "#\n"
    "# Start date: 20240301\n"
    "# End date: 20240331\n"
)
REPORTS = {
    "daily.csv": (
        "Daily totals",
        "Date,Total users,Sessions,Views,Engaged sessions,Average session duration\n"
        "20240301,100,120,300,90,65.5\n"
        "20240302,80,90,200,45,40\n"
        "\n"
        "# Another table GA4 appends, not read\n"
        "Date,Total users\n",
    ),
    "pages.csv": (
        "Pages and screens",
        "Date,Page path and screen class,Views,Total users,Sessions\n20240301,/pricing,50,40,42\n",
    ),
    "landing.csv": (
        "Landing page",
        "Date,Landing page,Sessions,Total users,Views,Bounce rate,Average session duration\n"
        "20240301,/,60,55,150,0.25,30\n",
    ),
    "sources.csv": (
        "Traffic acquisition",
        "Date,Session source / medium,Session campaign,Session default channel group,Sessions,Total users,"
        "Views,Bounce rate,Average session duration\n"
        "20240301,google / organic,(organic),Organic Search,70,60,160,40%,20\n"
        '20240301,(direct) / (none),(direct),Direct,50,"1,000",140,0.5,10\n',
    ),
    "locations.csv": (
        "Demographic details",
        "Date,Country,Region,City,Sessions,Total users,Views\n"
        "20240301,Germany,Bavaria,Munich,30,25,80\n"
        "20240301,United States,California,San Francisco,20,18,40\n"
        "20240301,(not set),(not set),(not set),5,5,5\n",
    ),
    "devices.csv": ("Tech", "Date,Device category,Sessions,Total users\n20240301,mobile,40,35\n"),
    "browsers.csv": ("Tech", "Date,Browser,Sessions,Total users\n20240301,Chrome,40,35\n"),
    "systems.csv": (
        "Tech",
        "Date,Operating system,OS version,Sessions,Total users\n20240301,Macintosh,14.4,9,8\n",
    ),
}


def _write(folder: Path, reports: dict[str, tuple[str, str]]) -> Path:
    folder.mkdir()
    for name, (title, body) in reports.items():
        (folder / name).write_text("\ufeff" + PREAMBLE.format(title=title) + "\n" + body)
    return folder


def _rows(services: Services, site: Site, table: str, columns: str) -> list[tuple]:
    assert services.events is not None
    return services.events.query(
        f"SELECT {columns} FROM {{db}}.{table} WHERE site_id = {{s:UInt64}} ORDER BY {columns}",
        {"s": site.id},
    ).rows


def test_ga4_reports_import_with_the_documented_mapping(
    services: Services, site: Site, tmp_path: Path
) -> None:
    outcome = run_import(services, site.id, _write(tmp_path / "ga4", REPORTS))
    assert outcome.record.source == "ga4_csv"
    assert (outcome.record.start_date, outcome.record.end_date) == (date(2024, 3, 1), date(2024, 3, 2))
    assert stored_rows(services, site.id) == {
        "imported_visitors": 2,
        "imported_pages": 1,
        "imported_entry_pages": 1,
        "imported_sources": 2,
        "imported_locations": 3,
        "imported_devices": 1,
        "imported_browsers": 1,
        "imported_operating_systems": 1,
    }
    # bounces = sessions - engaged sessions; visit_duration = sessions x average duration.
    assert _rows(
        services, site, "imported_visitors", "date, visitors, visits, pageviews, bounces, visit_duration"
    ) == [
        (date(2024, 3, 1), 100, 120, 300, 30, 7860),
        (date(2024, 3, 2), 80, 90, 200, 45, 3600),
    ]
    assert _rows(services, site, "imported_pages", "page, visitors, visits, pageviews") == [
        ("/pricing", 40, 42, 50)
    ]
    # bounces = bounce rate x sessions, entrances = sessions.
    assert _rows(
        services, site, "imported_entry_pages", "entry_page, entrances, bounces, visit_duration"
    ) == [("/", 60, 15, 1800)]
    assert _rows(
        services, site, "imported_sources", "source, utm_medium, utm_campaign, channel, visitors, bounces"
    ) == [
        ("", "", "", "Direct", 1000, 25),
        ("Google", "organic", "", "Organic Search", 60, 28),
    ]
    assert _rows(services, site, "imported_locations", "country, region, city, city_name, visitors") == [
        ("", "", 0, "", 5),
        ("DE", "DE-BY", 2867714, "Munich", 25),
        ("US", "US-CA", 5391959, "San Francisco", 18),
    ]
    assert _rows(services, site, "imported_devices", "device, visitors") == [("Mobile", 35)]
    assert _rows(
        services, site, "imported_operating_systems", "operating_system, operating_system_version"
    ) == [("Mac", "14.4")]
    assert _rows(services, site, "imported_exit_pages", "exit_page") == []  # GA4 has no exit pages


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "Date,Page path and screen class,Total users\n20240301,/,4\n",
            "pages.csv, row 10: the report has no column 'Views' or 'Screen page views'",
        ),
        (
            "Date,Page path and screen class,Views,Total users\n20240301,/,many,4\n",
            "pages.csv, row 11, column 'Views': 'many' is not a number",
        ),
        (
            "Date,Page path and screen class,Views,Total users\n20240401,/,3,4\n",
            "pages.csv, row 11, column 'Date': 2024-04-01 lies outside 2024-03-01..2024-03-31",
        ),
        (
            "Date,Page path and screen class,Views,Total users\n2024-03-01,/,3,4\n",
            "pages.csv, row 11, column 'Date': '2024-03-01' is not a date (GA4 writes YYYYMMDD)",
        ),
    ],
)
def test_a_bad_ga4_report_is_refused_and_nothing_is_stored(
    services: Services, site: Site, tmp_path: Path, body: str, message: str
) -> None:
    reports = {"daily.csv": REPORTS["daily.csv"], "pages.csv": ("Pages and screens", body)}
    with pytest.raises(ImportFileError) as raised:
        run_import(services, site.id, _write(tmp_path / "ga4", reports))
    assert str(raised.value).startswith(message)
    assert stored_rows(services, site.id) == {}
    with session_scope(services.sessions) as db:
        assert [i.state for i in list_imports(db, site.id)] == ["failed"]
