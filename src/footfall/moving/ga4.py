"""Google Analytics 4 reports exported as CSV, read into the same imported tables as
Plausible's files.

GA4 writes a report as a few `#` comment lines (its name, the property, `# Start date:
YYYYMMDD`, `# End date: YYYYMMDD`), a header row and one row per value. Export each report
from an Exploration (free form) with `Date` as its first dimension, so every row is one day.
Which table a file fills is told by its other dimensions (`DIMENSIONS`); its metrics map to
Plausible's columns as `METRICS` says:

| GA4 | imported column |
|---|---|
| Total users (or Users, Active users) | visitors |
| Sessions | visits (entrances on landing pages) |
| Views (or Screen page views) | pageviews |
| Engaged sessions, or else Bounce rate x Sessions | bounces = sessions - engaged sessions |
| Average session duration x Sessions | visit_duration (seconds in all) |
| Event count | events |

GA4 has no exit pages report, so an import from GA4 has no exit pages: Plausible's does not
either. Values: `(direct)`, `(none)`, `(not set)` and the like are empty (Plausible's "Direct /
None" and "(not set)"); a source tag gets the name ingestion gives it (`google` -> `Google`);
countries and regions are named in English and become ISO codes; a city keeps its name and gets
its GeoNames id where the table in `footfall.moving.geonames` knows it.
"""

from __future__ import annotations

import csv
import functools
import math
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

from footfall.events.schema import IMPORTED_TABLES
from footfall.moving.files import ImportFileError, SourceFile, decoded_lines
from footfall.moving.plausible import Row

