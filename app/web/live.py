"""``/ws/executions``: the pages' WebSocket (htmx ``hx-ext="ws"``), pushing out-of-band HTML fragments.

Authenticated by the session cookie; the handshake ``Origin`` must be in ALLOWED_ORIGINS (checked
before accept). Which workspaces a socket hears is derived on the server from the user's
memberships and the page's filters, never from a channel name the client sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid as uuid_lib
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs

from litestar import WebSocket, websocket

from app.domain.dashboard.command_room import room_scope
from app.domain.dashboard.views import ExecutionView
from app.domain.executions.state import TERMINAL
from app.lib.headers import origin_allowed
from app.lib.identity import APPROVE_ROLES
from app.ops import metrics as ops_metrics
from app.realtime.guard import CLOSE_RECONNECT, refuse_over_cap
from app.realtime.hub import EVICTED, Hub, PreparedEvent, Resync, Subscriber, events_of
from app.realtime.messages import current_seqs, load_events
from app.realtime.presence import PresenceBoard
from app.realtime.socket_loop import CLOSE_POLICY, run_socket
from app.realtime.wire import Wire, text_frame
from app.web.approvals import InboxView
from app.web.fragments import Fragments
from app.web.page_frames import PageUpdate, compose, lone_row_frame
from app.web.session import session_user
from app.web.tiles import TileTicker

logger = logging.getLogger("athena.web.live")

ENDINGS = ("execution.stopped", "execution.cancelled", "execution.deleted")


def parse_cursor(raw: str | None) -> dict[str, int]:
    cursor: dict[str, int] = {}
    for part in (raw or "").split(","):
        ws, _, seq = part.partition(":")
        if seq.isascii() and seq.isdigit() and len(seq) <= 18:
            with contextlib.suppress(ValueError):
                cursor[str(uuid_lib.UUID(ws))] = int(seq)
    return cursor


@dataclass(eq=False)
class PageState:
    view: ExecutionView
    visible: set[str]
    uuid_of: dict[int, str]
    detail_uuid: str | None = None
    family: set[str] = field(default_factory=set)  # detail page: the execution and its descendants
    command_room_page: bool = False
    pending_new: int = 0
    tiles_dirty: bool = False
    inbox: InboxView | None = None  # the approvals page and its filters
    approve_ids: frozenset[int] = frozenset()  # workspaces where the user approves: the nav badge
    badge_only: frozenset[int] = frozenset()  # of those, the ones watched for the badge alone


def touches_approvals(message: dict[str, Any]) -> bool:
    """Events that may change which reviews are pending: every ``approval.*``, and an execution that
    has approvals being stopped, cancelled, deleted or finished (its pending ones get cancelled)."""
    kind = message["type"]
    if kind.startswith("approval."):
        return True
    execution = message["execution"]
    if not execution.get("workflow_approvals_count", 1):
        return False
    if kind == "execution.restored":  # its pending reviews come back with it
        return True
    return kind in ENDINGS or (kind == "execution.status_changed" and execution.get("status") in TERMINAL)


@websocket("/ws/executions", name="executions-socket")
async def executions_socket(socket: WebSocket[Any, Any, Any]) -> None:
    services = socket.app.state.services
    if not origin_allowed(socket.headers.get("origin"), services.settings.allowed_origins):
        await socket.close(code=4403, reason="origin not allowed")  # before accept: handshake refused
        return
    user = await session_user(socket)
    if user is None:
        await socket.close(code=4401, reason="sign in first")
        return
    view = ExecutionView.from_query(user, socket.query_params)
    command_room = socket.query_params.get("page") == "command-room"
    if command_room:  # the command room shows all the user's workspaces unless ?workspace= picks one
        view = replace(view, workspace_ids=room_scope(user, socket.query_params.get("workspace")).workspace_ids)
    inbox = InboxView.from_query(user, socket.query_params) if socket.query_params.get("page") == "approvals" else None
    if inbox is not None:  # the inbox shows the workspaces where the user approves (or the one picked)
        view = replace(view, workspace_ids=inbox.workspace_ids)
    detail = socket.query_params.get("execution")
    if detail is not None:
        with contextlib.suppress(ValueError):
            detail = str(uuid_lib.UUID(detail))
    hub: Hub = services.hub
    fragments: Fragments = socket.app.state.fragments
    ticker: TileTicker = socket.app.state.tile_ticker
    listing = not detail and not command_room and inbox is None
    visible = await _visible_rows(socket, services, view) if listing else set()
    uuid_of = {
        a.workspace_id: str(a.workspace_uuid) for a in user.access.values() if a.workspace_id in view.workspace_ids
    }
    approve_ids = frozenset(a.workspace_id for a in user.access.values() if a.role in APPROVE_ROLES)
    state = PageState(
        view=view,
        visible=visible,
        uuid_of=uuid_of,
        detail_uuid=detail,
        family=await services.dashboard.family_of(user, detail) if detail else set(),
        command_room_page=command_room,
        inbox=inbox,
        approve_ids=approve_ids,
        badge_only=approve_ids - set(uuid_of),
    )
    sub = Subscriber(
        user_id=user.id,
        workspace_ids=frozenset(uuid_of) | state.badge_only,
        kind="page",
        state=state,
        queue_size=services.settings.ws_queue_size,
    )
    if services.sockets.over_cap(user.id):  # refused at the handshake: 429 with Retry-After
        await refuse_over_cap(socket)
        return
    await socket.accept()
    tracked = services.sockets.admit(sub, user.token_id, on_membership_lost=CLOSE_RECONNECT)
    if tracked is None:
        await socket.close(code=CLOSE_POLICY, reason="too many open connections for this user")
        return
    presence: PresenceBoard | None = getattr(socket.app.state, "presence", None)
    try:
        baseline = await hub.register(sub)
        snapshot = presence.snapshot(sub) if presence is not None else ""
        if snapshot:  # who is reviewing or stopping what, right now (not an event)
            sub.offer(snapshot)
        if listing:
            ticker.add(sub)
        cursor = parse_cursor(socket.query_params.get("since"))
        await run_socket(
            socket,
            hub,
            sub,
            lambda: _replay(socket, hub, fragments, state, baseline, cursor),
            lambda last_sent: PageStream(
                socket, sub, fragments, state, last_sent, services.settings.ws_page_coalesce_ms / 1000
            ).run(),
            evicted_reason="resync: client too slow",
            on_exit=lambda: _on_exit(ticker, presence, sub),
            tracked=tracked,
            max_message_bytes=services.sockets.max_message_bytes,
            on_text=(lambda text: presence.receive(sub, user, text)) if presence is not None else None,
        )
    finally:
        services.sockets.release(tracked)


def _on_exit(ticker: TileTicker, presence: PresenceBoard | None, sub: Subscriber) -> None:
    ticker.remove(sub)
    if presence is not None:
        presence.socket_closed(sub)


async def _visible_rows(socket: WebSocket[Any, Any, Any], services: Any, view: ExecutionView) -> set[str]:
    """The rows the page shows: as the page reports them (after a reconnect the database has moved
    on), else as the view renders now."""
    # parse_qs keeps the blank value: "rows=" means "the page shows no rows", not "unknown".
    query = parse_qs(socket.scope.get("query_string", b"").decode(), keep_blank_values=True)
    reported = query["rows"][0] if "rows" in query else None
    if reported is not None:
        rows = set()
        for raw in reported.split(",")[:500]:
            with contextlib.suppress(ValueError):
                rows.add(str(uuid_lib.UUID(raw)))
        return rows
    return {row["uuid"] for row in (await services.dashboard.execution_page(view)).rows}


async def _replay(
    socket: WebSocket[Any, Any, Any],
    hub: Hub,
    fragments: Fragments,
    state: PageState,
    baseline: dict[int, int],
    cursor: dict[str, int],
) -> dict[int, int]:
    last_sent: dict[int, int] = {}
    update = PageUpdate()
    for ws, ws_uuid in state.uuid_of.items():
        since = cursor.get(ws_uuid)
        if since is None:
            last_sent[ws] = baseline[ws]
            continue
        async with hub.db.read() as session:
            messages = await load_events(session, ws, since, limit=hub.replay_limit + 1)
            db_seq = (await current_seqs(session, [ws]))[ws]
        if len(messages) > hub.replay_limit or since > db_seq:
            # Too far behind, or a cursor from another database (a reset demo): reload, and restart
            # the page's cursor from now so the next reconnect does not repeat this.
            await socket.send_text(_resync(fragments, state) + fragments.cursor_at(ws_uuid, db_seq))
            ops_metrics.record_resync("page")
            last_sent[ws] = db_seq
            continue
        for message in messages:
            add_event(PreparedEvent(ws, message), fragments, state, update)
        ops_metrics.record_replay("page", len(messages))
        last_sent[ws] = messages[-1]["seq"] if messages else since
    if not update.empty():
        update.part("connection", fragments.connection("resynced"))
        for frame in compose(update, fragments):
            await socket.send_text(frame)
    return last_sent


class PageStream:
    """The live part of one page socket: one flush at a time; a batch (one transaction's events) is
    always one flush. With a coalescing ``window``, flushes are at least ``window`` apart: a lone
    event goes out at once, and what arrives until the next flush is due is gathered (a flood
    becomes a few frames per second per page). A flush that is due while the socket waits on an
    empty queue is written straight to the connection (``direct``, called by the hub)."""

    def __init__(
        self,
        socket: WebSocket[Any, Any, Any],
        sub: Subscriber,
        fragments: Fragments,
        state: PageState,
        last_sent: dict[int, int],
        window: float,
    ) -> None:
        self.socket, self.sub, self.fragments, self.state = socket, sub, fragments, state
        self.last_sent, self.window = last_sent, window
        self.wire = Wire.of(socket.scope)
        self.loop = asyncio.get_running_loop()
        self.next_flush = 0.0

    def direct(self, item: Any) -> bool:
        wire = self.wire
        if wire is None or not wire.ready() or (self.window > 0 and self.loop.time() < self.next_flush):
            return False
        update = PageUpdate()
        _fold(item, self.fragments, self.state, self.last_sent, update)
        self.next_flush = self.loop.time() + self.window
        if isinstance(item, PreparedEvent) and (ready := lone_row_frame(item, update, self.fragments)) is not None:
            wire.write(ready)
            return True
        for frame in compose(update, self.fragments):
            wire.write(text_frame(frame.encode()))
        return True

    async def run(self) -> str:
        sub = self.sub
        if self.wire is not None:
            sub.direct = self.direct
        try:
            while True:
                item = await sub.take()
                update = PageUpdate()
                if await self._gather(item, update) == EVICTED:
                    return EVICTED
                self.next_flush = self.loop.time() + self.window
                for frame in compose(update, self.fragments):
                    if self.wire is not None and self.wire.ready():
                        self.wire.write(text_frame(frame.encode()))
                    else:
                        await self.socket.send_text(frame)
        finally:
            sub.direct = None

    async def _gather(self, item: Any, update: PageUpdate) -> str | None:
        """Fold ``item`` and what arrives until the flush is due, rather than let it wait in the
        bounded queue: a flood faster than queue size / window must not evict a client that reads."""
        queue = self.sub.queue
        while True:
            if item == EVICTED:
                return EVICTED
            _fold(item, self.fragments, self.state, self.last_sent, update)
            if self.window <= 0:
                return None  # every item is its own flush
            if not queue.empty():
                item = queue.get_nowait()
            elif (wait := self.next_flush - self.loop.time()) > 0:
                try:
                    async with asyncio.timeout(wait):
                        item = await queue.get()
                except TimeoutError:
                    return None
            else:
                return None


def _fold(item: Any, fragments: Fragments, state: PageState, last_sent: dict[int, int], update: PageUpdate) -> None:
    if isinstance(item, str):  # a ready fragment (tiles, connection state)
        update.ready_fragment(item)
    elif isinstance(item, Resync):
        resync = fragments.badge_refresh() if item.workspace_id in state.badge_only else _resync(fragments, state)
        update.part(f"resync:{item.workspace_id}", resync)
        last_sent[item.workspace_id] = max(last_sent.get(item.workspace_id, 0), item.seq)
    else:
        for event in events_of(item):
            if event.seq <= last_sent.get(event.workspace_id, 0):
                continue  # already sent during replay
            add_event(event, fragments, state, update)
            last_sent[event.workspace_id] = event.seq


def frames_for(item: PreparedEvent, fragments: Fragments, state: PageState) -> list[str]:
    """What one event means for one page, as frames (see app/web/page_frames.py for the grouping)."""
    update = PageUpdate()
    add_event(item, fragments, state, update)
    return compose(update, fragments)


def add_event(item: PreparedEvent, fragments: Fragments, state: PageState, update: PageUpdate) -> None:
    """Fold what one event means for one page into ``update``. Fragments are rendered once per event."""
    message = item.message
    execution = message["execution"]
    exec_uuid = str(execution["uuid"])
    touches = touches_approvals(message)
    if touches and item.workspace_id in state.approve_ids:
        update.part("badge", fragments.approvals_badge(item))
    if item.workspace_id in state.badge_only:  # a workspace this page does not show
        return
    update.part(f"cursor:{item.workspace_id}", lambda: fragments.cursor(item))
    if state.inbox is not None:
        if touches and message["type"] == "approval.decided" and state.inbox.pending_tab and execution.get("approval"):
            # Leaves at once, naming who decided.
            update.part(f"decided:{execution['approval']['uuid']}", fragments.approval_decided(item))
        elif touches:
            query = state.inbox.query(page=state.inbox.page)
            update.part("approvals", item.rendered(f"approvals?{query}", lambda _: fragments.approvals_refresh(query)))
        return
    if state.command_room_page:
        # Approval changes too: the room lists overdue reviews.
        if message["type"].startswith("command_room.") or execution.get("in_command_room") or touches:
            query = _room_query(state.view)
            update.part("room", item.rendered(f"command-room?{query}", lambda _: fragments.command_room_refresh(query)))
        return
    if state.detail_uuid is not None:
        # The detail page shows the whole descendant tree: follow every member, and adopt newcomers.
        if exec_uuid in state.family or execution.get("parent_execution_uuid") in state.family:
            state.family.add(exec_uuid)
            update.part("detail", fragments.detail_refresh(state.detail_uuid))
        return
    matches = state.view.matches(execution, item.workspace_id)
    update.columns = state.view.columns
    retried = str(execution.get("retry_of") or "")
    if state.view.fold_retries and retried in state.visible and message["type"] == "execution.created":
        state.visible.discard(retried)  # folded: the chain's row is its latest attempt
        update.remove_other(retried, fragments.removal_of(item, retried))
    if exec_uuid in state.visible:
        if matches:
            update.update_row(item)
        else:
            update.remove_row(item)
            state.visible.discard(exec_uuid)
    elif matches:
        if message["type"] in ("execution.created", "execution.restored") and state.view.live_inserts:
            update.insert(item)
            state.visible.add(exec_uuid)
        else:
            state.pending_new += 1
            update.part("banner", lambda: fragments.new_banner(state.view, state.pending_new))
    state.tiles_dirty = True


def _room_query(view: ExecutionView) -> str:
    return f"workspace={view.workspace_uuid}" if len(view.workspace_ids) == 1 and view.workspace_uuid else ""


def _resync(fragments: Fragments, state: PageState) -> str:
    badge = fragments.badge_refresh() if state.approve_ids else ""
    if state.inbox is not None:
        query = state.inbox.query(page=state.inbox.page)
        return badge + fragments.approvals_refresh(query) + fragments.connection("resynced")
    if state.command_room_page:
        return badge + fragments.command_room_refresh(_room_query(state.view)) + fragments.connection("resynced")
    return badge + fragments.resync(state.view, state.detail_uuid)


def announce_link(hub: Hub, fragments: Fragments, up: bool) -> None:
    """Tell every page when this instance loses or regains the event bus: while it is away the hub
    polls the database, so pages stay correct but may lag by a second."""
    html = fragments.connection("resynced" if up else "delayed")
    for sub in {s for subs in hub.subscribers.values() for s in subs if s.kind == "page"}:
        sub.offer(html)
