"""`fdatasync` handed to the kernel, its end announced on an eventfd the event loop watches.

The group commit (footfall.ingest.buffer) waits for one data sync of the write-ahead log per
group of requests. Done by a Python thread, every sync costs that thread two returns into
Python, each taking the interpreter lock from the busy web loop; while it waits for the lock,
every release by the loop (each poll, each system call that releases it) wakes it for
nothing. Measured on 7 Dec 2026 (`perf stat` during a wrk load): 39 futex calls and 24
context switches per sync, and 7% of the loop's own time in `futex_wake`.

Linux's asynchronous I/O takes a data sync as a request of its own (`IOCB_CMD_FDSYNC`,
kernel 4.18 and later; the kernel runs `vfs_fsync_range(datasync=1)`, what `fdatasync`
runs, on a worker of its own) and, with `IOCB_FLAG_RESFD`, counts its completion on an
eventfd. The loop submits the sync with one system call and learns of its end in the same
poll that serves the sockets: no thread, no lock handoff.

`KernelSync.open()` returns None where this is not available (another system or machine
architecture, a kernel or sandbox without asynchronous I/O); the buffer then keeps its
syncer thread.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import platform
import sys
from typing import Any

log = logging.getLogger(__name__)

# System call numbers (the io_* calls have no wrapper in the C library).
_SYSCALLS = {
    "x86_64": {"read": 0, "io_setup": 206, "io_destroy": 207, "io_getevents": 208, "io_submit": 209},
    "aarch64": {"read": 63, "io_setup": 0, "io_destroy": 1, "io_submit": 2, "io_getevents": 4},
}
_IOCB_CMD_FDSYNC = 3
_IOCB_FLAG_RESFD = 1 << 0


class _Iocb(ctypes.Structure):
    """`struct iocb` of <linux/aio_abi.h>, as laid out on a little-endian 64-bit machine."""

    _fields_ = [
        ("aio_data", ctypes.c_uint64),
        ("aio_key", ctypes.c_uint32),
        ("aio_rw_flags", ctypes.c_int32),
        ("aio_lio_opcode", ctypes.c_uint16),
        ("aio_reqprio", ctypes.c_int16),
        ("aio_fildes", ctypes.c_uint32),
        ("aio_buf", ctypes.c_uint64),
        ("aio_nbytes", ctypes.c_uint64),
        ("aio_offset", ctypes.c_int64),
        ("aio_reserved2", ctypes.c_uint64),
        ("aio_flags", ctypes.c_uint32),
        ("aio_resfd", ctypes.c_uint32),
    ]


class _IoEvent(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.c_uint64),
        ("obj", ctypes.c_uint64),
        ("res", ctypes.c_int64),
        ("res2", ctypes.c_int64),
    ]


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


assert ctypes.sizeof(_Iocb) == 64 and ctypes.sizeof(_IoEvent) == 32


class KernelSync:
    """One data sync at a time, submitted with `submit(fd)`; `eventfd` becomes readable when
    it has ended, and `ended()` then collects it (`error`: None, or the OSError `fdatasync`
    would have raised). `wait(timeout)` blocks for it instead (at shutdown)."""

    def __init__(self, syscall: Any, blocking_syscall: Any, numbers: dict[str, int]) -> None:
        self._syscall = syscall
        self._blocking_syscall = blocking_syscall
        self._numbers = numbers
        self._context = ctypes.c_ulong(0)
        self._iocb = _Iocb()
        self._pointers = (ctypes.POINTER(_Iocb) * 1)(ctypes.pointer(self._iocb))
        self._event = _IoEvent()
        self._zero = _Timespec(0, 0)
        self._count = ctypes.c_uint64(0)
        self.eventfd = -1
        self.pending = False
        self.error: OSError | None = None
        if self._call("io_setup", ctypes.c_long(4), ctypes.byref(self._context)) < 0:
            raise OSError(ctypes.get_errno(), "io_setup: " + os.strerror(ctypes.get_errno()))
        try:
            self.eventfd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        except OSError:
            self._call("io_destroy", self._context)
            raise

    @classmethod
    def open(cls) -> KernelSync | None:
        """A working KernelSync, or None where the kernel cannot take one (logged)."""
        numbers = _SYSCALLS.get(platform.machine())
        if not sys.platform.startswith("linux") or numbers is None or not hasattr(os, "eventfd"):
            return None
        # Submitting and collecting never block: called with the interpreter lock held (a
        # PyDLL function), as a release would let another thread take it and the loop wait
        # for it back (measured: 16% of the loop's samples in io_submit with CDLL). Only the
        # shutdown's wait for a sync releases it.
        syscall = ctypes.PyDLL(None, use_errno=True).syscall
        blocking_syscall = ctypes.CDLL(None, use_errno=True).syscall
        syscall.restype = blocking_syscall.restype = ctypes.c_long
        try:
            return cls(syscall, blocking_syscall, numbers)
        except OSError as error:
            log.info("no asynchronous data syncs here (%s): the write-ahead log syncs from a thread", error)
            return None

    def _call(self, name: str, *arguments: object, blocking: bool = False) -> int:
        syscall = self._blocking_syscall if blocking else self._syscall
        return int(syscall(ctypes.c_long(self._numbers[name]), *arguments))

    def submit(self, fd: int) -> None:
        """Start a data sync of `fd` (raises the OSError the kernel answers, e.g. EINVAL
        where the file system takes no asynchronous syncs)."""
        iocb = self._iocb
        iocb.aio_lio_opcode = _IOCB_CMD_FDSYNC
        iocb.aio_fildes = fd
        iocb.aio_flags = _IOCB_FLAG_RESFD
        iocb.aio_resfd = self.eventfd
        if self._call("io_submit", self._context, ctypes.c_long(1), self._pointers) != 1:
            code = ctypes.get_errno() or errno.EIO
            raise OSError(code, "io_submit: " + os.strerror(code))
        self.pending = True

    def ended(self) -> bool:
        """After `eventfd` became readable: whether the sync ended (False: a spurious wake-up);
        `error` then holds what `fdatasync` would have raised, or None. The eventfd is emptied
        first: a completion after that is both found here and readable again, never lost, and
        a readable eventfd with nothing to collect does not wake the loop over and over."""
        self._drain()
        return self._reap(ctypes.byref(self._zero), blocking=False)

    def wait(self, timeout: float) -> bool:
        """Block until the pending sync ends (at most `timeout` seconds); as `ended`."""
        whole = int(timeout)
        done = self._reap(ctypes.byref(_Timespec(whole, int((timeout - whole) * 1e9))), blocking=True)
        self._drain()
        return done

    def _drain(self) -> None:
        """Read the eventfd's count (nonblocking: -1 with EAGAIN when it is zero)."""
        self._call("read", ctypes.c_long(self.eventfd), ctypes.byref(self._count), ctypes.c_long(8))

    def _reap(self, timeout: object, blocking: bool) -> bool:
        one = ctypes.c_long(1)
        got = self._call(
            "io_getevents", self._context, one, one, ctypes.byref(self._event), timeout, blocking=blocking
        )
        if got < 1:
            return False
        self.pending = False
        res = self._event.res
        self.error = OSError(-res, os.strerror(-res)) if res < 0 else None
        return True

    def close(self) -> None:
        if self.pending:
            self.wait(5.0)
        self._call("io_destroy", self._context)
        os.close(self.eventfd)
        self.eventfd = -1
