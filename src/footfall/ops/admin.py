"""The admin channel: how `footfall` commands reach a running `footfall serve`.

With embedded storage one process owns the event store (chDB opens a data path once), so
a command that touches events (backup, restore, migrate-store, import, export, demo)
cannot open it while the server runs. The server listens on a Unix socket,
`DATA_DIR/admin.sock`, and runs such commands itself; with the server stopped the CLI opens
the stores directly and runs the same function. Either way the CLI says in one line which
way it went (`run_command`).

Safety
------
* The socket file is created under a temporary name, set to mode 0600 and only then renamed
  to `admin.sock`, so it is never reachable by anybody else; every connection's peer user
  (SO_PEERCRED) must also be the server's own user, or it is refused.
* Commands run on threads of their own (one per connection), never on the web loop; at
  most one `exclusive` command (a long job: a backup, a restore) runs at a time, and a
  second one is told which job is running instead of waiting. A failing command is an error
  answer and a log line; it never stops the server.

The wire protocol
-----------------
One JSON line from the client: `{"command": "backup.create", "args": {...}}`. Then JSON
lines from the server: any number of `{"progress": {"done": 3, "total": 10, "label": "..."}}`
and `{"message": "..."}`, and last `{"result": {...}}` or `{"error": "one line"}`.

Adding a command (how another module registers one)
---------------------------------------------------
Write a function `(job: Job, args: dict) -> dict` in your own module and decorate it::

    from footfall.ops.admin import Job, admin_command

    @admin_command("export", exclusive=True)
    def export(job: Job, args: dict) -> dict:
        job.flush_events()                      # the write-ahead log into the event store
        rows = job.services.events.query(...)   # job.services: both stores, open
        job.progress(done, total, "exporting")  # shown as a progress bar by the CLI
        return {"path": "..."}                  # JSON-able; the CLI prints from it

then add your module's name to `COMMAND_MODULES` below (one line), so that the server and
the CLI both import it. In your click command call
`footfall.ops.admin.run_command(settings, "export", {...})` (or the CLI helper
`footfall.commands.ops.through_server`), which goes through the channel when the server
runs and otherwise opens the stores itself and calls the same function. Raise
`AdminError("what went wrong")` for an expected failure: the user sees that line.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import secrets
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from footfall.accounts.errors import DomainError
from footfall.config import Settings
from footfall.events.store import EventStoreError
from footfall.services import Services

log = logging.getLogger("footfall.ops")

SOCKET_NAME = "admin.sock"
# Modules whose import registers admin commands (with @admin_command). Add yours here.
COMMAND_MODULES: tuple[str, ...] = (
    "footfall.ops.commands",
    "footfall.ops.backup",
    "footfall.ops.retention",
    "footfall.ops.migrate_store",
    "footfall.moving.admin_commands",
)
MAX_REQUEST_BYTES = 1 << 20
_UNIX_PATH_MAX = 107


class AdminError(Exception):
    """An expected failure of an admin command; its message is shown to the user as is."""


class ChannelUnavailable(Exception):
    """No server answers on the admin socket (not running, or a stale socket file)."""


Progress = Callable[[int, int, str], None]
Say = Callable[[str], None]


@dataclass
class Job:
    """What an admin command works with: the open stores and a way to report progress.

    `via` is "server" when the running server runs it, "direct" when the CLI opened the
    stores itself (the server is stopped)."""

    services: Services
    via: str
    buffer: Any | None = None  # the write-ahead buffer (footfall.ingest.buffer) or None
    progress: Progress = field(default=lambda done, total, label: None)
    say: Say = field(default=lambda message: None)
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        return self.services.settings

    def flush_events(self, timeout: float = 120.0) -> None:
        """Store everything acknowledged so far (the write-ahead log) in the event store, so
        that the event store holds every event accepted before this call."""
        if self.buffer is None:
            return
        if not self.buffer.flush(timeout):
            raise AdminError(
                f"cannot flush the write-ahead log into the event store within {timeout:.0f} s "
                "(is the event store reachable?)"
            )

    @contextlib.contextmanager
    def writers_paused(self) -> Iterator[None]:
        """Nothing of this process writes to the event store while this is held: no batch is
        stored (posts are still acknowledged into the write-ahead log), no day is counted."""
        with contextlib.ExitStack() as pause:
            refresher = self.services.extras.get("daily_refresher")
            if refresher is not None:
                pause.enter_context(refresher.paused())
            if self.buffer is not None:
                pause.enter_context(self.buffer.paused())
            yield


Handler = Callable[[Job, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class AdminCommand:
    name: str
    run: Handler
    exclusive: bool = True
    needs_events: bool = True


COMMANDS: dict[str, AdminCommand] = {}


def admin_command(
    name: str, *, exclusive: bool = True, needs_events: bool = True
) -> Callable[[Handler], Handler]:
    """Register `name` as an admin command (see the module docstring)."""

    def register(handler: Handler) -> Handler:
        COMMANDS[name] = AdminCommand(name, handler, exclusive, needs_events)
        return handler

    return register


def load_commands() -> dict[str, AdminCommand]:
    for module in COMMAND_MODULES:
        importlib.import_module(module)
    return COMMANDS


def socket_path(settings: Settings) -> Path:
    return settings.data_dir / SOCKET_NAME


# -- the server side ---------------------------------------------------------------------


class AdminServer:
    """Listens on DATA_DIR/admin.sock in a thread of its own while `footfall serve` runs."""

    def __init__(self, services: Services, buffer_of: Callable[[], Any | None]) -> None:
        self.services = services
        self.buffer_of = buffer_of
        self.path = socket_path(services.settings)
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._job_lock = threading.Lock()
        self._running_job: tuple[str, float] | None = None
        self._connections: set[threading.Thread] = set()

    def start(self) -> bool:
        """Start listening; False (with a warning) when the socket cannot be made."""
        load_commands()
        path = self.path
        if len(os.fsencode(path)) > _UNIX_PATH_MAX:
            log.warning(
                "admin channel off: %s is longer than a Unix socket path may be; commands that "
                "touch events need the server stopped",
                path,
            )
            return False
        if path.exists() or path.is_symlink():
            if _answers(path):
                log.warning("admin channel off: another footfall serve answers on %s", path)
                return False
            path.unlink()  # left by a server that did not stop cleanly
        temporary = path.with_name(f".admin-{secrets.token_hex(6)}.sock")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(temporary))
            os.chmod(temporary, 0o600)
            listener.listen(16)
            os.replace(temporary, path)
        except OSError as error:
            listener.close()
            with contextlib.suppress(OSError):
                temporary.unlink()
            log.warning("admin channel off: cannot listen on %s: %s", path, error.strerror or error)
            return False
        listener.settimeout(0.5)
        self._listener = listener
        self._thread = threading.Thread(target=self._accept_loop, name="footfall-admin", daemon=True)
        self._thread.start()
        log.info("admin channel on %s", path)
        return True

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._listener is not None:
            self._listener.close()
            self._listener = None
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        deadline = time.monotonic() + timeout
        for thread in list(self._connections):  # a running job ends before the stores close
            thread.join(max(0.0, deadline - time.monotonic()))

    def run_here(self, name: str, args: dict[str, Any], wait: float = 3600.0) -> dict[str, Any]:
        """Run an exclusive command in this process (the backup schedule does), waiting up to
        `wait` seconds for a running job to end. Raises what the command raises."""
        command = load_commands()[name]
        if not self._job_lock.acquire(timeout=wait):
            raise AdminError(f"{name}: another job ran for over {wait:.0f} s")
        try:
            self._running_job = (name, time.time())
            job = Job(services=self.services, via="server", buffer=self.buffer_of())
            return command.run(job, dict(args))
        finally:
            self._running_job = None
            self._job_lock.release()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                if self._stopping.is_set():
                    return
                log.exception("admin channel: accept failed")
                time.sleep(0.5)
                continue
            thread = threading.Thread(
                target=self._serve_connection, args=(connection,), name="footfall-admin-job", daemon=True
            )
            self._connections.add(thread)
            thread.start()

    def _serve_connection(self, connection: socket.socket) -> None:
        try:
            with connection:
                connection.settimeout(10)
                reply = _Replier(connection)
                if _peer_uid(connection) != os.geteuid():
                    reply.send({"error": "refused: the admin channel serves only the user running footfall"})
                    return
                try:
                    request = _read_request(connection)
                except (ValueError, OSError) as error:
                    reply.send({"error": f"bad request: {error}"})
                    return
                connection.settimeout(None)
                self._run(request, reply)
        except Exception:
            log.exception("admin channel: a connection failed")
        finally:
            self._connections.discard(threading.current_thread())

    def _run(self, request: dict[str, Any], reply: _Replier) -> None:
        name = request.get("command")
        args = request.get("args") or {}
        command = COMMANDS.get(name) if isinstance(name, str) else None
        if command is None or not isinstance(args, dict):
            known = ", ".join(sorted(COMMANDS))
            reply.send({"error": f"unknown admin command {name!r} (this server knows: {known})"})
            return
        if command.exclusive and not self._job_lock.acquire(blocking=False):
            running, since = self._running_job or ("a job", time.time())
            took = time.time() - since
            reply.send({"error": f"busy: {running} has been running for {took:.0f} s; try again after it"})
            return
        try:
            if command.exclusive:
                self._running_job = (command.name, time.time())
            job = Job(
                services=self.services,
                via="server",
                buffer=self.buffer_of(),
                progress=lambda done, total, label: reply.send(
                    {"progress": {"done": done, "total": total, "label": label}}
                ),
                say=lambda message: reply.send({"message": message}),
            )
            started = time.monotonic()
            log.info("admin channel: %s started", command.name)
            try:
                result = command.run(job, args)
            except (AdminError, DomainError, EventStoreError, SQLAlchemyError) as error:
                if isinstance(error, SQLAlchemyError):
                    error = AdminError(f"metadata store: {_one_line(getattr(error, 'orig', None) or error)}")
                log.warning("admin channel: %s failed: %s", command.name, error)
                reply.send({"error": str(error)})
                return
            except Exception as error:
                log.exception("admin channel: %s failed", command.name)
                reply.send({"error": f"{command.name} failed: {_one_line(error)}"})
                return
            log.info("admin channel: %s done in %.1f s", command.name, time.monotonic() - started)
            reply.send({"result": result})
        finally:
            if command.exclusive:
                self._running_job = None
                self._job_lock.release()


class _Replier:
    """Sends JSON lines; once the client has gone, the job goes on and replies are dropped."""

    def __init__(self, connection: socket.socket) -> None:
        self.connection = connection
        self.gone = False
        self._lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        if self.gone:
            return
        data = json.dumps(message, default=str).encode() + b"\n"
        with self._lock:
            try:
                self.connection.sendall(data)
            except OSError:
                self.gone = True


def _peer_uid(connection: socket.socket) -> int:
    credentials = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", credentials)
    return uid


def _read_request(connection: socket.socket) -> dict[str, Any]:
    data = b""
    while b"\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_REQUEST_BYTES:
            raise ValueError("request too large")
    request = json.loads(data.split(b"\n", 1)[0] or b"null")
    if not isinstance(request, dict):
        raise ValueError("expected a JSON object")
    return request


def _one_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:500] if text else type(error).__name__


def _answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        try:
            probe.connect(str(path))
        except OSError:
            return False
        return True


# -- the client side ---------------------------------------------------------------------


def call(
    path: Path,
    name: str,
    args: dict[str, Any] | None = None,
    *,
    progress: Progress | None = None,
    say: Say | None = None,
    connected: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Run admin command `name` on the server listening on `path`. Raises ChannelUnavailable
    when no server answers there, AdminError when the command fails. `connected` is called
    once the server has answered the connection."""
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.settimeout(5)
        try:
            connection.connect(str(path))
        except (FileNotFoundError, ConnectionRefusedError, TimeoutError) as error:
            raise ChannelUnavailable(str(error)) from None
        except OSError as error:
            raise ChannelUnavailable(error.strerror or str(error)) from None
        if connected is not None:
            connected()
        connection.sendall(json.dumps({"command": name, "args": args or {}}).encode() + b"\n")
        connection.settimeout(None)
        for message in _lines(connection):
            if "progress" in message and progress is not None:
                p = message["progress"]
                progress(int(p["done"]), int(p["total"]), str(p.get("label", "")))
            elif "message" in message and say is not None:
                say(str(message["message"]))
            elif "result" in message:
                return message["result"]
            elif "error" in message:
                raise AdminError(message["error"])
        raise AdminError("the server closed the admin channel before answering (see its log)")
    finally:
        connection.close()


