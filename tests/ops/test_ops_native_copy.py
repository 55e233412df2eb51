"""footfall.ops.native_copy: a partition's export describes its file even while another
writer inserts into it (as other replicas of a ClickHouse server may during a backup)."""

from __future__ import annotations

from datetime import datetime

import pytest

from footfall.events.schema import EVENTS_COLUMNS
from footfall.ops.admin import AdminError
from footfall.ops.native_copy import compress, decompress, export_partition, partition_rows
from tests.ops.test_ops_retention import event


def event_rows(count: int, month: int, path: str = "/x") -> list[tuple]:
    return [event(datetime(2026, month, 3, 12), path)] * count


class WriterBetween:
    """The real store, with another writer's insert landing between the count and the export
    of the first `times` exports."""

    def __init__(self, store, times: int) -> None:
        self.store = store
        self.times = times

    def __getattr__(self, name):
        return getattr(self.store, name)

    def export_native(self, sql, path, params=None):
        if self.times:
            self.times -= 1
            self.store.insert("events", EVENTS_COLUMNS, event_rows(2, 11, "/meanwhile"))
        return self.store.export_native(sql, path, params)


def rows_in(store, path) -> int:
    return int(store.query(f"SELECT count() FROM file('{path}', 'Native')").scalar())


def test_an_insert_between_count_and_export_makes_the_export_again_so_the_count_is_the_files(
    event_store, tmp_path
) -> None:
    event_store.insert("events", EVENTS_COLUMNS, event_rows(5, 11))
    event_store.insert("events", EVENTS_COLUMNS, event_rows(3, 10))
    columns = list(EVENTS_COLUMNS)
    file = tmp_path / "events-202611.native"
    rows, signature = export_partition(
        WriterBetween(event_store, 1), "events", "MergeTree", "202611", columns, file
    )
    assert rows == 7 == rows_in(event_store, file)  # the first try counted 5 and exported 7
    assert partition_rows(event_store, "events", "MergeTree") == {"202611": 7, "202610": 3}
    assert signature.max_block >= 3

    packed = tmp_path / "events-202611.native.zst"
    compress(file, packed)
    assert not file.exists() and packed.stat().st_size > 0
    decompress(packed, file)
    assert rows_in(event_store, file) == 7
    garbage = tmp_path / "damaged.native.zst"
    garbage.write_bytes(b"not zstd at all")
    with pytest.raises(AdminError, match=f"{tmp_path.name}/damaged.native.zst: not a Zstandard file"):
        decompress(garbage, tmp_path / "out.native")
    assert not (tmp_path / "out.native").exists()


def test_a_partition_that_never_stops_changing_is_refused_and_a_dropped_one_is_left_out(
    event_store, tmp_path
) -> None:
    event_store.insert("events", EVENTS_COLUMNS, event_rows(5, 11))
    columns = list(EVENTS_COLUMNS)
    with pytest.raises(AdminError, match="events 202611 kept changing while it was exported"):
        export_partition(
            WriterBetween(event_store, 99), "events", "MergeTree", "202611", columns, tmp_path / "f"
        )
    assert export_partition(event_store, "events", "MergeTree", "202001", columns, tmp_path / "gone") is None
