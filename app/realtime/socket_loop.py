"""The life of one WebSocket after its handshake, shared by the API and page sockets:
replay from the database, then stream live items, until the client leaves, is evicted, sends a
frame over the size limit, or the socket guard closes it (credentials or membership gone)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from litestar import WebSocket
from litestar.exceptions import WebSocketDisconnect

from app.realtime.guard import Tracked
from app.realtime.hub import EVICTED, Hub, Subscriber

CLOSE_TRY_AGAIN = 1013  # clients (and htmx's ws extension) reconnect after it
CLOSE_TOO_BIG = 1009
CLOSE_POLICY = 1008
TOO_BIG = "too big"


async def run_socket(
    socket: WebSocket[Any, Any, Any],
    hub: Hub,
    sub: Subscriber,
    replay: Callable[[], Coroutine[Any, Any, dict[int, int]]],
    send_live: Callable[[dict[int, int]], Coroutine[Any, Any, str]],
    *,
    evicted_reason: str,
    on_exit: Callable[[], None] | None = None,
    tracked: Tracked | None = None,
    max_message_bytes: int = 0,
    on_text: Callable[[str], Awaitable[None]] | None = None,
) -> None:
    """``sub`` must already be registered with ``hub`` (subscribe first, then replay: nothing is missed).
    ``on_text`` receives the client's text frames (page presence); without it they are dropped."""
    receiver = asyncio.create_task(_drain_incoming(socket, max_message_bytes, on_text))
    guard: asyncio.Future[Any] = tracked.closing if tracked is not None else asyncio.get_running_loop().create_future()
    sender: asyncio.Task[str] | None = None
    # Eviction wins even when the sender is stuck in a send to a client that stopped reading.
    evicted = asyncio.create_task(sub.gone.wait())
    replaying = asyncio.create_task(replay())
    try:
        await asyncio.wait({replaying, receiver, guard, evicted}, return_when=asyncio.FIRST_COMPLETED)
        if replaying.done() and not evicted.done():
            sender = asyncio.create_task(send_live(replaying.result()))
            await asyncio.wait({receiver, sender, guard, evicted}, return_when=asyncio.FIRST_COMPLETED)
        for task in (replaying, receiver, sender):
            if task is not None:
                task.cancel()
        await _close_for(socket, receiver, sender, guard, evicted, evicted_reason)
    except WebSocketDisconnect:
        pass
    finally:
        evicted.cancel()
        for task in (replaying, receiver, sender):
            if task is not None:
                task.cancel()
                if task.done() and not task.cancelled():
                    task.exception()  # retrieved: a client that left mid-send is not an error to log
        if on_exit is not None:
            on_exit()
        hub.unregister(sub)
        with contextlib.suppress(Exception):
            await socket.close()


async def _close_for(
    socket: WebSocket[Any, Any, Any],
    receiver: asyncio.Task[str | None],
    sender: asyncio.Task[str] | None,
    guard: asyncio.Future[Any],
    evicted: asyncio.Task[Any],
    evicted_reason: str,
) -> None:
    if guard.done() and not guard.cancelled():
        code, reason = guard.result()
        await socket.close(code=code, reason=reason)
    elif _finished_with(receiver, TOO_BIG):
        await socket.close(code=CLOSE_TOO_BIG, reason="message too big")
    elif evicted.done() or _finished_with(sender, EVICTED):
        await socket.close(code=CLOSE_TRY_AGAIN, reason=evicted_reason)


def _finished_with(task: asyncio.Task[Any] | None, value: str) -> bool:
    return (
        task is not None
        and task.done()
        and not task.cancelled()
        and task.exception() is None
        and task.result() == value
    )


async def _drain_incoming(
    socket: WebSocket[Any, Any, Any], max_bytes: int, on_text: Callable[[str], Awaitable[None]] | None = None
) -> str | None:
    """Clients say little (page presence at most); reading tells us when they leave, or send more than allowed."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            event = await socket.receive()
            if event["type"] == "websocket.disconnect":
                return None
            if event["type"] != "websocket.receive":
                continue
            data: bytes | str = event.get("bytes") or event.get("text") or b""
            size = len(data.encode()) if isinstance(data, str) else len(data)
            if max_bytes and size > max_bytes:
                return TOO_BIG
            if on_text is not None and isinstance(data, str) and data:
                await on_text(data)
    return None
