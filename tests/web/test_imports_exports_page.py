"""`/:domain/settings/imports-exports` as a site admin uses it: prepare an export (a background
job) and download it, upload it into another site and watch it import, delete the import; a
bad upload is shown with its error and stores nothing; viewers are refused."""

from __future__ import annotations

import io
import time
import zipfile
from datetime import UTC, datetime, timedelta

from footfall.ingest.api import Hit, record_hits
from footfall.meta.db import session_scope
from footfall.meta.models import Role
from footfall.moving.imports import list_imports

from .conftest import WebWorld

PAGE = "/{domain}/settings/imports-exports"
UA = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


def _wait(check, seconds: float = 60.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_export_download_import_and_delete_through_the_page(web: WebWorld) -> None:
    web.user("admin@example.com")
    source_id = web.site("from.example", "admin@example.com")
    target_id = web.site("to.example", "admin@example.com")
    day = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0) - timedelta(days=3)
    record_hits(
        web.services,
        [
            Hit("pageview", "https://from.example/", "from.example", UA, "203.0.113.7", day),
            Hit(
                "pageview",
                "https://from.example/pricing",
                "from.example",
                UA,
                "203.0.113.7",
                day + timedelta(minutes=1),
            ),
            Hit("pageview", "https://from.example/", "from.example", UA, "198.51.100.4", day),
        ],
    )
    admin = web.visitor()
    admin.log_in("admin@example.com")
    page = PAGE.format(domain="from.example")
    shown = admin.get(page)
    assert shown.status_code == 200
    assert "Prepare export" in shown.text and "No imports yet." in shown.text
    first = day.date().isoformat()
    started = admin.post(page, {"action": "export", "from": first, "to": first})
    assert started.status_code == 303
    ready = _wait(lambda: "Download from_example_" in (text := admin.get(page).text) and text)
    assert "Preparing" not in ready
    download = admin.get(page + "/download")
    assert download.status_code == 200
    assert download.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(download.content))
    stamp = day.strftime("%Y%m%d")
    assert f"imported_visitors_{stamp}_{stamp}.csv" in archive.namelist()
    assert (
        archive.read(f"imported_visitors_{stamp}_{stamp}.csv")
        .decode()
        .splitlines()[1]
        .startswith(f"{first},2,3,1,2,")
    )

    target = PAGE.format(domain="to.example")
    token = admin.csrf(target)
    uploaded = admin.client.post(
        target,
        data={"_csrf": token, "action": "import"},
        files={"file": ("from_example.zip", download.content, "application/zip")},
    )
    assert uploaded.status_code == 303, uploaded.text
    listed = _wait(lambda: "completed" in (text := admin.get(target).text) and text)
    assert "Plausible CSV export" in listed and f"{first} to {first}" in listed
    with session_scope(web.services.sessions) as db:
        (record,) = list_imports(db, target_id)
    assert record.state == "completed" and record.rows > 0
    deleted = admin.post(target, {"action": "delete", "import_id": str(record.id)})
    assert deleted.status_code == 303
    assert "No imports yet." in admin.get(target).text
    with session_scope(web.services.sessions) as db:
        assert list_imports(db, target_id) == []
        assert list_imports(db, source_id) == []


def test_a_bad_upload_is_shown_with_its_error_and_stores_nothing(web: WebWorld) -> None:
    web.user("admin@example.com")
    site_id = web.site("bad.example", "admin@example.com")
    admin = web.visitor()
    admin.log_in("admin@example.com")
    page = PAGE.format(domain="bad.example")
    csv = b"date,visitors,pageviews,bounces,visits,visit_duration\n2024-01-01,ten,1,0,1,1\n"
    token = admin.csrf(page)
    answer = admin.client.post(
        page,
        data={"_csrf": token, "action": "import"},
        files={"file": ("imported_visitors_20240101_20240131.csv", csv, "text/csv")},
    )
    assert answer.status_code == 303
    shown = _wait(lambda: "failed" in (text := admin.get(page).text) and text)
    assert "row 2, column &#39;visitors&#39;: &#39;ten&#39; is not a whole number" in shown
    wrong = admin.client.post(
        page, data={"_csrf": token, "action": "import"}, files={"file": ("notes.txt", b"hello", "text/plain")}
    )
    assert wrong.status_code == 400 and "upload a .zip" in wrong.text
    assert web.services.events is not None
    assert (
        web.services.events.query(
            "SELECT count() FROM {db}.imported_visitors WHERE site_id = {s:UInt64}", {"s": site_id}
        ).scalar()
        == 0
    )


def test_viewers_cannot_open_the_page_or_download(web: WebWorld) -> None:
    web.user("owner@example.com")
    web.user("viewer@example.com")
    site_id = web.site("seen.example", "owner@example.com")
    web.add_member(site_id, "viewer@example.com", Role.viewer)
    viewer = web.visitor()
    viewer.log_in("viewer@example.com")
    assert viewer.get(PAGE.format(domain="seen.example")).status_code == 403
    assert viewer.get(PAGE.format(domain="seen.example") + "/download").status_code == 403


def test_an_interrupted_upload_is_listed_not_counted_and_resumed_from_the_page(web: WebWorld) -> None:
    from footfall.moving import jobs
    from tests.moving.conftest import import_cut_short

    web.user("admin@example.com")
    site_id = web.site("cut.example", "admin@example.com")
    folder = jobs.uploads_dir(web.services)
    folder.mkdir(parents=True, exist_ok=True)
    upload = folder / f"{site_id}-cut.zip"
    visitors = ["date,visitors,pageviews,bounces,visits,visit_duration"]
    visitors += [f"2023-01-{d:02d},{d},{2 * d},0,{d},60" for d in range(1, 32)]
    pages = ["date,hostname,page,visits,visitors,pageviews"]
    pages += [f"2023-01-{d % 31 + 1:02d},cut.example,/p/{d},1,1,1" for d in range(200)]
    with zipfile.ZipFile(upload, "w") as archive:
        archive.writestr("imported_visitors_20230101_20230131.csv", "\n".join(visitors) + "\n")
        archive.writestr("imported_pages_20230101_20230131.csv", "\n".join(pages) + "\n")

    # the server stopping while pages are half in
    import_cut_short(web.services, site_id, upload, "imported_pages", 20, label="cut.zip")

    admin = web.visitor()
    admin.log_in("admin@example.com")
    page = PAGE.format(domain="cut.example")
    shown = admin.get(page).text
    assert "<strong>interrupted</strong> (not counted)" in shown
    assert "interrupted with 1 of 2 tables in; counted only once it is resumed and complete" in shown
    assert 'value="resume"' in shown
    with session_scope(web.services.sessions) as db:
        (record,) = list_imports(db, site_id)
    bad = admin.post(page, {"action": "resume", "import_id": "x"})
    assert bad.status_code == 400 and "no such import" in bad.text
    resumed = admin.post(page, {"action": "resume", "import_id": str(record.id)})
    assert resumed.status_code == 303
    listed = _wait(lambda: "completed" in (text := admin.get(page).text) and text)
    assert "2023-01-01 to 2023-01-31 · 231 rows" in listed and 'value="resume"' not in listed
    _wait(lambda: not upload.exists())  # the upload goes once the import is done
    again = admin.post(page, {"action": "resume", "import_id": str(record.id)})
    assert again.status_code == 400 and "is complete; there is nothing to resume" in again.text
