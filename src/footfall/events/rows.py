"""The rows the write path hands to the event store, as typed records.

`EventRow` is one row of `events`: a NamedTuple, so it is still the tuple every part of the
write path passes on unchanged (the write-ahead log's MessagePack, the store's inserts), but
built by field name and read by field name, and its fields are the columns of
`footfall.events.schema.EVENTS_COLUMNS` in the same order (a column `meta.key` is the field
`meta_key`). `matches_columns` checks that once, when this module is imported: a column added,
removed or moved in one place and not the other stops footfall at start with a message
naming the first difference, instead of writing values into the wrong columns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple, TypeVar

from footfall.events.schema import EVENTS_COLUMNS

Record = TypeVar("Record")


class RowLayoutError(RuntimeError):
    """A row record's fields are not the table's columns in order."""


def field_name(column: str) -> str:
    """`meta.key` -> `meta_key`: a column as a Python field."""
    return column.replace(".", "_")


def matches_columns(table: str, columns: tuple[str, ...]) -> Callable[[type[Record]], type[Record]]:
    """A class decorator: raise RowLayoutError unless the NamedTuple's fields are `columns`, in order."""

    def check(record: type[Record]) -> type[Record]:
        fields: tuple[str, ...] = record._fields  # type: ignore[attr-defined]
        expected = tuple(field_name(column) for column in columns)
        if fields != expected:
            at = next(
                (i for i, (got, want) in enumerate(zip(fields, expected, strict=False)) if got != want),
                min(len(fields), len(expected)),
            )
            got = fields[at] if at < len(fields) else "(nothing)"
            want = columns[at] if at < len(columns) else "(nothing)"
            raise RowLayoutError(
                f"{record.__name__} does not match the {table} table: field {at} is {got!r}, "
                f"the column there is {want!r} ({len(fields)} fields, {len(expected)} columns)"
            )
        return record

    return check


@matches_columns("events", EVENTS_COLUMNS)
class EventRow(NamedTuple):
    """One row of `events`. Attribution (source, UTM, device, location) is the visit's."""

    timestamp: int  # unix seconds
    site_id: int
    user_id: int
    session_id: int
    name: str
    hostname: str
    pathname: str
    referrer: str
    referrer_source: str
    channel: str
    utm_medium: str
    utm_source: str
    utm_campaign: str
    utm_content: str
    utm_term: str
    country_code: str
    region: str
    city: str
    screen_size: str
    browser: str
    browser_version: str
    operating_system: str
    operating_system_version: str
    meta_key: tuple[str, ...]
    meta_value: tuple[str, ...]
    revenue_source_amount: str | None
    revenue_source_currency: str
    revenue_reporting_amount: str | None
    revenue_reporting_currency: str
    interactive: int
    scroll_depth: int
    engagement_time: int