def _lines(connection: socket.socket) -> Iterator[dict[str, Any]]:
    buffered = b""
    while True:
        chunk = connection.recv(65536)
        if not chunk:
            return
        buffered += chunk
        while b"\n" in buffered:
            line, buffered = buffered.split(b"\n", 1)
            if line.strip():
                yield json.loads(line)


@contextlib.contextmanager
def direct_job(
    settings: Settings, *, progress: Progress | None = None, say: Say | None = None
) -> Iterator[Job]:
    """A Job on stores this process opens itself (the server is stopped). The write-ahead
    log a stopped server left unflushed is replayed into the event store first."""
    from footfall.ingest.buffer import WriteAheadBuffer, ensure_deduplication
    from footfall.services import open_services

    services = open_services(settings, run_migrations=True)
    buffer = None
    try:
        assert services.events is not None
        if settings.wal_dir.exists():
            ensure_deduplication(services.events)
            buffer = WriteAheadBuffer(services.events, settings.wal_dir, sync=settings.wal_sync)
            buffer.open()
            if not buffer.flush(timeout=120):
                raise AdminError(
                    "cannot store the write-ahead log a stopped server left (event store unreachable)"
                )
        yield Job(
            services=services,
            via="direct",
            buffer=buffer,
            progress=progress or (lambda done, total, label: None),
            say=say or (lambda message: None),
        )
    finally:
        try:
            if buffer is not None:
                buffer.stop(timeout=30)
        finally:
            services.close()


def run_command(
    settings: Settings,
    name: str,
    args: dict[str, Any] | None = None,
    *,
    progress: Progress | None = None,
    say: Say | None = None,
    announce: Say | None = None,
) -> dict[str, Any]:
    """Run admin command `name` through the running server, or, when none answers, on stores
    opened here. `announce` is told, in one line, which way it went."""
    commands = load_commands()
    if name not in commands:
        raise AdminError(f"unknown admin command {name!r}")
    path = socket_path(settings)

    def connected() -> None:
        if announce is not None:
            announce(f"{name}: through the running server ({path})")

    try:
        return call(path, name, args, progress=progress, say=say, connected=connected)
    except ChannelUnavailable:
        pass
    if announce is not None:
        announce(f"{name}: no server answers on {path}; opening the stores directly")
    with direct_job(settings, progress=progress, say=say) as job:
        return commands[name].run(job, dict(args or {}))
