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
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_TIMEOUT = float(os.environ.get("HTTP_HEADER_TIMEOUT_SECONDS") or 10)
MAX_HEAD_BYTES = int(os.environ.get("HTTP_MAX_HEAD_BYTES") or 16 * 1024)


class _HeadDeadline:
    """Mixed into a uvicorn HTTP protocol (before it in the bases)."""

    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop

    def connection_made(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._head_timer: asyncio.TimerHandle | None = None
        self._arm()

    def _arm(self) -> None:
        self._disarm()
        self._head_bytes = 0
        self._head_timer = self.loop.call_later(HEADER_TIMEOUT, self._too_slow)

    def _disarm(self) -> None:
        if getattr(self, "_head_timer", None) is not None:
            self._head_timer.cancel()  # type: ignore[union-attr]
            self._head_timer = None

    def _too_slow(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def _head_done(self) -> bool:
        raise NotImplementedError

    def data_received(self, data: bytes) -> None:
        super().data_received(data)  # type: ignore[misc]
        if self._head_timer is None:
            return
        if self._head_done():
            self._disarm()
            return
        self._head_bytes += len(data)
        if self._head_bytes > MAX_HEAD_BYTES and not self.transport.is_closing():
            self._disarm()
            self.transport.close()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        if not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)  # type: ignore[misc]


class GuardedH11Protocol(_HeadDeadline, H11Protocol):
    def _head_done(self) -> bool:
        return self.conn.their_state is not h11.IDLE


class GuardedHttpToolsProtocol(_HeadDeadline, HttpToolsProtocol):
    def _arm(self) -> None:
        self._head_complete = False
        super()._arm()

    def on_headers_complete(self, *args: Any) -> None:
        self._head_complete = True
        super().on_headers_complete(*args)

    def _head_done(self) -> bool:
        return self._head_complete
