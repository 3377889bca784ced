"""The peer a Python team would otherwise pick: python-socketio's AsyncServer with its Redis manager.

Same shape as our API socket: each client joins the room of one workspace (``?room=<workspace uuid>``)
and a separate writer process emits events into that room through ``AsyncRedisManager``
(``write_only=True``), which publishes on Redis; this server's manager hears them and fans out.
Deliberately minimal: no authentication, no replay, no gap detection.

    REDIS_URL=redis://127.0.0.1:6379/0 uv run --group bench uvicorn bench.peers.socketio_app:app \
        --ws-per-message-deflate false
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qs

import socketio

manager = socketio.AsyncRedisManager(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
sio = socketio.AsyncServer(async_mode="asgi", client_manager=manager, transports=["websocket"])
app = socketio.ASGIApp(sio)


@sio.event
async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
    room = parse_qs(environ.get("QUERY_STRING", "")).get("room", [""])[0]
    await sio.enter_room(sid, room)
