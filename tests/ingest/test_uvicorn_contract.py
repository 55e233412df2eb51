"""What `footfall.web.event_protocol.EventProtocol` takes from uvicorn that is not its public API.

The fast path subclasses uvicorn's httptools protocol and uses its private members. pyproject.toml
pins uvicorn to the minor version these tests pass with; a new uvicorn that renames or drops one
of them fails here, naming it, before the fast path fails at run time.
"""

from __future__ import annotations

import asyncio

import uvicorn
from uvicorn.config import Config
from uvicorn.server import ServerState

from footfall.web.event_protocol import EventProtocol

MODULE = "uvicorn.protocols.http.httptools_impl"
# Methods EventProtocol overrides or calls through super() / self.
METHODS = (
    "on_message_begin",
    "on_headers_complete",
    "on_body",
    "on_message_complete",
    "on_response_complete",
    "connection_lost",
    "_start_asgi_task",
)
# Attributes uvicorn's protocol sets up that EventProtocol reads or writes.
ATTRIBUTES = (
    "parser",
    "transport",
    "cycle",
    "flow",
    "loop",
    "server_state",
    "pipeline",
    "timeout_keep_alive",
    "timeout_keep_alive_task",
    "access_log",
)


def _protocol() -> EventProtocol:
    async def app(scope, receive, send):  # pragma: no cover - never called
        raise AssertionError

    config = Config(app, http="httptools", loop="asyncio")
    config.load()
    loop = asyncio.new_event_loop()
    try:
        return EventProtocol(config, ServerState(), {}, loop)
    finally:
        loop.close()


def test_uvicorn_keeps_the_module_and_names_the_fast_path_imports() -> None:
    module = __import__(MODULE, fromlist=["STATUS_LINE", "HttpToolsProtocol"])
    for name in ("STATUS_LINE", "HttpToolsProtocol"):
        assert hasattr(module, name), f"uvicorn {uvicorn.__version__}: {MODULE}.{name} is gone"
    assert 202 in module.STATUS_LINE, f"uvicorn {uvicorn.__version__}: STATUS_LINE no longer maps 202"


def test_uvicorn_keeps_the_protocol_methods_the_fast_path_overrides() -> None:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    missing = [m for m in METHODS if not callable(getattr(HttpToolsProtocol, m, None))]
    assert not missing, f"uvicorn {uvicorn.__version__}: HttpToolsProtocol lacks {missing}"


def test_uvicorn_keeps_the_protocol_attributes_the_fast_path_reads() -> None:
    protocol = _protocol()
    missing = [a for a in ATTRIBUTES if not hasattr(protocol, a)]
    assert not missing, f"uvicorn {uvicorn.__version__}: its protocol no longer sets {missing}"
