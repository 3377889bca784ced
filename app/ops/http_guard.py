"""Slow-client guard for ``athena serve``: uvicorn's HTTP protocols with a deadline on the request head.

uvicorn has no header timeout: each byte a client sends cancels its keep-alive timer, so a client
trickling a header line every few seconds holds a connection (and its memory) for ever. These
protocol classes give every request head ``HTTP_HEADER_TIMEOUT_SECONDS`` (default 10) from the
connection's start or the previous response's end, and at most ``HTTP_MAX_HEAD_BYTES`` (default
16 KiB, h11's own default) before it is complete; past either the connection is closed. A request
whose head is complete (its body, a WebSocket upgrade) is not affected.
"""

from __future__ import annotations

import asyncio
import os

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_TIMEOUT = float(os.environ.get("HTTP_HEADER_TIMEOUT_SECONDS") or 10)
MAX_HEAD_BYTES = int(os.environ.get("HTTP_MAX_HEAD_BYTES") or 16 * 1024)


class _HeadDeadline:
    """One connection's deadline on its request heads, driven by the protocol that owns it (a mixin
    would need ``super()`` calls the type checker cannot follow into uvicorn's classes)."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.transport = transport
        self.loop = loop
        self.timer: asyncio.TimerHandle | None = None
        self.head_bytes = 0
        self.arm()

    def arm(self) -> None:
        self.disarm()
        self.head_bytes = 0
        self.timer = self.loop.call_later(HEADER_TIMEOUT, self._too_slow)

    def disarm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _too_slow(self) -> None:
        self.timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def received(self, data: bytes, head_done: bool) -> None:
        """After the protocol parsed ``data``: stop at a complete head, close past the byte limit."""
        if self.timer is None:
            return
        if head_done:
            self.disarm()
            return
        self.head_bytes += len(data)
        if self.head_bytes > MAX_HEAD_BYTES and not self.transport.is_closing():
            self.disarm()
            self.transport.close()

    def response_complete(self) -> None:
        if not self.transport.is_closing():
            self.arm()


class GuardedH11Protocol(H11Protocol):
    _deadline: _HeadDeadline | None = None

    # uvicorn's signature, narrower than asyncio's BaseProtocol (uvicorn ignores the same error; uvloop's
    # transports are no asyncio.Transport, so an isinstance check cannot narrow it instead).
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._deadline = _HeadDeadline(transport, self.loop)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._deadline is not None:
            self._deadline.received(data, self.conn.their_state is not h11.IDLE)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._deadline is not None:
            self._deadline.response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.disarm()
        super().connection_lost(exc)


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    _deadline: _HeadDeadline | None = None
    _head_complete = False

    # uvicorn's signature: see GuardedH11Protocol.
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_complete = False
        self._deadline = _HeadDeadline(transport, self.loop)

    def on_headers_complete(self) -> None:
        self._head_complete = True
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._deadline is not None:
            self._deadline.received(data, self._head_complete)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._deadline is not None:
            self._head_complete = False
            self._deadline.response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.disarm()
        super().connection_lost(exc)
