"""The life of one WebSocket after its handshake, shared by the API and page sockets:
replay from the database, then stream live items, until the client leaves or is evicted."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import WebSocket
from litestar.exceptions import WebSocketDisconnect

from app.realtime.hub import EVICTED, Hub, Subscriber

CLOSE_TRY_AGAIN = 1013  # clients (and htmx's ws extension) reconnect after it


async def run_socket(
    socket: WebSocket[Any, Any, Any],
    hub: Hub,
    sub: Subscriber,
    replay: Callable[[], Awaitable[dict[int, int]]],
    send_live: Callable[[dict[int, int]], Awaitable[str]],
    *,
    evicted_reason: str,
    on_exit: Callable[[], None] | None = None,
) -> None:
    """``sub`` must already be registered with ``hub`` (subscribe first, then replay: nothing is missed)."""
    receiver = asyncio.create_task(_drain_incoming(socket))
    evicted = asyncio.create_task(sub.gone.wait())
    try:
        last_sent = await replay()
        sender = asyncio.create_task(send_live(last_sent))
        # Eviction wins even when the sender is stuck in a send to a client that stopped reading.
        done, _ = await asyncio.wait({receiver, sender, evicted}, return_when=asyncio.FIRST_COMPLETED)
        for task in (receiver, sender):
            task.cancel()
        sent_all = sender in done and not sender.cancelled() and sender.exception() is None
        if evicted in done or (sent_all and sender.result() == EVICTED):
            await socket.close(code=CLOSE_TRY_AGAIN, reason=evicted_reason)
    except WebSocketDisconnect:
        pass
    finally:
        receiver.cancel()
        evicted.cancel()
        if on_exit is not None:
            on_exit()
        hub.unregister(sub)
        with contextlib.suppress(Exception):
            await socket.close()


async def _drain_incoming(socket: WebSocket[Any, Any, Any]) -> None:
    """Clients have nothing to say; reading tells us when they leave."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await socket.receive_data(mode="text")