# GA4 dimension header (lower case) -> (table, the value's meaning).
DIMENSIONS: dict[str, tuple[str, str]] = {
    "page path and screen class": ("imported_pages", "page"),
    "page path": ("imported_pages", "page"),
    "page path + query string": ("imported_pages", "page"),
    "hostname": ("imported_pages", "hostname"),
    "landing page": ("imported_entry_pages", "entry_page"),
    "landing page + query string": ("imported_entry_pages", "entry_page"),
    "session source / medium": ("imported_sources", "source_medium"),
    "session source": ("imported_sources", "source"),
    "session medium": ("imported_sources", "utm_medium"),
    "session campaign": ("imported_sources", "utm_campaign"),
    "session default channel group": ("imported_sources", "channel"),
    "country": ("imported_locations", "country"),
    "region": ("imported_locations", "region"),
    "city": ("imported_locations", "city"),
    "device category": ("imported_devices", "device"),
    "browser": ("imported_browsers", "browser"),
    "browser version": ("imported_browsers", "browser_version"),
    "operating system": ("imported_operating_systems", "operating_system"),
    "os version": ("imported_operating_systems", "operating_system_version"),
    "operating system version": ("imported_operating_systems", "operating_system_version"),
}
# GA4 metric header (lower case) -> what it is.
METRICS: dict[str, str] = {
    "total users": "visitors",
    "users": "visitors",
    "active users": "visitors",
    "sessions": "visits",
    "views": "pageviews",
    "screen page views": "pageviews",
    "engaged sessions": "engaged",
    "bounce rate": "bounce_rate",
    "average session duration": "average_duration",
    "event count": "events",
}
# What each table needs of a report; `pageviews` is required of pages alone.
REQUIRED = {"imported_pages": ("visitors", "pageviews")}
DEFAULT_REQUIRED = ("visitors", "visits")
NOT_SET = frozenset(
    {"(direct)", "(none)", "(not set)", "(organic)", "(referral)", "(data not available)", ""}
)
DEVICES = {"desktop": "Desktop", "mobile": "Mobile", "tablet": "Tablet", "smart tv": "TV"}
OPERATING_SYSTEMS = {"macintosh": "Mac", "linux": "GNU/Linux", "chrome os": "Chrome OS"}
_RANGE = re.compile(r"^#\s*(start|end) date:\s*(\d{8})\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class ReportFile:
    """A GA4 report: the table it fills, its columns, and the range its comments give."""

    source: SourceFile
    table: str
    first: date | None
    last: date | None


def report_file(source: SourceFile) -> ReportFile | None:
    """The table a GA4 report fills, told from its header; None when it is no GA4 report."""
    first = last = None
    header: list[str] = []
    with source.opener() as stream:
        for line in _table_lines(source, stream, lambda _n: None, header):
            if line != "#":
                header = next(csv.reader([line]))
                break
    for line_range in _ranges(source):
        kind, day = line_range
        if kind == "start":
            first = day
        else:
            last = day
    names = [cell.strip().lower() for cell in header]
    if "date" not in names:
        return None
    tables = {DIMENSIONS[n][0] for n in names if n in DIMENSIONS}
    if not any(n in METRICS for n in names):
        return None
    if len(tables) > 1:
        raise ImportFileError(
            source.name, f"the report mixes dimensions of {', '.join(sorted(tables))}: export one per file", 1
        )
    return ReportFile(source, tables.pop() if tables else "imported_visitors", first, last)


def _ranges(source: SourceFile) -> Iterator[tuple[str, date]]:
    with source.opener() as stream:
        for raw in stream:
            line = raw.decode("utf-8", errors="replace").strip().lstrip("\ufeff")
            if not line.startswith("#") and line:
                return
            match = _RANGE.match(line)
            if match:
                yield match[1].lower(), _ga4_date(source.name, match[2], None, None)


def _table_lines(
    source: SourceFile, stream, progress: Callable[[int], None], header: list[str]
) -> Iterator[str]:
    """The lines of the report's first table: from its header to the first blank line or comment
    after it (GA4 may append other tables, such as totals, below)."""
    started = False
    for line in decoded_lines(source, stream, progress, header):
        text = line.strip()
        if not started:
            if text and not text.startswith("#"):
                started = True
                yield line
            else:
                yield "#"  # keeps the reader's row numbers equal to the file's line numbers
            continue
        if not text or text.startswith("#"):
            return
        yield line


def read_rows(
    file: ReportFile, progress: Callable[[int], None], derive: Callable[[str, dict[str, object]], None]
) -> Iterator[Row]:
    """Each day's row of the report as a row of its imported table (see the module's mapping)."""
    name = file.source.name
    columns = IMPORTED_TABLES[file.table]
    header: list[str] = []
    with file.source.opener() as stream:
        reader = csv.reader(_table_lines(file.source, stream, progress, header))
        cells: list[str] = []
        for cells in reader:
            if cells != ["#"]:
                break
        header.extend(cell.strip() for cell in cells)
        header_row = reader.line_num
        names = [cell.lower() for cell in header]
        measures = {METRICS[n]: i for i, n in enumerate(names) if n in METRICS}
        for needed in REQUIRED.get(file.table, DEFAULT_REQUIRED):
            if needed not in measures:
                wanted = " or ".join(f"'{h.capitalize()}'" for h, m in METRICS.items() if m == needed)
                raise ImportFileError(name, f"the report has no column {wanted}", header_row)
        dimensions = {DIMENSIONS[n][1]: i for i, n in enumerate(names) if n in DIMENSIONS}
        date_index = names.index("date")
        for cells in reader:
            row_number = reader.line_num
            if not cells or cells[0].strip().lower() in ("grand total", "total"):
                continue
            if len(cells) != len(header):
                raise ImportFileError(
                    name, f"the row has {len(cells)} values, the header {len(header)} columns", row_number
                )

            def cell(index: int, cells: list[str] = cells) -> str:
                return cells[index].strip()

            day = _ga4_date(name, cell(date_index), row_number, header[date_index], file.first, file.last)
            numbers = {
                measure: _number(name, row_number, header[index], cell(index))
                for measure, index in measures.items()
            }
            values = _values(file.table, {key: cell(i) for key, i in dimensions.items()}, numbers)
            values["date"] = day
            derive(file.table, values)
            yield tuple(values.get(column, _zero(kind)) for column, kind in columns)


def _zero(kind: str) -> object:
    return "" if "String" in kind else 0


def _values(table: str, dims: dict[str, str], numbers: dict[str, float]) -> dict[str, object]:
    visits = round(numbers.get("visits", 0))
    if "engaged" in numbers:
        bounces = max(visits - round(numbers["engaged"]), 0)
    else:
        rate = numbers.get("bounce_rate", 0.0)
        bounces = round(visits * (rate / 100 if rate > 1 else rate))
    values: dict[str, object] = {
        "visitors": round(numbers.get("visitors", 0)),
        "visits": visits,
        "pageviews": round(numbers.get("pageviews", 0)),
        "bounces": bounces,
        "visit_duration": round(visits * numbers.get("average_duration", 0.0)),
        "events": round(numbers.get("events", 0)),
    }
    if table == "imported_pages":
        values["page"] = dims.get("page", "")
        values["hostname"] = dims.get("hostname", "")
    elif table == "imported_entry_pages":
        values["entry_page"] = dims.get("entry_page", "")
        values["entrances"] = visits
    elif table == "imported_sources":
        source, medium = dims.get("source", ""), dims.get("utm_medium", "")
        if "source_medium" in dims:
            source, _, medium = dims["source_medium"].partition(" / ")
        values["source"] = _source(source)
        values["utm_medium"] = _plain(medium)
        values["utm_campaign"] = _plain(dims.get("utm_campaign", ""))
        if _plain(dims.get("channel", "")):
            values["channel"] = dims["channel"]
    elif table == "imported_locations":
        country = _country_code(dims.get("country", ""))
        values["country"] = country
        values["region"] = _region_code(country, dims.get("region", ""))
        values["city_name"] = _plain(dims.get("city", ""))
    elif table == "imported_devices":
        device = _plain(dims.get("device", ""))
        values["device"] = DEVICES.get(device.lower(), device.title())
    elif table == "imported_browsers":
        values["browser"] = _plain(dims.get("browser", ""))
        values["browser_version"] = _plain(dims.get("browser_version", ""))
    elif table == "imported_operating_systems":
        system = _plain(dims.get("operating_system", ""))
        values["operating_system"] = OPERATING_SYSTEMS.get(system.lower(), system)
        values["operating_system_version"] = _plain(dims.get("operating_system_version", ""))
    return values


def _plain(value: str) -> str:
    return "" if value.strip().lower() in NOT_SET else value.strip()


def _source(tag: str) -> str:
    from footfall.ingest.referrer import find_mapping

    tag = _plain(tag)
    return find_mapping(tag) if tag else ""


def _folded(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


@functools.cache
def _countries() -> dict[str, str]:
    import pycountry

    codes: dict[str, str] = {}
    for country in pycountry.countries:
        for name in (
            country.name,
            getattr(country, "common_name", ""),
            getattr(country, "official_name", ""),
        ):
            if name:
                codes[_folded(name)] = country.alpha_2
    # GA4's own spellings where they differ from ISO 3166's.
    for name, code in {
        "turkey": "TR",
        "czechia": "CZ",
        "russia": "RU",
        "vietnam": "VN",
        "laos": "LA",
    }.items():
        codes.setdefault(name, code)
    return codes


def _country_code(name: str) -> str:
    name = _plain(name)
    return _countries().get(_folded(name), "") if name else ""


@functools.cache
def _regions() -> dict[tuple[str, str], str]:
    import pycountry

    from footfall.stats.locations import region_names

    codes: dict[tuple[str, str], str] = {}
    for subdivision in pycountry.subdivisions:
        country = subdivision.code.split("-")[0]
        codes[(country, _folded(subdivision.name))] = subdivision.code
    for code, english in region_names().items():
        codes.setdefault((code.split("-")[0], _folded(english)), code)
    return codes


def _region_code(country: str, name: str) -> str:
    name = _plain(name)
    return _regions().get((country, _folded(name)), "") if country and name else ""


def _ga4_date(
    file: str,
    text: str,
    row: int | None,
    column: str | None,
    first: date | None = None,
    last: date | None = None,
) -> date:
    try:
        if len(text) != 8 or not text.isdigit():
            raise ValueError
        day = date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        raise ImportFileError(file, f"'{text}' is not a date (GA4 writes YYYYMMDD)", row, column) from None
    if first is not None and last is not None and not first <= day <= last:
        raise ImportFileError(
            file, f"{day} lies outside {first}..{last}, the report's start and end dates", row, column
        )
    return day


def _number(file: str, row: int, column: str, text: str) -> float:
    cleaned = text.replace(",", "").removesuffix("%")
    try:
        number = float(cleaned)
    except ValueError:
        raise ImportFileError(file, f"'{text}' is not a number", row, column) from None
    if not math.isfinite(number) or number < 0:
        raise ImportFileError(file, f"'{text}' is not a number of zero or more", row, column)
    if text.endswith("%"):
        number /= 100
    return number
