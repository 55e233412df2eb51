"""The group commit through the kernel: syncs submitted from the event loop (Linux AIO's
IOCB_CMD_FDSYNC), their ends read from an eventfd; no request answered before a sync that
began after its record was written."""

import asyncio
import errno
import os
import platform
import sys
from pathlib import Path

import pytest

from footfall.ingest.buffer import END, WriteAheadBuffer, read_segment
from footfall.ingest.kernel_sync import KernelSync
from tests.ingest.conftest import run_async
from tests.ingest.test_ingest_buffer import event, paths, session

LINUX_AIO = sys.platform.startswith("linux") and platform.machine() in ("x86_64", "aarch64")
pytestmark = pytest.mark.skipif(
    not LINUX_AIO and not os.environ.get("CI"), reason="asynchronous syncs are Linux's (x86_64, aarch64)"
)


def test_a_kernel_sync_of_a_written_file_ends_on_its_eventfd(tmp_path: Path) -> None:
    import select

    kernel = KernelSync.open()
    assert kernel is not None, "this machine's kernel takes asynchronous data syncs"
    fd = os.open(tmp_path / "log", os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        os.write(fd, b"x" * 10_000)
        kernel.submit(fd)
        assert kernel.pending
        readable, _, _ = select.select([kernel.eventfd], [], [], 10)
        assert readable == [kernel.eventfd]
        assert kernel.ended() and kernel.error is None and not kernel.pending
        assert not kernel.ended()  # nothing more in flight: nothing to collect
        os.eventfd_write(kernel.eventfd, 1)  # a wake-up with nothing to collect is emptied
        assert not kernel.ended()
        assert select.select([kernel.eventfd], [], [], 0)[0] == []
        closed = os.dup(fd)
        os.close(closed)
        with pytest.raises(OSError) as refused:
            kernel.submit(closed)
        assert refused.value.errno == errno.EBADF
        assert not kernel.pending
    finally:
        os.close(fd)
        kernel.close()


class Watched:
    """The buffer's real KernelSync, noting how far the log was written when each sync was
    submitted and when each sync's end was collected (for the ordering checks)."""

    def __init__(self, buffer: WriteAheadBuffer) -> None:
        self.buffer = buffer
        self.kernel = buffer._kernel
        assert self.kernel is not None
        self.submitted: list[int] = []
        self.synced_to = 0  # the log offset the last ended sync covers
        submit, ended = self.kernel.submit, self.kernel.ended

        def watched_submit(fd: int) -> None:
            submit(fd)
            self.submitted.append(buffer._offset)

        def watched_ended() -> bool:
            done = ended()
            if done:
                self.synced_to = self.submitted[-1]
            return done

        self.kernel.submit = watched_submit  # type: ignore[method-assign]
        self.kernel.ended = watched_ended  # type: ignore[method-assign]


def test_requests_are_answered_only_after_a_sync_that_covers_their_records(store, wal_dir) -> None:
    buffer = WriteAheadBuffer(store, wal_dir, sync="group", flush_interval=3600)
    buffer.open()
    answered_at: dict[int, int] = {}  # request -> the offset synced when it was answered

    async def requests() -> None:
        await buffer.write([event(0)], [session(0)])  # the first write sets up the kernel's path
        watched = Watched(buffer)
        answered_at[0] = buffer._offset

        async def one(n: int) -> None:
            await buffer.write([event(n)], [session(n)])
            answered_at[n] = watched.synced_to

        for wave in range(5):  # waves of 40: each arrives while the last wave's sync may run
            await asyncio.gather(*(one(1 + wave * 40 + i) for i in range(40)))
        assert 1 <= len(watched.submitted) < 200  # grouped: fewer syncs than requests

    run_async(requests())
    ends = [entry[END] for entry in buffer._queue]  # each record's end in the log, in order
    assert len(ends) == 201
    for n, end in enumerate(ends):
        assert answered_at[n] >= end, f"request {n} answered before a sync covered its record"
    on_disk = read_segment(wal_dir / f"{buffer._segment:012d}.wal", 0)
    assert len(on_disk) == 201
    assert buffer.stop()
    assert len(paths(store)) == 201


def test_a_file_system_refusing_kernel_syncs_falls_back_to_the_syncer_thread(store, wal_dir) -> None:
    buffer = WriteAheadBuffer(store, wal_dir, sync="group", flush_interval=3600)
    buffer.open()

    async def requests() -> None:
        await buffer.write([event(0)], [])
        kernel = buffer._kernel
        assert kernel is not None

        def refuse(fd: int) -> None:  # as io_submit answers for a file without async fsync
            raise OSError(errno.EINVAL, "Invalid argument")

        kernel.submit = refuse  # type: ignore[method-assign]
        await asyncio.wait_for(asyncio.gather(*(buffer.write([event(n)], []) for n in range(1, 30))), 10)
        assert buffer._kernel is None and buffer.kernel_sync is False
        await asyncio.wait_for(buffer.write([event(30)], []), 10)  # through the thread now
        assert buffer._syncer is not None and buffer._syncer.is_alive()

    run_async(requests())
    assert buffer.stop()
    assert len(paths(store)) == 31


def test_stopping_with_a_sync_in_flight_answers_its_requests_and_keeps_their_records(store, wal_dir) -> None:
    buffer = WriteAheadBuffer(store, wal_dir, sync="group", flush_interval=3600)
    buffer.open()
    answers: list[OSError | None] = []

    async def requests() -> None:
        await buffer.write([event(0)], [])
        await asyncio.sleep(0.01)  # past the group-commit interval: the next cycle runs at once
        for n in range(1, 11):
            buffer.write_then([event(n)], [], answers.append)
        await asyncio.sleep(0)  # the cycle runs first: records written, their sync submitted
        assert buffer._kernel is not None and buffer._kernel.pending
        for n in range(11, 21):  # handed over while the sync runs: written by stop()
            buffer.write_then([event(n)], [], answers.append)
        assert buffer.stop()
        for _ in range(10):
            await asyncio.sleep(0)

    run_async(requests())
    assert answers == [None] * 20
    assert len(paths(store)) == 21
