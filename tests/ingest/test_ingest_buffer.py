"""The write-ahead buffer: nothing acknowledged is lost or stored twice, whatever fails when."""

import zlib

import pytest

from footfall.events.store import EventStoreError
from footfall.ingest.buffer import WriteAheadBuffer, ensure_deduplication
from tests.ingest.conftest import run_async

EVENT = [1_700_000_000, 1, 7, 9, "pageview", "example.com", "/", "", "", "Direct", "", "", "", "", ""]
EVENT += ["DE", "", "", "Desktop", "Chrome", "131.0", "Mac", "10.15", [], [], None, "", None, "", 1, 0, 0]


def event(n: int) -> list:
    row = list(EVENT)
    row[6] = f"/page/{n}"
    return row


def session(n: int) -> list:
    head = [
        n + 1,
        1,
        1,
        1,
        7,
        "example.com",
        1_700_000_000,
        1_700_000_000,
        "/",
        "/",
        "example.com",
        1,
        1,
        0,
        1,
    ]
    attribution = ["", "", "Direct", "", "", "", "", ""]
    visitor = ["DE", "", "", "Desktop", "Chrome", "131.0", "Mac", "10.15", [], []]
    return [*head, *attribution, *visitor]


class FlakyStore:
    """The real store, which can be switched off."""

    def __init__(self, store) -> None:
        self.store = store
        self.down = False
        self.database = store.database

    def insert_msgpack(self, table, columns, data, rows, settings=None):
        if self.down:
            raise EventStoreError("connection refused")
        return self.store.insert_msgpack(table, columns, data, rows, settings=settings)

    def __getattr__(self, name):
        return getattr(self.store, name)


def count(store, table: str = "events") -> int:
    return store.query(f"SELECT count() FROM {{db}}.{table}").scalar()


def paths(store) -> list[str]:
    return [r[0] for r in store.query("SELECT pathname FROM {db}.events ORDER BY pathname").rows]


def flush_and_die_before_the_checkpoint(buffer: WriteAheadBuffer, monkeypatch) -> None:
    """Flush `buffer` and crash it after its inserts landed, before its checkpoint moved on."""
    original = WriteAheadBuffer._write_checkpoint

    def die_on_commit(self, pending, fresh=None):
        if pending is None and fresh is None:
            raise KeyboardInterrupt("killed between insert and checkpoint")
        return original(self, pending, fresh)

    monkeypatch.setattr(WriteAheadBuffer, "_write_checkpoint", die_on_commit)
    with pytest.raises(KeyboardInterrupt):
        buffer.flush()
    crash(buffer)
    monkeypatch.setattr(WriteAheadBuffer, "_write_checkpoint", original)


def crash(buffer: WriteAheadBuffer) -> None:
    """What a SIGKILL leaves: the files as they are; no flush, no goodbye."""
    import os

    buffer._stopping = True
    buffer._wake.set()
    os.close(buffer._fd)
    buffer._fd = -1


def test_records_not_flushed_before_a_crash_are_stored_on_the_next_start(store, wal_dir) -> None:
    first = WriteAheadBuffer(store, wal_dir, sync="none", flush_interval=3600)
    first.open()
    for n in range(5):
        first.append([event(n)], [session(n)])
    crash(first)
    second = WriteAheadBuffer(store, wal_dir, sync="none", flush_interval=3600)
    assert second.open() == 5
    assert second.flush()
    assert (count(store), count(store, "sessions")) == (5, 5)
    second.stop()
    third = WriteAheadBuffer(store, wal_dir, sync="none")
    assert third.open() == 0


