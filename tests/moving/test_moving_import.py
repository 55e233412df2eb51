"""Importing Plausible's CSV export: files written by hand in Plausible's layout land in the
imported tables exactly; a bad file is refused with its file, row and column, and nothing of
the import is stored; imports are listed, limited to 5 a site, and deleted with exactly their
rows; an interrupted import keeps its complete tables, is never counted, and resumes to the
rows an import that was never cut short brings."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from footfall.accounts.errors import DomainError
from footfall.meta.db import session_scope
from footfall.meta.models import Site, SiteImport
from footfall.moving.files import ImportFileError
from footfall.moving.imports import (
    IMPORTS_PER_SITE,
    completed_imports,
    delete_import,
    list_imports,
    resume_import,
    run_import,
    sweep,
)
from footfall.services import Services

from .conftest import import_cut_short, stored_rows, write_zip

R = "20240101_20240131"
PLAUSIBLE_FILES = {
    f"imported_visitors_{R}.csv": (
        "date,visitors,pageviews,bounces,visits,visit_duration\n"
        "2024-01-01,10,25,4,12,600\n"
        "2024-01-02,7,14,3,8,320\n"
    ),
    f"imported_sources_{R}.csv": (
        "date,source,referrer,utm_source,utm_medium,utm_campaign,utm_content,utm_term,"
        "pageviews,visitors,visits,visit_duration,bounces\n"
        "2024-01-01,Google,google.com,,,,,,15,6,7,400,2\n"
        "2024-01-01,,,,,,,,10,4,5,200,2\n"
        "2024-01-02,Newsletter,,newsletter,email,winter,,,14,7,8,320,3\n"
    ),
    f"imported_pages_{R}.csv": (
        "date,hostname,page,visits,visitors,pageviews,total_scroll_depth,total_scroll_depth_visits,"
        "total_time_on_page,total_time_on_page_visits\n"
        "2024-01-01,shop.example,/,9,8,12,400,6,300,6\n"
        '2024-01-01,shop.example,"/search?q=a,b",3,3,13,90,2,40,2\n'
    ),
    f"imported_entry_pages_{R}.csv": (
        "date,entry_page,visitors,entrances,visit_duration,bounces,pageviews\n2024-01-01,/,10,12,600,4,25\n"
    ),
    f"imported_exit_pages_{R}.csv": (
        "date,exit_page,visitors,visit_duration,exits,bounces,pageviews\n2024-01-01,/pricing,10,600,12,4,25\n"
    ),
    f"imported_custom_events_{R}.csv": (
        "date,name,link_url,path,visitors,events\n"
        "2024-01-01,Signup,,,3,4\n"
        "2024-01-01,Outbound Link: Click,https://example.org/,,2,2\n"
    ),
    f"imported_locations_{R}.csv": (
        "date,country,region,city,visitors,visits,visit_duration,bounces,pageviews\n"
        "2024-01-01,DE,DE-BE,2950159,5,6,300,2,12\n"
        "2024-01-01,FR,,0,5,6,300,2,13\n"
    ),
    f"imported_devices_{R}.csv": (
        "date,device,visitors,visits,visit_duration,bounces,pageviews\n2024-01-01,Desktop,10,12,600,4,25\n"
    ),
    f"imported_browsers_{R}.csv": (
        "date,browser,browser_version,visitors,visits,visit_duration,bounces,pageviews\n"
        "2024-01-01,Firefox,133.0,10,12,600,4,25\n"
    ),
    f"imported_operating_systems_{R}.csv": (
        "date,operating_system,operating_system_version,visitors,visits,visit_duration,bounces,pageviews\n"
        "2024-01-01,GNU/Linux,,10,12,600,4,25\n"
    ),
}
ROWS = {
    f"imported_{name.split('_', 1)[1].rsplit('_', 2)[0]}": text.count("\n") - 1
    for name, text in PLAUSIBLE_FILES.items()
}


def test_a_plausible_zip_written_by_hand_lands_in_every_imported_table(
    services: Services, site: Site, tmp_path: Path
) -> None:
    archive = write_zip(tmp_path / "shop_example_20240201.zip", PLAUSIBLE_FILES)
    outcome = run_import(services, site.id, archive)
    assert outcome.record.state == "completed"
    assert outcome.record.source == "plausible_csv"
    assert outcome.record.rows == sum(ROWS.values()) == 16
    assert (outcome.record.start_date, outcome.record.end_date) == (date(2024, 1, 1), date(2024, 1, 2))
    assert stored_rows(services, site.id) == ROWS
    store = services.events
    assert store is not None
    pages = store.query(
        "SELECT page, visits, visitors, pageviews, total_time_on_page FROM {db}.imported_pages "
        "WHERE site_id = {s:UInt64} ORDER BY page",
        {"s": site.id},
    ).rows
    assert pages == [("/", 9, 8, 12, 300), ("/search?q=a,b", 3, 3, 13, 40)]
    # footfall's own columns: the channel as ingestion names it, the city's name from GeoNames.
    channels = store.query(
        "SELECT source, channel FROM {db}.imported_sources WHERE site_id = {s:UInt64} ORDER BY source",
        {"s": site.id},
    ).rows
    assert channels == [("", "Direct"), ("Google", "Organic Search"), ("Newsletter", "Email")]
    cities = store.query(
        "SELECT country, city, city_name FROM {db}.imported_locations "
        "WHERE site_id = {s:UInt64} ORDER BY country",
        {"s": site.id},
    ).rows
    assert cities == [("DE", 2950159, "Berlin"), ("FR", 0, "")]
    with session_scope(services.sessions) as db:
        listed = list_imports(db, site.id)
        assert [(i.id, i.state, i.rows) for i in listed] == [(outcome.record.id, "completed", 16)]
        assert [r.id for r in completed_imports(db, site.id)] == [outcome.record.id]


def test_names_without_prefix_or_range_and_a_folder_are_accepted(
    services: Services, site: Site, tmp_path: Path
) -> None:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "visitors.csv").write_text(PLAUSIBLE_FILES[f"imported_visitors_{R}.csv"])
    # Columns in another order, and an older export without the time-on-page columns.
    (folder / "imported_pages.csv").write_text(
        "page,date,hostname,visitors,visits,pageviews\n/about,2024-01-03,shop.example,2,2,3\n"
    )
    (folder / "notes.txt").write_text("not a CSV file: ignored")
    outcome = run_import(services, site.id, folder)
    assert outcome.record.label == "export"
    assert stored_rows(services, site.id) == {"imported_visitors": 2, "imported_pages": 1}
    assert services.events is not None
    assert services.events.query(
        "SELECT page, visitors, total_time_on_page FROM {db}.imported_pages WHERE site_id = {s:UInt64}",
        {"s": site.id},
    ).rows == [("/about", 2, 0)]


BAD_FILES = [
    pytest.param(
        f"imported_browsers_{R}.csv",
        b"date,browser,browser_version,visitors,visits,visit_duration,bounces,pageviews\n"
        b"2024-01-01,Firefox,133.0,10,12,600,4,25\n",
        f"imported_pages_{R}.csv",
        "date,hostname,page,visits,visitors,pageviews\n2024-01-01,shop.example,/caf\xe9,1,1,1\n".encode(
            "latin-1"
        ),
        f"imported_pages_{R}.csv, row 2, column 'page': byte 0xe9 is not UTF-8 text",
        id="wrong encoding",
    ),
    pytest.param(
        f"imported_browsers_{R}.csv",
        b"date,browser,browser_version,visitors,visits,visit_duration,bounces,pageviews\n"
        b"2024-01-01,Firefox,133.0,10,12,600,4,25\n",
        f"imported_sources_{R}.csv",
        b"date,source,referrer,utm_source,utm_medium,utm_campaign,utm_content,pageviews,visitors,visits,"
        b"visit_duration,bounces\n2024-01-01,Google,,,,,,1,1,1,1,0\n",
        f"imported_sources_{R}.csv, row 1: the header has no column 'utm_term'",
        id="missing column",
    ),
    pytest.param(
        f"imported_browsers_{R}.csv",
        b"date,browser,browser_version,visitors,visits,visit_duration,bounces,pageviews\n"
        b"2024-01-01,Firefox,133.0,10,12,600,4,25\n",
        f"imported_devices_{R}.csv",
        b"date,device,visitors,visits,visit_duration,bounces,pageviews\n2024-01-01,Desktop,10,12,600,4,25\n"
        b"2024-01-02,Mobile,ten,12,600,4,25\n",
        f"imported_devices_{R}.csv, row 3, column 'visitors': 'ten' is not a whole number",
        id="not a number",
    ),
    pytest.param(
        f"imported_browsers_{R}.csv",
        b"date,browser,browser_version,visitors,visits,visit_duration,bounces,pageviews\n"
        b"2024-01-01,Firefox,133.0,10,12,600,4,25\n",
        f"imported_operating_systems_{R}.csv",
        b"date,operating_system,operating_system_version,visitors,visits,visit_duration,bounces,pageviews\n"
        b"2024-02-01,GNU/Linux,,10,12,600,4,25\n",
        f"imported_operating_systems_{R}.csv, row 2, column 'date': "
        "2024-02-01 lies outside 2024-01-01..2024-01-31",
        id="date outside the name's range",
    ),
    pytest.param(
        f"imported_browsers_{R}.csv",
        b"date,browser,browser_version,visitors,visits,visit_duration,bounces,pageviews\n"
        b"2024-01-01,Firefox,133.0,10,12,600,4,25\n",
        f"imported_locations_{R}.csv",
        b"date,country,region,city,visitors,visits,visit_duration,bounces,pageviews\n"
        b"2024-01-01,DE,DE-BE,2950159,5,6,300\n",
        f"imported_locations_{R}.csv, row 2: the row has 7 values, the header 9 columns",
        id="short row",
    ),
]


@pytest.mark.parametrize(("good_name", "good", "bad_name", "bad", "message"), BAD_FILES)
def test_a_bad_file_is_refused_by_file_row_and_column_and_nothing_is_stored(
    services: Services,
    site: Site,
    tmp_path: Path,
    good_name: str,
    good: bytes,
    bad_name: str,
    bad: bytes,
    message: str,
) -> None:
    # Files are read in name order: the good file's rows are written before the bad one is read.
    assert good_name < bad_name
    archive = write_zip(tmp_path / "bad.zip", {bad_name: bad, good_name: good})
    with pytest.raises(ImportFileError) as raised:
        run_import(services, site.id, archive)
    assert str(raised.value).startswith(message)
    assert stored_rows(services, site.id) == {}
    with session_scope(services.sessions) as db:
        (record,) = list_imports(db, site.id)
        assert record.state == "failed" and record.rows == 0
        assert record.error is not None and record.error.startswith(message)
        assert completed_imports(db, site.id) == ()


def test_files_that_are_no_export_are_refused_in_one_line(
    services: Services, site: Site, tmp_path: Path
) -> None:
    (tmp_path / "notes.zip").write_bytes(b"not a zip")
    with pytest.raises(DomainError, match="neither a ZIP archive nor a folder"):
        run_import(services, site.id, tmp_path / "notes.zip")
    archive = write_zip(tmp_path / "other.zip", {"imported_referrers_20240101_20240131.csv": "date,x\n"})
    with pytest.raises(ImportFileError, match=r"imported_referrers_20240101_20240131\.csv: neither one of"):
        run_import(services, site.id, archive)
    empty = write_zip(tmp_path / "empty.zip", {f"imported_visitors_{R}.csv": ""})
    with pytest.raises(ImportFileError, match="row 1: the file is empty"):
        run_import(services, site.id, empty)


def _visitors_file(first: date, days: int) -> dict[str, str]:
    last = first + timedelta(days=days - 1)
    lines = [f"{first + timedelta(days=i)},{i + 1},1,0,1,10" for i in range(days)]
    name = f"imported_visitors_{first:%Y%m%d}_{last:%Y%m%d}.csv"
    return {name: "date,visitors,pageviews,bounces,visits,visit_duration\n" + "\n".join(lines) + "\n"}


def test_deleting_an_import_removes_exactly_its_rows(services: Services, site: Site, tmp_path: Path) -> None:
    january = run_import(
        services, site.id, write_zip(tmp_path / "a.zip", _visitors_file(date(2023, 1, 1), 31))
    )
    february = run_import(
        services, site.id, write_zip(tmp_path / "b.zip", _visitors_file(date(2023, 2, 1), 28))
    )
    assert stored_rows(services, site.id) == {"imported_visitors": 59}
    delete_import(services, site.id, january.record.id)
    assert stored_rows(services, site.id) == {"imported_visitors": 28}
    assert services.events is not None
    left = services.events.query(
        "SELECT import_id, min(date), max(date), sum(visitors) FROM {db}.imported_visitors "
        "WHERE site_id = {s:UInt64} GROUP BY import_id",
        {"s": site.id},
    ).rows
    assert left == [(february.record.id, date(2023, 2, 1), date(2023, 2, 28), sum(range(1, 29)))]
    with session_scope(services.sessions) as db:
        assert [i.id for i in list_imports(db, site.id)] == [february.record.id]


def test_overlapping_imports_and_a_sixth_import_are_refused(
    services: Services, site: Site, tmp_path: Path
) -> None:
    for month in range(1, IMPORTS_PER_SITE + 1):
        run_import(
            services, site.id, write_zip(tmp_path / f"{month}.zip", _visitors_file(date(2022, month, 1), 28))
        )
    with pytest.raises(DomainError, match="has 5 imports, the most a site may have"):
        run_import(services, site.id, write_zip(tmp_path / "6.zip", _visitors_file(date(2022, 6, 1), 28)))
    with session_scope(services.sessions) as db:
        first = list_imports(db, site.id)[-1]
    delete_import(services, site.id, first.id)
    with pytest.raises(DomainError, match=r"overlaps import \d+ \(2022-02-01..2022-02-28\)"):
        run_import(services, site.id, write_zip(tmp_path / "o.zip", _visitors_file(date(2022, 2, 10), 5)))
    assert stored_rows(services, site.id) == {"imported_visitors": 4 * 28}


def _pages_file(first: date, days: int) -> dict[str, str]:
    last = first + timedelta(days=days - 1)
    lines = [f"{first + timedelta(days=i // 3)},a.example,/p/{i},1,1,{i % 7 + 1}" for i in range(days * 3)]
    name = f"imported_pages_{first:%Y%m%d}_{last:%Y%m%d}.csv"
    return {name: "date,hostname,page,visits,visitors,pageviews\n" + "\n".join(lines) + "\n"}


def test_an_interrupted_import_keeps_its_complete_tables_and_resumes_to_the_same_rows(
    services: Services, site: Site, tmp_path: Path
) -> None:
    files = {**_visitors_file(date(2021, 1, 1), 300), **_pages_file(date(2021, 1, 1), 300)}
    big = write_zip(tmp_path / "big.zip", files)
    clean_site = _other_site(services)
    clean = run_import(services, clean_site, big)

    import_cut_short(services, site.id, big, "imported_pages", 10)  # visitors (the first table) in
    # visitors complete and kept, the pages rows it had begun deleted, and nothing counted
    assert stored_rows(services, site.id) == {"imported_visitors": 300}
    with session_scope(services.sessions) as db:
        (record,) = list_imports(db, site.id)
        assert record.state == "interrupted" and record.rows == 300
        assert record.error == (
            "interrupted with 1 of 2 tables in; counted only once it is resumed and complete"
        )
        assert completed_imports(db, site.id) == ()
        import_id = record.id
    with pytest.raises(DomainError, match=r"import \d+ is complete; there is nothing to resume"):
        resume_import(services, clean_site, clean.record.id)
    resumed = resume_import(services, site.id, import_id)
    assert resumed.resumed == ("imported_visitors",) and resumed.record.id == import_id
    assert resumed.record.state == "completed" and resumed.record.rows == clean.record.rows == 1200
    assert _sums(services, site.id) == _sums(services, clean_site)


def test_importing_the_same_files_again_resumes_the_interrupted_import(
    services: Services, site: Site, tmp_path: Path
) -> None:
    files = {**_visitors_file(date(2021, 1, 1), 30), **_pages_file(date(2021, 1, 1), 30)}
    archive = write_zip(tmp_path / "x.zip", files)
    import_cut_short(services, site.id, archive, "imported_pages", 5)
    (record,) = _imports(services, site.id)
    # Other files where the import read its own are refused, not half mixed in.
    write_zip(archive, _visitors_file(date(2019, 1, 1), 3))
    with pytest.raises(DomainError, match=rf"x.zip is not what import {record.id} started with"):
        resume_import(services, site.id, record.id)
    # The same files again (from anywhere) carry on with the interrupted import.
    moved = write_zip(tmp_path / "copy.zip", files)
    again = run_import(services, site.id, moved)
    assert again.resumed == ("imported_visitors",) and again.record.id == record.id
    assert [(r.id, r.state) for r in _imports(services, site.id)] == [(again.record.id, "completed")]
    assert stored_rows(services, site.id) == {"imported_pages": 90, "imported_visitors": 30}


def _other_site(services: Services) -> int:
    import uuid

    from footfall.sites.sites import create_site

    with session_scope(services.sessions) as db:
        return create_site(db, f"c{uuid.uuid4().hex[:10]}.example").id


def _imports(services: Services, site_id: int) -> list[SiteImport]:
    with session_scope(services.sessions) as db:
        return list_imports(db, site_id)


def _sums(services: Services, site_id: int) -> dict[str, tuple[int, int]]:
    assert services.events is not None
    return {
        table: tuple(
            services.events.query(
                f"SELECT count(), sum(pageviews) FROM {{db}}.{table} WHERE site_id = {{s:UInt64}}",
                {"s": site_id},
            ).rows[0]
        )
        for table in ("imported_visitors", "imported_pages")
    }


def test_an_import_whose_process_died_is_settled_by_the_sweep(
    services: Services, site: Site, tmp_path: Path
) -> None:
    # What a killed process leaves: a record still `importing`, one table complete (in its
    # checkpoint) and some rows of the next.
    with session_scope(services.sessions) as db:
        record = SiteImport(
            site_id=site.id,
            source="plausible_csv",
            label="x.zip",
            state="importing",
            checkpoint={"path": "/gone/x.zip", "files": [], "plan": ["imported_visitors", "imported_pages"],
                        "native_from": None,
                        "tables": {"imported_visitors": {"rows": 1, "skipped": 0, "first": "2020-01-01",
                                                         "last": "2020-01-01"}}},
        )  # fmt: skip
        db.add(record)
        db.flush()
        import_id = record.id
    assert services.events is not None
    services.events.insert(
        "imported_visitors",
        ("site_id", "import_id", "date", "visitors", "pageviews", "bounces", "visits", "visit_duration"),
        [(site.id, import_id, date(2020, 1, 1), 1, 1, 0, 1, 1)],
    )
    services.events.insert(
        "imported_pages",
        ("site_id", "import_id", "date", "hostname", "page", "visits", "visitors", "pageviews"),
        [(site.id, import_id, date(2020, 1, 1), "a.example", "/", 1, 1, 1)],
    )
    with session_scope(services.sessions) as db:
        assert completed_imports(db, site.id) == ()  # never counted
    assert sweep(services) == []  # a live import (recent progress) is left alone
    assert sweep(services, timedelta(0)) == [import_id]
    assert stored_rows(services, site.id) == {"imported_visitors": 1}
    with session_scope(services.sessions) as db:
        (left,) = list_imports(db, site.id)
        assert left.state == "interrupted" and left.rows == 1
        assert left.error is not None and left.error.startswith(
            "footfall stopped while importing with 1 of 2"
        )
        assert completed_imports(db, site.id) == ()
    with pytest.raises(DomainError, match=r"read /gone/x.zip which are no longer there"):
        resume_import(services, site.id, import_id)
    delete_import(services, site.id, import_id)
    assert stored_rows(services, site.id) == {}


def test_one_csv_file_on_its_own_is_an_import(services: Services, site: Site, tmp_path: Path) -> None:
    single = tmp_path / f"imported_visitors_{R}.csv"
    single.write_text(PLAUSIBLE_FILES[f"imported_visitors_{R}.csv"])
    outcome = run_import(services, site.id, single)
    assert outcome.record.rows == 2 and outcome.record.label == single.name
    assert stored_rows(services, site.id) == {"imported_visitors": 2}
