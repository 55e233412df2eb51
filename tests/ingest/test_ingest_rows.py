"""An event row is a typed record whose fields are the `events` table's columns, in order,
checked once when footfall.events.rows is imported."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import NamedTuple

import pytest

from footfall.events.rows import EventRow, RowLayoutError, field_name, matches_columns
from footfall.events.schema import EVENTS_COLUMNS
from footfall.ingest.ingestion import ingestion_for
from footfall.ingest.request import parse_event
from tests.ingest.conftest import CHROME_MAC


def test_the_event_row_is_the_events_table_in_column_order() -> None:
    assert EventRow._fields == tuple(field_name(column) for column in EVENTS_COLUMNS)
    assert field_name("meta.key") == "meta_key"


def test_a_record_whose_fields_are_out_of_order_fails_when_defined() -> None:
    with pytest.raises(RowLayoutError, match=r"field 1 is 'b', the column there is 'a\.x'"):

        @matches_columns("things", ("id", "a.x", "b"))
        class Swapped(NamedTuple):
            id: int
            b: int
            a_x: int


def test_a_record_missing_a_column_fails_when_defined() -> None:
    expected = r"field 2 is '\(nothing\)', the column there is 'c' \(2 fields, 3 columns\)"
    with pytest.raises(RowLayoutError, match=expected):

        @matches_columns("things", ("a", "b", "c"))
        class Short(NamedTuple):
            a: int
            b: int


def test_a_record_with_the_columns_in_order_is_accepted() -> None:
    @matches_columns("things", ("id", "meta.key"))
    class Fine(NamedTuple):
        id: int
        meta_key: tuple[str, ...]

    assert Fine(1, ("k",)) == (1, ("k",))


def test_the_pipeline_writes_event_rows_read_by_column(services) -> None:
    pipeline = ingestion_for(services).pipeline
    moment = int(datetime(2026, 3, 5, 10, tzinfo=UTC).timestamp())
    body = {"n": "Signup", "u": "https://example.com/pricing?utm_source=news", "d": "example.com"}
    body["p"] = {"plan": "pro"}
    _, rows = pipeline.process(parse_event(body).arrived("81.2.69.160", CHROME_MAC, moment))
    (row,) = rows.events
    assert isinstance(row, EventRow)
    by_column = dict(zip(EVENTS_COLUMNS, row, strict=True))
    assert by_column["timestamp"] == row.timestamp == moment
    assert by_column["name"] == "Signup" and by_column["pathname"] == "/pricing"
    assert by_column["utm_source"] == "news" and by_column["browser"] == "Chrome"
    assert by_column["meta.key"] == ("plan",) and by_column["meta.value"] == ("pro",)
