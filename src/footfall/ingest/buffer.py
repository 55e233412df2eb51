"""The durable write buffer: a write-ahead log on disk, flushed to the event store in batches.

Why it is shaped this way
-------------------------
An event is acknowledged (`202`) only after its rows are in the log: `os.write` has
returned, so the kernel holds the bytes and a crash of the process (`kill -9`) loses
nothing. `WAL_SYNC` decides what a crash of the machine can lose:

* `none`   - no fsync; survives a process crash, a machine crash may lose the last
             few seconds the kernel had not written back.
* `group`  - (default) the `202` waits for an `fdatasync` that covers it; one sync
             serves every request whose record was written before it began.
* `always` - one `fdatasync` per request before it is answered; slowest.

The web side (`write`) frames each record. With `none` and `always` it appends it with one
`os.write` in the event-loop thread (with `always`, then an `fdatasync`). With `group`, on
Linux (x86_64 and aarch64), the loop gathers the records of one loop turn, appends them with
one `os.write` and submits one data sync to the kernel (footfall.ingest.kernel_sync: Linux
AIO's `IOCB_CMD_FDSYNC`, the same `vfs_fsync_range` as `fdatasync`), whose end an eventfd in
the loop's own poll announces; then it answers their requests. Records handed over while a
sync runs wait for the next one, which starts when it ends but at most every
`GROUP_COMMIT_INTERVAL` (2 ms), so that under load one sync covers more requests. Where the
kernel takes no asynchronous syncs, a syncer thread does the same (one `os.write`, one
`fdatasync`, both releasing the interpreter lock, then one `call_soon_threadsafe`); a thread
costs more, as its every return into Python takes the interpreter lock from the busy loop
(see footfall.ingest.kernel_sync). Either way no request is answered before its record is
written and a sync that began after that write has completed.

A background thread (the flusher) takes batches from the head of the log (by size,
`FLUSH_BATCH_SIZE` rows, or by time, `FLUSH_INTERVAL_MS`) and inserts them into `events`
and `sessions`; chDB and clickhouse-connect release the interpreter lock while they work,
and the flusher holds this module's lock only to pick a batch and to drop it once stored.

Exactly once across crashes
---------------------------
The log is a numbered series of segment files of framed records
(`length, crc32, msgpack payload`). A `checkpoint` file says how far the log is stored.
For each batch the flusher:

1. writes the batch's range (segment, start, end) to the checkpoint as `pending`;
2. inserts its events, then its sessions, each with an `insert_deduplication_token`
   derived from the log's id and that range;
3. writes the checkpoint again with `committed` moved to the batch's end and no
   `pending`; segments wholly before it are deleted.

A crash before 1 replays the records as new batches; between 1 and 3 the restarted
server re-sends exactly the `pending` range with the same tokens, so ClickHouse drops
whichever insert had already landed (the tables keep a deduplication window for this:
`non_replicated_deduplication_window`, set by `ensure_deduplication` on every table of
the database, so that the targets of materialized views fed by `events` and `sessions`
drop the re-sent batch too; replicated tables deduplicate by default); after 3 nothing
is replayed. A record torn by a crash in the middle of `os.write` was never acknowledged
and is ignored. While the store is
unreachable the flusher retries the same batch with backoff and the log keeps growing up
to `WAL_MAX_BYTES`; past that `has_room()` is false and the handler answers `503` with
`Retry-After`. On start the log is replayed; on shutdown it is flushed.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import secrets
import struct
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec

from footfall.events import daily_marks
from footfall.events.schema import EVENTS_COLUMNS, SESSIONS_COLUMNS
from footfall.events.store import EventStore, EventStoreError, array_header
from footfall.ingest import metrics
from footfall.ingest.kernel_sync import KernelSync

log = logging.getLogger("footfall.ingest")

HEADER = struct.Struct("<II")  # payload length, crc32 of payload
SEGMENT_BYTES = 64 * 1024 * 1024
DEDUPLICATION_WINDOW = 1000
RETRY_AFTER_SECONDS = 10
# With WAL_SYNC=group, a sync starts at most this often (seconds): one sync then covers a
# few milliseconds of requests under load. Each fdatasync costs the kernel 60-90 µs of CPU
# and a journal commit on the development machine, whatever it covers.
GROUP_COMMIT_INTERVAL = 0.002
SYNC_MODES = ("none", "group", "always")
# One engine thread per flush: the embedded engine shares the machine with the web loop,
# and a batch of thousands of rows gains nothing from more.
INSERT_SETTINGS = {
    "max_threads": 1,
    "max_insert_threads": 1,
    "deduplicate_blocks_in_dependent_materialized_views": 1,
}


def ensure_deduplication(store: EventStore) -> None:
    """Let every table recognise a re-sent batch by its token (see the module docstring):
    `events`, `sessions`, and the tables materialized views fill from them, which see the
    same batch and must drop it too (with `deduplicate_blocks_in_dependent_materialized_views`,
    set on each flush)."""
    tables = store.query(
        "SELECT name FROM system.tables WHERE database = {d:String} AND engine LIKE '%MergeTree' "
        "AND engine NOT LIKE 'Replicated%'",
        {"d": store.database},
    )
    for (table,) in tables.rows:
        store.command(
            f"ALTER TABLE {{db}}.`{table}` MODIFY SETTING non_replicated_deduplication_window = "
            f"{DEDUPLICATION_WINDOW}"
        )


# One record of the log, queued for the flusher, as a plain tuple:
#   (seq, segment, start, end, events, event_count, sessions, session_count, oldest, keys)
# its position in the log, its event rows and its session rows (each a run of MessagePack
# arrays, what `insert_msgpack` takes) with their numbers, the earliest time among the
# rows (an event's timestamp, a visit's start) for the daily counts' dirty marks, and four
# numbers per session row (session id, sign, version, its length in `sessions`) with which
# a batch drops a visit's state that a later row of the same batch cancels. Entries wait
# seconds for their flush; a plain tuple of numbers and bytes is what the garbage collector
# stops tracking at its first look (not a NamedTuple or a dataclass: while entries were
# tracked, every collection walked tens of thousands of them, 15-40 ms pauses at 9,000
# events/s).
_Entry = tuple[int, int, int, int, bytes, int, bytes, int, int, tuple[int, ...]]
SEQ, SEGMENT, START, END, EVENTS, EVENT_COUNT, SESSIONS, SESSION_COUNT, OLDEST, KEYS = range(10)


def _rows(entry: _Entry) -> int:
    return entry[EVENT_COUNT] + entry[SESSION_COUNT]


# Called once a record is as durable as WAL_SYNC asks (None) or could not be written (the
# error), in the event loop's thread.
Written = Callable[[OSError | None], None]
# Called with the event rows and the session rows of a flushed batch that are about days
# before today (each row in EVENTS_COLUMNS / SESSIONS_COLUMNS order).
RowsWritten = Callable[[list[Any], list[Any]], None]
# A record handed to the syncer: framed bytes, its rows, and what to call once it is synced.
_Unwritten = tuple[bytes, bytes, int, bytes, int, int, tuple[int, ...], Written]
_EVENT_TIME, _SESSION_START = EVENTS_COLUMNS.index("timestamp"), SESSIONS_COLUMNS.index("start")
_EVENT_TIMES = (_EVENT_TIME,)
_ARRAY_HEADERS = tuple(array_header(length) for length in range(16))
_SESSION_TIMES = (_SESSION_START, SESSIONS_COLUMNS.index("timestamp"))


def _segment_path(directory: Path, number: int) -> Path:
    return directory / f"{number:012d}.wal"


def read_segment(path: Path, start: int) -> list[tuple[int, int, bytes]]:
    """(start, end, payload) of every whole record from `start`; stops at a torn tail."""
    data = path.read_bytes()
    records = []
    offset = start
    while offset + HEADER.size <= len(data):
        length, crc = HEADER.unpack_from(data, offset)
        end = offset + HEADER.size + length
        if end > len(data):
            break
        payload = data[offset + HEADER.size : end]
        if zlib.crc32(payload) != crc:
            break
        records.append((offset, end, payload))
        offset = end
    return records


class WriteAheadBuffer:
    def __init__(
        self,
        store: EventStore,
        directory: Path,
        *,
        sync: str = "group",
        max_bytes: int = 1 << 30,
        flush_interval: float = 1.0,
        batch_size: int = 10_000,
        segment_bytes: int = SEGMENT_BYTES,
        rows_written: RowsWritten | None = None,
        kernel_sync: bool = True,
    ) -> None:
        if sync not in SYNC_MODES:
            raise ValueError(f"sync must be one of {SYNC_MODES}")
        self.store = store
        self.directory = Path(directory)
        self.sync = sync
        self.max_bytes = max_bytes
        self.flush_interval = flush_interval
        self.batch_size = batch_size
        self.segment_bytes = segment_bytes
        # Told of flushed rows about days before today: by default they mark those days' daily
        # counts dirty (footfall.events.daily_marks), so queries read them raw until recounted.
        self.rows_written: RowsWritten = rows_written or (
            lambda events, sessions: daily_marks.note_rows(store, events, sessions)
        )
        self._encoder = msgspec.msgpack.Encoder()
        self._decoder = msgspec.msgpack.Decoder()

        self._lock = threading.Lock()  # writer fd, offsets, queue, counters
        self._queue: deque[_Entry] = deque()
        self._fd = -1
        self._segment = 0
        self._offset = 0
        self._seq = 0
        self._pending_bytes = 0
        self._pending_rows = 0
        self._wal_id = ""
        self._committed: tuple[int, int] = (0, 0)
        self._replay_range: tuple[int, int, int] | None = None

        self._wake = threading.Event()
        self._stopping = False
        self._flusher: threading.Thread | None = None
        self._stored_seq = 0
        self._stored = threading.Condition()
        # Held while a batch is stored; `paused()` holds it so that no batch is (a backup).
        self._store_lock = threading.Lock()
        self.store_available = True
        # Set by the disk watch (footfall.ops.disk): `inserts_held` while a data path is at
        # DISK_CRITICAL_PERCENT (nothing is inserted; the log keeps growing), `disk_room`
        # false once the log's own disk is too full for it (posts get 503).
        self.inserts_held = False
        self.disk_room = True
        self.last_flush_seconds = 0.0

        # The group commit: records the syncer has yet to write, each with the future its
        # request waits on (deque appends and pops need no lock).
        self._unwritten: deque[_Unwritten] = deque()
        self._sync_wanted = threading.Event()
        self._syncer: threading.Thread | None = None
        self._stopping_syncer = False
        # Or, where Linux takes them, syncs submitted from the loop (footfall.ingest.kernel_sync):
        # records written by the loop itself, one sync in flight, the records it covers.
        self.kernel_sync = kernel_sync
        self._kernel: KernelSync | None = None
        self._kernel_loop: asyncio.AbstractEventLoop | None = None
        self._in_flight: list[_Unwritten] = []
        self._cycle_due = False
        self._sync_began = -1.0
        self._loop: asyncio.AbstractEventLoop | None = None  # the one `write_then` is called from

    # -- life cycle -------------------------------------------------------------------

    def open(self) -> int:
        """Read the checkpoint, queue every record not yet stored, open a new segment.
        Returns the number of records queued for replay."""
        self.directory.mkdir(parents=True, exist_ok=True)
        checkpoint = self._read_checkpoint()
        self._wal_id = checkpoint["wal_id"]
        self._committed = (checkpoint["segment"], checkpoint["offset"])
        pending = checkpoint.get("pending")
        self._replay_range = tuple(pending) if pending else None  # type: ignore[assignment]
        segments = sorted(int(p.stem) for p in self.directory.glob("*.wal") if p.stem.isdigit())
        replayed = 0
        for number in segments:
            path = _segment_path(self.directory, number)
            if number < self._committed[0]:
                path.unlink(missing_ok=True)
                continue
            start = self._committed[1] if number == self._committed[0] else 0
            for begin, end, payload in read_segment(path, start):
                events, sessions = self._decoder.decode(payload)
                _, *encoded = self._frame(
                    [_unix_times(row, _EVENT_TIMES) for row in events],
                    [_unix_times(row, _SESSION_TIMES) for row in sessions],
                )
                self._seq += 1
                self._queue.append((self._seq, number, begin, end, *encoded))
                self._pending_bytes += end - begin
                self._pending_rows += len(events) + len(sessions)
                replayed += 1
        self._stored_seq = 0
        self._segment = max([*segments, self._committed[0]]) + 1
        self._open_segment()
        metrics.WAL_PENDING_BYTES.set(self._pending_bytes)
        if replayed:
            log.info("write-ahead log: replaying %d records not yet stored", replayed)
        return replayed

    def start(self) -> None:
        if self._fd < 0:
            self.open()
        self._flusher = threading.Thread(target=self._flush_loop, name="footfall-flusher", daemon=True)
        self._flusher.start()
        if self._queue:
            self._wake.set()

    def stop(self, timeout: float = 30.0) -> bool:
        """Flush what is queued (waiting at most `timeout` seconds) and stop. Returns
        whether everything was stored; what was not stays in the log for the next start."""
        if self._syncer is not None:  # writes what requests still wait for
            self._stopping_syncer = True
            self._sync_wanted.set()
            self._syncer.join(timeout=5)
        if self._kernel is not None:
            self._stop_kernel_sync()
        done = self.flush(timeout)
        self._stopping = True
        self._wake.set()
        if self._flusher is not None:
            self._flusher.join(timeout=5)
        with self._lock:
            if self._fd >= 0:
                if self.sync != "none":
                    os.fsync(self._fd)
                os.close(self._fd)
                self._fd = -1
        return done

    # -- the write side (called from the event loop) -----------------------------------

    def has_room(self) -> bool:
        return self._pending_bytes < self.max_bytes and self.disk_room

    def oldest_age(self, now: float) -> float:
        """Seconds since the oldest event not yet stored happened (0 with none waiting)."""
        with self._lock:
            oldest = self._queue[0][OLDEST] if self._queue else 0
        return max(0.0, now - oldest) if oldest else 0.0

    @property
    def pending_rows(self) -> int:
        return self._pending_rows

    @property
    def pending_bytes(self) -> int:
        return self._pending_bytes

    def append(self, events: list[Any], sessions: list[Any]) -> int:
        """Write one record to the log now; returns its sequence number. When this returns
        the record survives a crash of the process (and, with WAL_SYNC=always, of the
        machine). The HTTP handler uses `write`, which adds the group commit."""
        framed = self._frame(events, sessions)
        with self._lock:
            return self._append_locked(*framed)

    async def write(self, events: list[Any], sessions: list[Any]) -> None:
        """Write one record to the log and return once it is as durable as WAL_SYNC asks
        (`write_then` with a future to wait on)."""
        written: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def settle(error: OSError | None) -> None:
            if written.done():  # the request went away meanwhile (cancelled)
                return
            if error is None:
                written.set_result(None)
            else:
                written.set_exception(error)

        self.write_then(events, sessions, settle)
        await written

    def write_then(self, events: list[Any], sessions: list[Any], done: Written) -> None:
        """Write one record to the log and call `done(None)` once it is as durable as
        WAL_SYNC asks, or `done(error)` if it cannot be written. Call from the event loop.

        With `none` and `always` the record is written at once (one `os.write`, and with
        `always` an `fdatasync`) and `done` is called before this returns. With `group` it is
        handed to the syncer thread, which writes every record handed to it so far in one
        `os.write`, syncs them, and then calls their `done` in the loop's thread (see the
        module docstring); the loop serves other requests meanwhile."""
        framed = self._frame(events, sessions)
        if self.sync != "group":
            try:
                with self._lock:
                    self._append_locked(*framed)
            except OSError as error:
                done(error)
                return
            done(None)
            return
        # The loop the syncer settles through: this call's (asked only when the one kept is
        # gone: `get_running_loop` makes a system call, getpid, on every call).
        loop = self._loop
        if loop is None or loop.is_closed():
            self._loop = loop = asyncio.get_running_loop()
        kernel = self._kernel
        if kernel is not None and self._kernel_loop is loop:
            self._unwritten.append((*framed, done))
            if not self._cycle_due and not kernel.pending:
                # After the callbacks this loop turn runs: their records share the sync.
                self._cycle_due = True
                loop.call_soon(self._kernel_cycle)
            return
        if self._syncer is None and self._start_kernel_sync(loop):
            self.write_then(events, sessions, done)
            return
        if self._syncer is None:
            self._start_syncer()
        self._unwritten.append((*framed, done))
        if not self._sync_wanted.is_set():  # the syncer clears it before it takes records
            self._sync_wanted.set()

    def _frame(
        self, events: list[Any], sessions: list[Any]
    ) -> tuple[bytes, bytes, int, bytes, int, int, tuple[int, ...]]:
        """The log record for these rows (a framed MessagePack `[events, sessions]`), the
        event rows and the session rows as runs of MessagePack arrays (the record is made of
        them) with their numbers, the earliest time among the rows, and the session rows'
        keys (see `_Entry`). Times are unix seconds, as the pipeline writes them."""
        encode = self._encoder.encode
        event_count, session_count = len(events), len(sessions)
        # A request has one event row and up to two session rows: those cases without `map`.
        encoded_events = encode(events[0]) if event_count == 1 else b"".join(map(encode, events))
        if session_count == 0:
            encoded_sessions = b""
            keys: tuple[int, ...] = ()
        elif session_count == 1:
            row = sessions[0]
            encoded_sessions = encode(row)
            keys = (row[0], row[1], row[2], len(encoded_sessions))
        elif session_count == 2:  # a visit's update: its cancelling row and its new state
            cancel, new = sessions
            first, second = encode(cancel), encode(new)
            encoded_sessions = first + second
            keys = (cancel[0], cancel[1], cancel[2], len(first), new[0], new[1], new[2], len(second))
        else:
            parts = [encode(row) for row in sessions]
            encoded_sessions = b"".join(parts)
            keys = tuple(
                n
                for row, part in zip(sessions, parts, strict=True)
                for n in (row[0], row[1], row[2], len(part))
            )
        payload = b"".join(
            (
                b"\x92",
                _ARRAY_HEADERS[event_count] if event_count < 16 else array_header(event_count),
                encoded_events,
                _ARRAY_HEADERS[session_count] if session_count < 16 else array_header(session_count),
                encoded_sessions,
            )
        )
        # The earliest of the rows' times (0 without rows), without a list to take `min` of.
        oldest = events[0][_EVENT_TIME] if events else sessions[0][_SESSION_START] if sessions else 0
        for row in events:
            if row[_EVENT_TIME] < oldest:
                oldest = row[_EVENT_TIME]
        for row in sessions:
            if row[_SESSION_START] < oldest:
                oldest = row[_SESSION_START]
        record = HEADER.pack(len(payload), zlib.crc32(payload)) + payload
        return record, encoded_events, event_count, encoded_sessions, session_count, oldest, keys

    def _append_locked(
        self,
        record: bytes,
        events: bytes,
        event_count: int,
        sessions: bytes,
        session_count: int,
        oldest: int,
        keys: tuple[int, ...],
    ) -> int:
        size = len(record)
        if self._offset > 0 and self._offset + size > self.segment_bytes:
            self._rotate()
        self._write_or_undo(record)
        if self.sync == "always":
            os.fdatasync(self._fd)
        start = self._offset
        self._offset += size
        self._seq += 1
        entry = (
            self._seq,
            self._segment,
            start,
            self._offset,
            events,
            event_count,
            sessions,
            session_count,
            oldest,
            keys,
        )
        self._queue.append(entry)
        self._pending_bytes += size
        self._pending_rows += _rows(entry)
        if self._pending_rows >= self.batch_size and not self._wake.is_set():
            self._wake.set()
        return self._seq

    # -- the group commit (kernel syncs from the loop, or the syncer thread) -------------

    def _start_kernel_sync(self, loop: asyncio.AbstractEventLoop) -> bool:
        """Sync from `loop` through the kernel where it can (see footfall.ingest.kernel_sync);
        False: use the syncer thread."""
        if not self.kernel_sync:
            return False
        kernel = self._kernel
        if kernel is None:
            kernel = KernelSync.open()
            if kernel is None:
                self.kernel_sync = False
                return False
            self._kernel = kernel
        elif self._kernel_loop is not None and not self._kernel_loop.is_closed():
            self._kernel_loop.remove_reader(kernel.eventfd)
        loop.add_reader(kernel.eventfd, self._kernel_synced)
        self._kernel_loop = loop
        return True

    def _kernel_cycle(self) -> None:
        """In the loop: write the records handed over since the last sync began with one
        `os.write` (a copy into the page cache) and submit one data sync for them, at most one
        per GROUP_COMMIT_INTERVAL."""
        self._cycle_due = False
        kernel = self._kernel
        if kernel is None or kernel.pending or not self._unwritten:
            return
        wait = self._sync_began + GROUP_COMMIT_INTERVAL - time.monotonic()
        if wait > 0 and self._kernel_loop is not None:
            self._cycle_due = True
            self._kernel_loop.call_later(wait, self._kernel_cycle)
            return
        self._sync_began = time.monotonic()
        records: list[_Unwritten] = []
        with contextlib.suppress(IndexError):
            while True:
                records.append(self._unwritten.popleft())
        try:
            # In the loop thread: a copy into the page cache. Once per segment (64 MB) it also
            # rotates, syncing the old segment (already synced, so quick) and the directory.
            with self._lock:
                self._write_records_locked(records)
                fd = self._fd
        except OSError as error:
            log.exception("cannot write the write-ahead log")
            _settle(records, error)
            return
        try:
            kernel.submit(fd)
        except OSError as refused:  # e.g. a file system without asynchronous syncs
            log.info("asynchronous data syncs refused (%s): the write-ahead log syncs from a thread", refused)
            self._drop_kernel_sync()
            sync_error: OSError | None = None
            try:
                os.fdatasync(fd)
            except OSError as failed:
                sync_error = failed
            _settle(records, sync_error)
            if self._unwritten:
                self._start_syncer()
                self._sync_wanted.set()
            return
        self._in_flight = records

    def _kernel_synced(self) -> None:
        """In the loop, when the eventfd says the sync in flight ended: answer its requests
        and start the next cycle if records wait."""
        kernel = self._kernel
        if kernel is None:
            return
        if not kernel.ended():
            return
        records, self._in_flight = self._in_flight, []
        if kernel.error is not None:
            log.error("cannot sync the write-ahead log: %s", kernel.error)
        _settle(records, kernel.error)
        if self._unwritten and not self._cycle_due:
            self._kernel_cycle()

    def _stop_kernel_sync(self) -> None:
        """At shutdown: wait for the sync in flight, then write and sync what still waits, and
        answer both groups' requests through the loop."""
        kernel = self._kernel
        assert kernel is not None
        groups: list[tuple[list[_Unwritten], OSError | None]] = []
        if kernel.pending:
            ended = kernel.wait(10.0)
            records, self._in_flight = self._in_flight, []
            late = OSError(errno.ETIMEDOUT, "the write-ahead log sync did not end")
            groups.append((records, kernel.error if ended else late))
        records = list(self._unwritten)
        self._unwritten.clear()
        if records:
            error: OSError | None = None
            try:
                with self._lock:
                    self._write_records_locked(records)
                    os.fdatasync(self._fd)
            except OSError as failed_write:
                error = failed_write
            groups.append((records, error))
        self._drop_kernel_sync()
        loop = self._loop
        for records, error in groups:
            if loop is not None and not loop.is_closed():
                loop.call_soon_threadsafe(_settle, records, error)

    def _drop_kernel_sync(self) -> None:
        kernel, self._kernel = self._kernel, None
        self.kernel_sync = False
        if kernel is None:
            return
        loop, self._kernel_loop = self._kernel_loop, None
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.remove_reader(kernel.eventfd)
        kernel.close()

    def _start_syncer(self) -> None:
        self._syncer = threading.Thread(target=self._sync_loop, name="footfall-wal-sync", daemon=True)
        self._syncer.start()

    def _sync_loop(self) -> None:
        """Write and sync the records handed over since the last sync began, then wake
        their requests."""
        began = -1.0
        while True:
            self._sync_wanted.wait()
            # At most one sync per GROUP_COMMIT_INTERVAL: under load one sync then covers
            # that much of the requests instead of the few that came during the last one.
            pause = began + GROUP_COMMIT_INTERVAL - time.monotonic()
            if pause > 0 and not self._stopping_syncer:
                time.sleep(pause)
            began = time.monotonic()
            self._sync_wanted.clear()
            records: list[_Unwritten] = []
            with contextlib.suppress(IndexError):
                while True:
                    records.append(self._unwritten.popleft())
            if not records:
                if self._stopping_syncer:
                    return
                continue
            error: OSError | None = None
            try:
                with self._lock:
                    self._write_records_locked(records)
                    # A duplicate: the segment may be rotated and its descriptor closed
                    # while the sync runs (rotation syncs the old segment itself).
                    fd = os.dup(self._fd)
                try:
                    os.fdatasync(fd)
                finally:
                    os.close(fd)
            except OSError as failed:
                log.exception("cannot write or sync the write-ahead log")
                error = failed
            if self._loop is not None:
                with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                    self._loop.call_soon_threadsafe(_settle, records, error)

    def _write_records_locked(self, records: list[_Unwritten]) -> None:
        """Append `records` with one `os.write` per segment they fall in; each is queued
        for the flusher once it is written."""
        chunk: list[_Unwritten] = []
        size = 0
        for record in records:
            if chunk and self._offset + size + len(record[0]) > self.segment_bytes:
                self._write_chunk_locked(chunk, size)
                chunk, size = [], 0
            chunk.append(record)
            size += len(record[0])
        if chunk:
            self._write_chunk_locked(chunk, size)

    def _write_chunk_locked(self, chunk: list[_Unwritten], size: int) -> None:
        if len(chunk) == 1:
            self._append_locked(*chunk[0][:-1])
            return
        if self._offset > 0 and self._offset + size > self.segment_bytes:
            self._rotate()
        self._write_or_undo(b"".join([unwritten[0] for unwritten in chunk]))
        for unwritten in chunk:  # indexed, not unpacked: no list per record
            start = self._offset
            self._offset += len(unwritten[0])
            self._seq += 1
            self._queue.append(
                (
                    self._seq,
                    self._segment,
                    start,
                    self._offset,
                    unwritten[1],
                    unwritten[2],
                    unwritten[3],
                    unwritten[4],
                    unwritten[5],
                    unwritten[6],
                )
            )
            self._pending_rows += unwritten[2] + unwritten[4]
        self._pending_bytes += size
        if self._pending_rows >= self.batch_size and not self._wake.is_set():
            self._wake.set()

    def _write_or_undo(self, data: bytes) -> None:
        """Append `data`, or leave the segment as it was: a write cut short (ENOSPC on a full
        disk) is cut off again, so that no torn record sits before records written later
        (a replay stops at the first torn record)."""
        try:
            _write_all(self._fd, data)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self._offset)
            raise

    def _open_segment(self) -> None:
        path = _segment_path(self.directory, self._segment)
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._offset = os.fstat(self._fd).st_size
        if self.sync != "none":
            _fsync_directory(self.directory)

    def _rotate(self) -> None:
        if self.sync != "none":
            os.fdatasync(self._fd)
        os.close(self._fd)
        self._segment += 1
        self._open_segment()

    # -- the store side (the flusher thread) ----------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Ask for everything appended so far to be stored; wait for it (or `timeout`)."""
        with self._lock:
            target = self._queue[-1][SEQ] if self._queue else 0
        if target == 0:
            return True
        if self._flusher is None or not self._flusher.is_alive():
            return self._flush_available(deadline=None if timeout is None else time.monotonic() + timeout)
        self._wake.set()
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._stored:
            while self._stored_seq < target:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._stored.wait(remaining if remaining is not None else 1.0)
                self._wake.set()
        return True

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """No batch is stored while this is held (requests are still acknowledged into the
        log): a backup sees the event store at one point of the log."""
        with self._store_lock:
            yield

    def _flush_loop(self) -> None:
        while not self._stopping:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            if self._stopping:
                break
            self._flush_tick()

    def _flush_tick(self) -> None:
        """Store what is queued now. Records that arrive while this runs wait for the next
        tick (or the size trigger): draining them at once would turn a busy server's flushes
        into a stream of small inserts, each paying the engine's fixed cost per part (tens
        of milliseconds for a table and its views)."""
        with self._lock:
            until = self._queue[-1][SEQ] if self._queue else 0
        self._flush_available(deadline=None, until=until)

    def _flush_available(self, deadline: float | None, until: int | None = None) -> bool:
        """Store every queued batch (up to sequence number `until`), retrying with backoff
        while the store is down."""
        backoff = 0.05
        while True:
            if self.inserts_held:  # a disk is critical: the events wait in the log
                return False
            batch = self._take_batch(until)
            if not batch:
                return True
            try:
                began = time.monotonic()
                with self._store_lock:
                    self._store_batch(batch)
                self.last_flush_seconds = time.monotonic() - began
                metrics.FLUSH_SECONDS.observe(self.last_flush_seconds)
                backoff = 0.05
                if not self.store_available:
                    log.info("event store reachable again; flushing the write-ahead log")
                self.store_available = True
            except Exception as error:
                # Never drop a batch: a store error is retried; anything else is a bug,
                # logged loudly, and retried too, with the events safe in the log.
                metrics.FLUSH_FAILURES.inc()
                if not isinstance(error, EventStoreError | OSError):
                    log.exception("unexpected error writing a batch to the event store")
                elif self.store_available:
                    log.warning(
                        "cannot write to the event store (%s); retrying, events kept in the log", error
                    )
                self.store_available = False
                if self._stopping or (deadline is not None and time.monotonic() + backoff > deadline):
                    return False
                self._wake.wait(backoff)
                self._wake.clear()
                backoff = min(backoff * 2, 5.0)

    def _take_batch(self, until: int | None = None) -> list[_Entry]:
        with self._lock:
            if not self._queue or (until is not None and self._queue[0][SEQ] > until):
                return []
            batch: list[_Entry] = []
            rows = 0
            if self._replay_range is not None:
                segment, start, end = self._replay_range
                for entry in self._queue:
                    if entry[SEGMENT] != segment or entry[END] > end:
                        break
                    batch.append(entry)
                if batch and batch[0][START] == start and batch[-1][END] == end:
                    return batch
                # The pending range is not what the log holds (never inserted): start afresh.
                self._replay_range = None
                batch = []
            segment = self._queue[0][SEGMENT]
            for entry in self._queue:
                if entry[SEGMENT] != segment or (batch and rows + _rows(entry) > self.batch_size):
                    break
                if until is not None and entry[SEQ] > until:
                    break
                batch.append(entry)
                rows += _rows(entry)
            return batch

    def _store_batch(self, batch: list[_Entry]) -> None:
        segment, start, end = batch[0][SEGMENT], batch[0][START], batch[-1][END]
        self._write_checkpoint(pending=(segment, start, end))
        token = f"{self._wal_id}-{segment}-{start}-{end}"
        event_count = sum(entry[EVENT_COUNT] for entry in batch)
        session_count = sum(entry[SESSION_COUNT] for entry in batch)
        # Already encoded: the engine parses them, and this thread holds the interpreter lock
        # only to join bytes (converting 50,000 rows to Arrow here held it for 0.3 s a batch).
        if event_count:
            events = b"".join([entry[EVENTS] for entry in batch])
            settings = {**INSERT_SETTINGS, "insert_deduplication_token": token + "e"}
            self.store.insert_msgpack("events", EVENTS_COLUMNS, events, event_count, settings=settings)
        if session_count:
            sessions, written_sessions = _without_cancelled_states(batch)
            settings = {**INSERT_SETTINGS, "insert_deduplication_token": token + "s"}
            self.store.insert_msgpack(
                "sessions", SESSIONS_COLUMNS, sessions, written_sessions, settings=settings
            )
            metrics.COALESCED_SESSION_ROWS.inc(session_count - written_sessions)
            session_count = written_sessions
        # Rows about a day the dashboard counts already (a visit still going after midnight, a
        # replayed log) send that day back to the raw tables until it is counted again.
        midnight = int(time.time()) // 86_400 * 86_400
        older = [entry for entry in batch if entry[OLDEST] < midnight]
        if older:
            decode = self._decoder.decode
            self.rows_written(
                [row for e in older for row in decode(array_header(e[EVENT_COUNT]) + e[EVENTS])],
                [row for e in older for row in decode(array_header(e[SESSION_COUNT]) + e[SESSIONS])],
            )
        metrics.FLUSHED_ROWS.labels("events").inc(event_count)
        metrics.FLUSHED_ROWS.labels("sessions").inc(session_count)
        self._committed = (segment, end)
        self._replay_range = None
        self._write_checkpoint(pending=None)
        with self._lock:
            for _ in batch:
                entry = self._queue.popleft()
                self._pending_bytes -= entry[END] - entry[START]
                self._pending_rows -= _rows(entry)
            current = self._segment
        metrics.WAL_PENDING_BYTES.set(self._pending_bytes)
        for path in self.directory.glob("*.wal"):
            if path.stem.isdigit() and int(path.stem) < segment and int(path.stem) != current:
                path.unlink(missing_ok=True)
        with self._stored:
            self._stored_seq = batch[-1][SEQ]
            self._stored.notify_all()

    # -- the checkpoint -----------------------------------------------------------------

    def _read_checkpoint(self) -> dict[str, Any]:
        path = self.directory / "checkpoint.json"
        if path.exists():
            return json.loads(path.read_text())
        checkpoint = {"wal_id": secrets.token_hex(8), "segment": 0, "offset": 0, "pending": None}
        self._wal_id = checkpoint["wal_id"]
        self._write_checkpoint(pending=None, fresh=checkpoint)
        return checkpoint

    def _write_checkpoint(
        self, pending: tuple[int, int, int] | None, fresh: dict[str, Any] | None = None
    ) -> None:
        document = fresh or {
            "wal_id": self._wal_id,
            "segment": self._committed[0],
            "offset": self._committed[1],
            "pending": list(pending) if pending else None,
        }
        path = self.directory / "checkpoint.json"
        temporary = path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, json.dumps(document).encode())
            if self.sync != "none":
                os.fdatasync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)


