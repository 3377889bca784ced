"""The fan-out's fast path writes frames it encoded itself: they must be the bytes the websockets
library would have sent, and the path must stand aside for any server it does not know."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode

from app.realtime.wire import SCOPE_KEY, Wire, text_frame


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65_535, 65_536, 200_000])
def test_text_frame_is_the_frame_websockets_sends(size: int) -> None:
    payload = ("é" * size).encode()[:size]  # multi-byte UTF-8, cut to the length under test
    payload = payload.decode(errors="ignore").encode()
    expected = Frame(Opcode.TEXT, payload).serialize(mask=False, extensions=[])
    assert text_frame(payload) == expected


def test_no_wire_without_uvicorns_sansio_protocol() -> None:
    # Litestar's test client, another ASGI server, or uvicorn's other WebSocket implementations.
    assert Wire.of({"type": "websocket"}) is None
    assert Wire.of({"type": "websocket", SCOPE_KEY: object()}) is None
