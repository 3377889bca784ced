"""``/api/v1/ws``: JSON events for programs, one per frame, with replay from ``since``."""

from __future__ import annotations

import json
import logging
import uuid as uuid_lib
from typing import Any

from litestar import WebSocket, websocket

from app.domain.events.message import encode
from app.domain.events.replay import current_seqs, load_events
from app.lib.headers import origin_allowed
from app.lib.identity import CurrentUser
from app.ops import metrics as ops_metrics
from app.realtime.guard import CLOSE_FORBIDDEN, refuse_over_cap
from app.realtime.hub import EVICTED, Hub, Resync, Subscriber
from app.realtime.prepared import Batch, PreparedEvent, batch_frame, events_of
from app.realtime.socket_loop import run_socket
from app.realtime.wire import Wire, text_frame

logger = logging.getLogger("athena.realtime.api_socket")

CLOSE_POLICY = 1008
CLOSE_NOT_FOUND = 4404


def _parse_query(socket: WebSocket[Any, Any, Any]) -> tuple[list[str], dict[str, int] | int | None]:
    """``since`` is per workspace (``<uuid>:<seq>,...``); a bare number is accepted for one workspace."""
    params = socket.query_params
    raw_uuids = [*params.getall("workspace_uuid", []), *params.getall("workspace_uuid[]", [])]
    since_raw = str(params.get("since") or "").strip()
    if _is_seq(since_raw):
        return raw_uuids, int(since_raw)
    per_workspace: dict[str, int] = {}
    for part in since_raw.split(","):
        ws, _, seq = part.partition(":")
        if _is_seq(seq):
            try:
                per_workspace[str(uuid_lib.UUID(ws))] = int(seq)
            except ValueError:
                continue
    return raw_uuids, per_workspace or None


def _is_seq(text: str) -> bool:
    """ASCII digits only (``str.isdigit`` also accepts "²", which ``int`` refuses), at most 18 of them."""
    return text.isascii() and text.isdigit() and len(text) <= 18


def resync_frame(workspace_uuid: str, reason: str, seq: int) -> str:
    return json.dumps({"type": "resync", "workspace_uuid": workspace_uuid, "reason": reason, "seq": seq})


@websocket("/ws", name="api-events-socket")
async def api_events_socket(socket: WebSocket[CurrentUser, Any, Any]) -> None:
    """Events of the requested workspaces (``workspace_uuid`` may repeat), replayed from ``since``.

    Frames are the event messages of docs/events.md, or ``{"type": "resync", ...}`` when the gap
    since ``since`` is larger than the replay window (re-fetch over REST, then reconnect). With
    ``batch=1``, the events one transaction committed together (a stop cascade) come as one
    ``{"type": "batch", "workspace_uuid": ..., "events": [...]}`` frame.
    """
    services = socket.app.state.services
    origin = socket.headers.get("origin")
    if origin is not None and not origin_allowed(origin, services.settings.allowed_origins):
        # Programs send no Origin; a browser page may connect only from an allowed origin.
        await socket.close(code=4403, reason="origin not allowed")  # before accept: handshake refused
        return
    user: CurrentUser = socket.user
    hub: Hub = services.hub
    raw_uuids, since = _parse_query(socket)
    batches = socket.query_params.get("batch") in {"1", "true"}
    if services.sockets.over_cap(user.id):  # refused at the handshake: 429 with Retry-After
        await refuse_over_cap(socket)
        return
    await socket.accept()
    if isinstance(since, int) and len(set(raw_uuids)) > 1:
        await socket.close(code=CLOSE_POLICY, reason="with several workspaces, since must be <uuid>:<seq>,...")
        return
    accesses = []
    for raw in raw_uuids or [""]:
        try:
            accesses.append(user.workspace_by_uuid(uuid_lib.UUID(raw)))
        except ValueError:
            await socket.close(code=CLOSE_POLICY, reason="workspace_uuid is required and must be a UUID")
            return
        except Exception:
            await socket.close(code=CLOSE_NOT_FOUND, reason=f"workspace {raw} not found")
            return
    uuid_of = {a.workspace_id: str(a.workspace_uuid) for a in accesses}
    sub = Subscriber(user_id=user.id, workspace_ids=frozenset(uuid_of), queue_size=services.settings.ws_queue_size)
    tracked = services.sockets.admit(sub, user.token_id, on_membership_lost=CLOSE_FORBIDDEN)
    if tracked is None:
        await socket.close(code=CLOSE_POLICY, reason="too many open connections for this user")
        return
    try:
        baseline = await hub.register(sub)
        await run_socket(
            socket,
            hub,
            sub,
            lambda: _replay(socket, hub, uuid_of, baseline, since),
            lambda last_sent: ApiStream(socket, sub, uuid_of, last_sent, batches, Wire.of(socket.scope)).run(),
            evicted_reason="resync: client too slow, reconnect with since",
            tracked=tracked,
            max_message_bytes=services.sockets.max_message_bytes,
        )
    finally:
        services.sockets.release(tracked)