def test_a_log_written_with_datetimes_is_replayed_with_the_same_times(store, wal_dir) -> None:
    """Logs written before times were unix seconds hold MessagePack timestamps: replayed as is."""
    from datetime import UTC, datetime

    import msgspec

    from footfall.ingest.buffer import HEADER

    old_event, old_session = event(1), session(1)
    old_event[0] = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    old_session[6] = old_session[7] = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    payload = msgspec.msgpack.encode(([old_event], [old_session]))
    wal_dir.mkdir(parents=True)
    (wal_dir / f"{0:012d}.wal").write_bytes(HEADER.pack(len(payload), zlib.crc32(payload)) + payload)
    buffer = WriteAheadBuffer(store, wal_dir, sync="none", flush_interval=3600)
    assert buffer.open() == 1
    assert buffer.flush()
    buffer.stop()
    assert store.query("SELECT toUnixTimestamp(timestamp), pathname FROM {db}.events").rows == [
        (1_700_000_000, "/page/1")
    ]
    assert store.query("SELECT toUnixTimestamp(start) FROM {db}.sessions").rows == [(1_700_000_000,)]


def test_a_crash_after_the_insert_but_before_the_checkpoint_stores_nothing_twice(
    store, wal_dir, monkeypatch
) -> None:
    first = WriteAheadBuffer(store, wal_dir, sync="group", flush_interval=3600)
    first.open()
    for n in range(4):
        first.append([event(n)], [session(n)])
    flush_and_die_before_the_checkpoint(first, monkeypatch)
    assert count(store) == 4  # the insert did land

    second = WriteAheadBuffer(store, wal_dir, sync="group", flush_interval=3600)
    assert second.open() == 4
    second.append([event(9)], [session(9)])  # new traffic after the restart
    assert second.flush()
    assert paths(store) == ["/page/0", "/page/1", "/page/2", "/page/3", "/page/9"]
    assert count(store, "sessions") == 5
    second.stop()


def test_a_torn_record_at_the_tail_is_ignored(store, wal_dir) -> None:
    first = WriteAheadBuffer(store, wal_dir, sync="none", flush_interval=3600)
    first.open()
    first.append([event(1)], [])
    segment = wal_dir / f"{first._segment:012d}.wal"
    crash(first)
    with segment.open("ab") as f:
        f.write(b"\x40\x00\x00\x00\x01\x02")  # a header promising 64 bytes, and two of them
    second = WriteAheadBuffer(store, wal_dir, sync="none", flush_interval=3600)
    assert second.open() == 1
    assert second.flush()
    assert paths(store) == ["/page/1"]
    second.stop()


def test_store_down_then_back_loses_nothing_and_fills_up_to_the_limit(store, wal_dir) -> None:
    flaky = FlakyStore(store)
    buffer = WriteAheadBuffer(flaky, wal_dir, sync="none", flush_interval=0.01, batch_size=3, max_bytes=4096)
    buffer.start()
    flaky.down = True
    appended = 0
    while buffer.has_room():
        buffer.append([event(appended)], [session(appended)])
        appended += 1
    assert appended > 3
    assert not buffer.flush(timeout=0.2)
    assert count(store) == 0
    flaky.down = False
    assert buffer.flush(timeout=30)
    assert buffer.has_room()
    assert count(store) == appended
    assert count(store, "sessions") == appended
    buffer.stop()


def test_segments_rotate_and_are_deleted_once_stored(store, wal_dir) -> None:
    buffer = WriteAheadBuffer(store, wal_dir, sync="always", flush_interval=3600, segment_bytes=1024)
    buffer.start()
    for n in range(40):
        buffer.append([event(n)], [])
    assert len(list(wal_dir.glob("*.wal"))) > 3
    assert buffer.flush(timeout=30)
    buffer.append([event(99)], [])
    assert buffer.flush(timeout=30)
    assert len(list(wal_dir.glob("*.wal"))) <= 2
    assert count(store) == 41
    buffer.stop()