def _unix_times(row: list[Any], indexes: tuple[int, ...]) -> list[Any]:
    """A replayed row with its times as unix seconds (a log written before they were)."""
    for index in indexes:
        if not isinstance(row[index], int):
            row[index] = daily_marks.unix(row[index])
    return row


def _without_cancelled_states(batch: list[_Entry]) -> tuple[bytes, int]:
    """The batch's session rows, less each state of a visit that a cancelling row of the same
    batch takes back (both rows), and their number. A visit's update is a cancelling row (-1,
    the previous state and version) and the new state (+1, version + 1); a state written and
    cancelled within one insert sums to nothing in every query and in the rollups' sums, and
    the table would collapse the pair at its next merge. So a visit that starts and changes
    within a flush (a pageview, then a custom event or the next pageview seconds later) is
    written as its last state alone: fewer rows for the engine to parse, fan out into the
    hourly rollups and merge. A cancelling row whose state an earlier batch wrote is kept.
    The same batch always gives the same rows, so a re-sent batch keeps its token's meaning."""
    pieces: list[bytes] = []
    written: dict[tuple[int, int], int] = {}  # (session id, version) of a +1 row -> its piece
    dropped = total = 0
    for entry in batch:
        keys, data = entry[KEYS], entry[SESSIONS]
        total += entry[SESSION_COUNT]
        offset = 0
        for at in range(0, len(keys), 4):
            session_id, sign, version, size = keys[at], keys[at + 1], keys[at + 2], keys[at + 3]
            row = data if size == len(data) else data[offset : offset + size]
            offset += size
            if sign < 0:
                earlier = written.pop((session_id, version), None)
                if earlier is not None:
                    pieces[earlier] = b""
                    dropped += 2
                    continue
            else:
                written[(session_id, version)] = len(pieces)
            pieces.append(row)
    return b"".join(pieces), total - dropped


def _write_all(fd: int, data: bytes) -> None:
    written = os.write(fd, data)
    if written < len(data):  # a short write (rare for a regular file): write the rest
        view = memoryview(data)[written:]
        while view:
            view = view[os.write(fd, view) :]


def _settle(records: list[_Unwritten], error: OSError | None) -> None:
    """In the loop thread: tell every request a sync covered (or its error)."""
    for record in records:
        try:
            record[-1](error)  # its `done`
        except Exception:  # one request's answer must not keep the others waiting
            log.exception("cannot answer a request after the write-ahead log sync")


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