async def _replay(
    socket: WebSocket[Any, Any, Any],
    hub: Hub,
    uuid_of: dict[int, str],
    baseline: dict[int, int],
    since_arg: dict[str, int] | int | None,
) -> dict[int, int]:
    last_sent: dict[int, int] = {}
    for ws, ws_uuid in uuid_of.items():
        since = since_arg.get(ws_uuid) if isinstance(since_arg, dict) else since_arg
        if since is None:
            last_sent[ws] = baseline[ws]
            continue
        async with hub.db.read() as session:
            messages = await load_events(session, ws, since, limit=hub.replay_limit + 1)
            db_seq = (await current_seqs(session, [ws]))[ws]
        # A cursor from the future (another database, a restore) cannot be trusted either.
        if len(messages) > hub.replay_limit or since > db_seq:
            await socket.send_text(resync_frame(ws_uuid, "gap too large", db_seq))
            ops_metrics.record_resync("api")
            last_sent[ws] = db_seq
            continue
        for message in messages:
            await socket.send_text(encode(message).decode())
        ops_metrics.record_replay("api", len(messages))
        last_sent[ws] = messages[-1].seq if messages else since
    return last_sent


class ApiStream:
    """The live part of one API socket: each queue item becomes its frames, written straight to the
    connection when it takes them (``direct``, called by the hub while this socket waits on an empty
    queue), else sent through ASGI ``send`` by ``run`` in queue order."""

    def __init__(
        self,
        socket: WebSocket[Any, Any, Any],
        sub: Subscriber,
        uuid_of: dict[int, str],
        last_sent: dict[int, int],
        batches: bool,
        wire: Wire | None,
    ) -> None:
        self.socket, self.sub, self.uuid_of, self.last_sent, self.batches = socket, sub, uuid_of, last_sent, batches
        self.wire = wire

    def frames(self, item: Any) -> list[PreparedEvent | Batch | str]:
        """What ``item`` sends this client (each with its JSON text and, cached, its frame bytes)."""
        if isinstance(item, Resync):
            self.last_sent[item.workspace_id] = item.seq
            return [resync_frame(self.uuid_of[item.workspace_id], item.reason, item.seq)]
        # A batch (one transaction's events) is one queue item: one batch frame for clients that
        # asked for them, else consecutive frames.
        fresh = [e for e in events_of(item) if e.seq > self.last_sent.get(e.workspace_id, 0)]  # not sent in replay
        if not fresh:
            return []
        self.last_sent[item.workspace_id] = fresh[-1].seq
        if self.batches and len(fresh) > 1:
            return [item if isinstance(item, Batch) and len(fresh) == len(item.events) else batch_frame(fresh)]
        return list(fresh)

    def direct(self, item: Any) -> bool:
        wire = self.wire
        if wire is None or not wire.ready():
            return False
        for frame in self.frames(item):
            wire.write(_frame_bytes(frame))
        return True

    async def run(self) -> str:
        sub, wire = self.sub, self.wire
        if wire is not None:
            sub.direct = self.direct
        try:
            while True:
                item = await sub.take()
                if item == EVICTED:
                    return EVICTED
                for frame in self.frames(item):
                    if wire is not None and wire.ready():
                        wire.write(_frame_bytes(frame))
                    else:
                        await self.socket.send_text(frame if isinstance(frame, str) else frame.json)
        finally:
            sub.direct = None


def _frame_bytes(frame: PreparedEvent | Batch | str) -> bytes:
    return text_frame(frame.encode()) if isinstance(frame, str) else frame.frame
