"""Plausible's CSV export read row by row: which table a file holds (from its name), and each
row checked against that table's columns (`footfall.events.schema.IMPORTED_TABLES`).

A file is `imported_<table>_YYYYMMDD_YYYYMMDD.csv` (the first and last day it covers),
`imported_<table>.csv`, or either without the `imported_` prefix, with a header row naming
its columns in any order. Every check names the file, the row (the header is row 1) and the
column at fault: a missing column, a value that is not a whole number, a date that is not one
or lies outside the range in the file's name.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

from footfall.events.schema import IMPORTED_DERIVED_COLUMNS, IMPORTED_TABLES
from footfall.moving.files import ImportFileError, SourceFile, decoded_lines

_NAME = re.compile(r"^(?:imported_)?(?P<table>[a-z_]+?)(?:_(?P<first>\d{8})_(?P<last>\d{8}))?\.csv$")
# Columns newer Plausible versions added: older exports lack them, and they count as 0.
OPTIONAL_COLUMNS = {
    "imported_pages": frozenset(
        {"total_scroll_depth", "total_scroll_depth_visits", "total_time_on_page", "total_time_on_page_visits"}
    ),
}
MAX_UINT64 = 2**64 - 1
MAX_UINT32 = 2**32 - 1


@dataclass(frozen=True)
class TableFile:
    """A file of Plausible's export: the table it fills and the range its name gives, if any."""

    source: SourceFile
    table: str
    first: date | None
    last: date | None


def csv_columns(table: str) -> tuple[str, ...]:
    """The table's columns as Plausible's CSV files have them (without footfall's own)."""
    return tuple(name for name, _ in IMPORTED_TABLES[table] if (table, name) not in IMPORTED_DERIVED_COLUMNS)


def table_file(source: SourceFile) -> TableFile | None:
    """The Plausible table a file's name says it holds, or None for a name that is not one."""
    match = _NAME.match(source.name.lower())
    if not match or f"imported_{match['table']}" not in IMPORTED_TABLES:
        return None
    first = last = None
    if match["first"]:
        first = _name_date(source.name, match["first"])
        last = _name_date(source.name, match["last"])
        if last < first:
            raise ImportFileError(source.name, f"the name's range ends ({last}) before it starts ({first})")
    return TableFile(source, f"imported_{match['table']}", first, last)


def _name_date(name: str, digits: str) -> date:
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        raise ImportFileError(name, f"'{digits}' in the file's name is not a date (YYYYMMDD)") from None


Row = tuple[object, ...]


def read_rows(
    file: TableFile, progress: Callable[[int], None], derive: Callable[[str, dict[str, object]], None]
) -> Iterator[Row]:
    """Each data row of the file as a tuple in the table's column order (footfall's own columns
    filled in by `derive(table, values)`); raises ImportFileError at the first bad value."""
    name = file.source.name
    columns = IMPORTED_TABLES[file.table]
    header: list[str] = []
    with file.source.opener() as stream:
        reader = csv.reader(decoded_lines(file.source, stream, progress, header))
        try:
            first_row = next(reader)
        except StopIteration:
            raise ImportFileError(name, "the file is empty: it needs a header row", 1) from None
        header.extend(cell.strip() for cell in first_row)
        position = {column: index for index, column in enumerate(header)}
        optional = OPTIONAL_COLUMNS.get(file.table, frozenset())
        for column in csv_columns(file.table):
            if column not in position and column not in optional:
                raise ImportFileError(
                    name, f"the header has no column '{column}' (it has: {', '.join(header)})", 1
                )
        for cells in reader:
            row_number = reader.line_num
            if not cells or cells == [""]:
                continue
            if len(cells) != len(header):
                raise ImportFileError(
                    name, f"the row has {len(cells)} values, the header {len(header)} columns", row_number
                )
            values: dict[str, object] = {}
            for column, kind in columns:
                if (file.table, column) in IMPORTED_DERIVED_COLUMNS:
                    continue
                index = position.get(column)
                text = cells[index].strip() if index is not None else "0"
                values[column] = _value(file, row_number, column, kind, text)
            derive(file.table, values)
            yield tuple(values[column] for column, _ in columns)


def _value(file: TableFile, row: int, column: str, kind: str, text: str) -> object:
    name = file.source.name
    if kind == "Date":
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise ImportFileError(name, f"'{text}' is not a date (YYYY-MM-DD)", row, column) from None
        if file.first is not None and file.last is not None and not file.first <= day <= file.last:
            raise ImportFileError(
                name,
                f"{day} lies outside {file.first}..{file.last}, the range in the file's name",
                row,
                column,
            )
        return day
    if kind.startswith("UInt"):
        if not text.isascii() or not text.isdigit():
            raise ImportFileError(name, f"'{text}' is not a whole number", row, column)
        number = int(text)
        if number > (MAX_UINT32 if kind == "UInt32" else MAX_UINT64):
            raise ImportFileError(name, f"{text} is too large", row, column)
        return number
    return text
