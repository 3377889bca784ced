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
"""

from __future__ import annotations

import struct
from typing import Any

from litestar import Litestar
from websockets.protocol import State

from app.lib.read_gate import ReadGate

try:
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
except ImportError:  # pragma: no cover - uvicorn[standard] is a dependency
    WebSocketsSansIOProtocol = None  # type: ignore[assignment,misc]

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
        """The socket's wire, or None when its server is not one this module can write to."""
        proto = scope.get(SCOPE_KEY)
        if WebSocketsSansIOProtocol is None or type(proto) is not WebSocketsSansIOProtocol:
            return None
        if proto.conn.extensions:  # permessage-deflate negotiated: frames differ per client
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