def test_a_replayed_batch_is_not_counted_twice_by_materialized_views(
    event_store, wal_dir, monkeypatch
) -> None:
    event_store.command(
        "CREATE TABLE {db}.pages_rollup (pathname String, n UInt64) "
        "ENGINE = SummingMergeTree ORDER BY pathname"
    )
    event_store.command(
        "CREATE MATERIALIZED VIEW {db}.pages_rollup_mv TO {db}.pages_rollup AS "
        "SELECT pathname, count() AS n FROM {db}.events GROUP BY pathname"
    )
    ensure_deduplication(event_store)
    first = WriteAheadBuffer(event_store, wal_dir, sync="none", flush_interval=3600)
    first.open()
    for n in range(3):
        first.append([event(n)], [session(n)])
    flush_and_die_before_the_checkpoint(first, monkeypatch)
    second = WriteAheadBuffer(event_store, wal_dir, sync="none", flush_interval=3600)
    assert second.open() == 3
    assert second.flush()
    second.stop()
    assert count(event_store) == 3
    assert event_store.query("SELECT sum(n) FROM {db}.pages_rollup").scalar() == 3


class ArrivalsDuringInsert:
    """The real store; while the first insert runs, more events reach the buffer."""

    def __init__(self, store, buffer_box: list) -> None:
        self.store = store
        self.database = store.database
        self.buffer_box = buffer_box
        self.inserts: list[tuple[str, int]] = []

    def insert_msgpack(self, table, columns, data, rows, settings=None):
        self.inserts.append((table, rows))
        if len(self.inserts) == 1:
            for n in range(100, 103):
                self.buffer_box[0].append([event(n)], [])
        return self.store.insert_msgpack(table, columns, data, rows, settings=settings)

    def __getattr__(self, name):
        return getattr(self.store, name)


def test_events_arriving_during_a_flush_wait_for_the_next_one_instead_of_a_stream_of_small_inserts(
    store, wal_dir
) -> None:
    box: list = []
    arrivals = ArrivalsDuringInsert(store, box)
    buffer = WriteAheadBuffer(arrivals, wal_dir, sync="none", flush_interval=600)
    box.append(buffer)
    buffer.open()
    for n in range(5):
        buffer.append([event(n)], [])
    buffer._flush_tick()  # what the flusher thread does each FLUSH_INTERVAL_MS
    assert arrivals.inserts == [("events", 5)]
    assert buffer.pending_rows == 3
    assert count(store) == 5

    buffer._flush_tick()
    assert arrivals.inserts == [("events", 5), ("events", 3)]
    assert count(store) == 8
    assert buffer.stop()


def test_with_group_sync_a_request_waits_for_a_sync_that_began_after_its_record_was_written(
    store, wal_dir, monkeypatch
) -> None:
    """The syncer thread's group commit (where the kernel takes no asynchronous syncs; the
    kernel's path: tests/ingest/test_ingest_kernel_sync.py)."""
    import asyncio
    import os
    import threading

    real_fdatasync = os.fdatasync
    began = [threading.Event(), threading.Event()]
    may_end = [threading.Event(), threading.Event()]
    syncs: list[int] = []

    def paused_fdatasync(fd: int) -> None:
        number = len(syncs)
        syncs.append(fd)
        began[number].set()
        assert may_end[number].wait(10)
        real_fdatasync(fd)

    buffer = WriteAheadBuffer(store, wal_dir, sync="group", flush_interval=3600, kernel_sync=False)
    buffer.open()
    monkeypatch.setattr(os, "fdatasync", paused_fdatasync)  # the syncer's syncs only

    async def requests() -> None:
        first = asyncio.create_task(buffer.write([event(1)], []))
        assert await asyncio.to_thread(began[0].wait, 10)
        second = asyncio.create_task(buffer.write([event(2)], []))  # handed over during sync 1
        await asyncio.sleep(0.05)
        assert not first.done() and not second.done()

        may_end[0].set()
        await asyncio.wait_for(first, 10)
        assert await asyncio.to_thread(began[1].wait, 10)
        await asyncio.sleep(0.05)
        assert not second.done()  # sync 1 began before its record was written

        may_end[1].set()
        await asyncio.wait_for(second, 10)

    run_async(requests())
    assert len(syncs) == 2
    monkeypatch.setattr(os, "fdatasync", real_fdatasync)
    assert buffer.stop()
    assert paths(store) == ["/page/1", "/page/2"]


