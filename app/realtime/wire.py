"""Ready WebSocket frames written straight to a connection: the fan-out's fast path.

A server's frames are not masked, and permessage-deflate is off (docs/benchmarks.md, goal 3), so
the bytes of an event's frame are the same for every client: they are encoded once per event per
instance (``PreparedEvent.frame``) and written to each socket's transport as they are. Through the
ASGI ``send`` each frame cost a coroutine chain per client (Litestar's wrappers, the ``before_send``
hooks, uvicorn, the websockets frame encoder): ~40 µs of the server's ~45 µs per frame.

Only uvicorn's ``websockets-sansio`` protocol (its default WebSocket implementation) is written to
directly, and only while that connection is open, has nothing compressed, and its transport takes
more (uvicorn clears ``writable`` above the transport's high-water mark). Anything else (another
server, the test client, a client that stopped reading) goes through ASGI ``send`` as before.

The protocol's internals are not an API: ``pyproject.toml`` bounds uvicorn to the series the tests
ran on (``TESTED_UVICORN``). Each socket that cannot take the direct write counts in /metrics
(``athena_ws_fast_path_fallbacks_total{reason}``), and start-up logs a warning when the installed
uvicorn is outside that range or would not pick the sans-io protocol (``server_problem``); the first
socket served by another protocol logs one too.
"""

from __future__ import annotations

import logging
import struct
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

from litestar import Litestar
from websockets.protocol import State

from app.lib.read_gate import ReadGate
from app.ops.metrics import record_wire_fallback

if TYPE_CHECKING:
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol


def _sans_io_protocol() -> type[WebSocketsSansIOProtocol] | None:
    """uvicorn's sans-io WebSocket protocol class, or None under a server without it."""
    try:
        from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
    except ImportError:  # pragma: no cover - uvicorn[standard] is a dependency
        return None
    return WebSocketsSansIOProtocol


SANS_IO_PROTOCOL = _sans_io_protocol()

log = logging.getLogger("athena.realtime.wire")
TESTED_UVICORN = ((0, 54), (0, 55))  # [from, to): keep in step with pyproject.toml's uvicorn bound

SCOPE_KEY = "athena.ws_protocol"
_SHORT = struct.Struct("!BBH")
_LONG = struct.Struct("!BBQ")


def text_frame(payload: bytes) -> bytes:
    """One final, unmasked text frame (RFC 6455 §5.2) carrying ``payload`` (UTF-8)."""
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 65536:
        return _SHORT.pack(0x81, 126, size) + payload
    return _LONG.pack(0x81, 127, size) + payload


class AthenaApp(Litestar):
    """Litestar, recording for each WebSocket the server protocol object its ``send`` belongs to
    (Litestar wraps ``send`` before any handler sees it), and admitting GET requests through the
    process's ``read_gate`` (app/lib/read_gate.py) before any of its work on them."""

    read_gate: ReadGate | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            scope[SCOPE_KEY] = getattr(send, "__self__", None)
        elif self.read_gate is not None and self.read_gate.applies_to(scope):
            await self.read_gate.run(super().__call__, scope, receive, send)
            return
        await super().__call__(scope, receive, send)


class Wire:
    """A socket's direct line: ``write`` when ``ready``, else use ASGI ``send``."""

    __slots__ = ("_proto", "_transport")
    written = 0  # frames written this way by this process, for /ready and the tests

    def __init__(self, proto: Any) -> None:
        self._proto = proto
        self._transport = proto.transport

    @classmethod
    def of(cls, scope: Any) -> Wire | None:
        """The socket's wire, or None (counted in /metrics) when its server is not one this module
        can write to."""
        proto = scope.get(SCOPE_KEY)
        if SANS_IO_PROTOCOL is None or type(proto) is not SANS_IO_PROTOCOL:
            _fell_back("protocol", type(proto).__qualname__ if proto is not None else "unknown")
            return None
        if proto.conn.extensions:  # permessage-deflate negotiated: frames differ per client
            _fell_back("deflate", "permessage-deflate")
            return None
        return cls(proto)

    def ready(self) -> bool:
        proto = self._proto
        return (
            proto.handshake_complete
            and not proto.close_sent
            and not proto.disconnected
            and proto.writable.is_set()
            and proto.conn.state is State.OPEN
            and not self._transport.is_closing()
        )

    def write(self, frame: bytes) -> None:
        self._transport.write(frame)
        Wire.written += 1


_warned: set[str] = set()


def _fell_back(reason: str, what: str) -> None:
    record_wire_fallback(reason)
    if reason not in _warned:
        _warned.add(reason)
        log.warning("WebSocket frames go through ASGI send, not the direct write (%s: %s)", reason, what)


def _uvicorn_version() -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in version("uvicorn").split(".")[:3] if part.isdigit())
    except PackageNotFoundError:
        return None


def server_problem() -> str | None:
    """Why the fast path would not be taken under the installed uvicorn's default WebSocket
    protocol, or None when it would (uvicorn inside ``TESTED_UVICORN``, sans-io as its choice)."""
    installed = _uvicorn_version()
    if installed is None:
        return "uvicorn is not installed: sockets use ASGI send"
    low, high = TESTED_UVICORN
    if not low <= installed[:2] < high:
        shown = ".".join(map(str, installed))
        return f"uvicorn {shown} is outside the tested {low[0]}.{low[1]} to <{high[0]}.{high[1]}: sockets may misbehave"
    from uvicorn.protocols.websockets.auto import AutoWebSocketsProtocol

    if SANS_IO_PROTOCOL is None or AutoWebSocketsProtocol is not SANS_IO_PROTOCOL:
        return f"uvicorn's default WebSocket protocol is {AutoWebSocketsProtocol!r}, not websockets-sansio"
    return None


def warn_if_unexpected_server() -> str | None:
    """Log (at start-up) what ``server_problem`` finds; returns it for the caller's tests."""
    problem = server_problem()
    if problem is not None:
        log.warning("WebSocket fast path: %s", problem)
    return problem