def visit_state(session_id: int, sign: int, version: int, pageviews: int) -> list:
    row = session(session_id - 1)
    row[1], row[2], row[11] = sign, version, pageviews
    return row


def visit_updates(session_id: int, first_version: int, updates: int) -> list[list[list]]:
    """The session rows of `updates` requests that each change one visit: a cancelling row of
    the previous state and the new state (the first request of a new visit: its state only)."""
    records = []
    for version in range(first_version, first_version + updates):
        new = visit_state(session_id, 1, version, version)
        records.append(
            [new] if version == 1 else [visit_state(session_id, -1, version - 1, version - 1), new]
        )
    return records


def sessions_table(store) -> list[tuple]:
    return store.query(
        "SELECT session_id, sign, version, pageviews FROM {db}.sessions ORDER BY version, sign"
    ).rows


def test_a_visit_changed_within_one_batch_is_written_as_its_last_state(store, wal_dir) -> None:
    from footfall.ingest import metrics

    before = metrics.COALESCED_SESSION_ROWS._value.get()
    buffer = WriteAheadBuffer(store, wal_dir, sync="none", flush_interval=3600)
    buffer.open()
    for n, rows in enumerate(visit_updates(41, 1, 4)):  # a new visit, then three changes
        buffer.append([event(n)], rows)
    buffer.append([event(9)], [visit_state(42, 1, 1, 1)])  # another visit, unchanged
    assert buffer.flush()
    assert sessions_table(store) == [(42, 1, 1, 1), (41, 1, 4, 4)]
    assert metrics.COALESCED_SESSION_ROWS._value.get() - before == 6
    assert count(store) == 5  # every event
    visits = store.query("SELECT sum(sign), sum(sign * pageviews) FROM {db}.sessions").rows
    assert visits == [(2, 5)]
    rollup = store.query(
        "SELECT sum(visits_sum), sum(pageviews_sum) FROM {db}.sessions_hourly "
        "WHERE dimension = 'visit:source'"
    ).rows
    assert rollup == [(2, 5)]
    assert buffer.stop()


def test_a_state_written_by_an_earlier_batch_is_cancelled_by_the_next(store, wal_dir) -> None:
    buffer = WriteAheadBuffer(store, wal_dir, sync="none", flush_interval=3600)
    buffer.open()
    first, *later = visit_updates(41, 1, 3)
    buffer.append([event(0)], first)
    assert buffer.flush()
    for n, rows in enumerate(later, start=1):
        buffer.append([event(n)], rows)
    assert buffer.flush()
    # Batch 2 keeps its cancelling row of version 1 (written by batch 1), drops version 2's pair.
    assert sessions_table(store) == [(41, -1, 1, 1), (41, 1, 1, 1), (41, 1, 3, 3)]
    final = store.query("SELECT version, pageviews FROM {db}.sessions FINAL").rows
    assert final == [(3, 3)]
    assert buffer.stop()


def test_a_batch_of_visit_changes_resent_after_a_crash_is_stored_once(store, wal_dir, monkeypatch) -> None:
    first = WriteAheadBuffer(store, wal_dir, sync="none", flush_interval=3600)
    first.open()
    for n, rows in enumerate(visit_updates(41, 1, 3)):
        first.append([event(n)], rows)
    flush_and_die_before_the_checkpoint(first, monkeypatch)
    assert sessions_table(store) == [(41, 1, 3, 3)]

    second = WriteAheadBuffer(store, wal_dir, sync="none", flush_interval=3600)
    assert second.open() == 3  # replayed: the same range, the same rows, the same token
    assert second.flush()
    assert sessions_table(store) == [(41, 1, 3, 3)]
    assert count(store) == 3
    assert second.stop()
