"""``/ws/executions``: the pages' WebSocket (htmx ``hx-ext="ws"``), pushing out-of-band HTML fragments.

This module is the socket host of every live page: it owns the handshake, the subscription, the
replay, the coalescing of live events into flushes, eviction and the parts every page carries (the
event cursor, the approvals badge). What an event means for a page is the page's business: one
``LivePage`` class per page (app/web/pages/<page>/live.py, listed in app/web/pages/__init__.py).

Authenticated by the session cookie; the handshake ``Origin`` must be in ALLOWED_ORIGINS (checked
before accept). Which workspaces a socket hears is derived on the server from the user's
memberships and the page's filters, never from a channel name the client sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid as uuid_lib
from typing import TYPE_CHECKING, Any

from litestar import WebSocket, websocket

from app.domain.events.replay import current_seqs, load_events
from app.lib.headers import origin_allowed
from app.lib.identity import APPROVE_ROLES
from app.ops import metrics as ops_metrics
from app.realtime.guard import CLOSE_RECONNECT, refuse_over_cap
from app.realtime.hub import EVICTED, Hub, Resync, Subscriber
from app.realtime.prepared import PreparedEvent, events_of
from app.realtime.presence import PresenceBoard, PresenceNote
from app.realtime.socket_loop import CLOSE_POLICY, run_socket
from app.realtime.wire import Wire, text_frame
from app.web.fragments import Fragments
from app.web.page_frames import PageUpdate, compose, lone_row_frame
from app.web.pages import LIVE_PAGES
from app.web.pages.live import LivePage, PageState, touches_approvals
from app.web.session import session_user
from app.web.tiles import TileTicker

if TYPE_CHECKING:
    from app.lib.identity import CurrentUser
    from app.services import Services

logger = logging.getLogger("athena.web.live")


def parse_cursor(raw: str | None) -> dict[str, int]:
    cursor: dict[str, int] = {}
    for part in (raw or "").split(","):
        ws, _, seq = part.partition(":")
        if seq.isascii() and seq.isdigit() and len(seq) <= 18:
            with contextlib.suppress(ValueError):
                cursor[str(uuid_lib.UUID(ws))] = int(seq)
    return cursor


async def open_page(socket: WebSocket[Any, Any, Any], services: Services, user: CurrentUser) -> LivePage:
    """The first page (in the route table's order) that wants the socket's query."""
    query = socket.query_params
    page_class = next(page for page in LIVE_PAGES if page.wants(query))
    return await page_class.open(socket, services, user)


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
    page = await open_page(socket, services, user)
    hub: Hub = services.hub
    fragments: Fragments = socket.app.state.fragments
    ticker: TileTicker = socket.app.state.tile_ticker
    uuid_of = {
        a.workspace_id: str(a.workspace_uuid) for a in user.access.values() if a.workspace_id in page.workspace_ids
    }
    approve_ids = frozenset(a.workspace_id for a in user.access.values() if a.role in APPROVE_ROLES)
    state = PageState(page=page, uuid_of=uuid_of, approve_ids=approve_ids, badge_only=approve_ids - set(uuid_of))
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
        if page.ticks_tiles:
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
        last_sent[ws] = messages[-1].seq if messages else since
    if not update.empty():
        update.part("connection", fragments.connection("resynced"))
        for frame in compose(update, fragments):
            await socket.send_text(frame)
    return last_sent


class PageHost:
    """Writes the flushes the hub hands to idle page sockets, in a callback of its own: the hub's
    ``offer`` only hands items over (``PageStream.direct``), so nothing is rendered inside the
    request that published the event, nor under the hub's workspace lock. One per app; what it
    renders is cached per event (``PreparedEvent.rendered``), once per distinct view."""

    def __init__(self) -> None:
        self.pending: dict[PageStream, list[Any]] = {}
        self.flushes = 0

    def hand_over(self, stream: PageStream, item: Any) -> None:
        if not self.pending:
            asyncio.get_running_loop().call_soon(self._drain)
        self.pending.setdefault(stream, []).append(item)

    def holds(self, stream: PageStream) -> bool:
        return stream in self.pending

    def forget(self, stream: PageStream) -> None:
        self.pending.pop(stream, None)

    def _drain(self) -> None:
        pending, self.pending = self.pending, {}
        for stream, items in pending.items():
            try:
                stream.flush_now(items)
                self.flushes += 1
            except Exception:  # one socket's failure must not stop the others
                logger.exception("page flush failed: the socket is closed and its client resyncs")
                stream.sub.evict()


def page_host(app: Any) -> PageHost:
    host = getattr(app.state, "page_host", None)
    if host is None:
        host = app.state.page_host = PageHost()
    return host


class PageStream:
    """The live part of one page socket: one flush at a time; a batch (one transaction's events) is
    always one flush. With a coalescing ``window``, flushes are at least ``window`` apart: a lone
    event goes out at once, and what arrives until the next flush is due is gathered (a flood
    becomes a few frames per second per page). A flush that is due while the socket waits on an
    empty queue is handed to the ``PageHost`` (``direct``, called by the hub's ``offer``), which
    writes it straight to the connection right after."""

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
        self.host = page_host(socket.app)

    def direct(self, item: Any) -> bool:
        """Take ``item`` for the host's next flush, or refuse it (then the hub queues it)."""
        if self.host.holds(self):  # after what the host holds already, in order
            self.host.hand_over(self, item)
            return True
        wire = self.wire
        if wire is None or not wire.ready() or (self.window > 0 and self.loop.time() < self.next_flush):
            return False
        self.next_flush = self.loop.time() + self.window
        self.host.hand_over(self, item)
        return True

    def flush_now(self, items: list[Any]) -> None:
        """The host's flush: fold ``items`` and write them, or queue them if the connection cannot
        take them now (the socket's own task then sends them)."""
        sub, wire = self.sub, self.wire
        if sub.evicted:
            return
        if wire is None or not wire.ready():
            for item in items:
                if sub.queue.qsize() >= sub.queue_size + sub.allowance:
                    sub.evict()
                    return
                sub.queue.put_nowait(item)
            return
        # Without a coalescing window every item is its own flush (as in ``_gather``); with one, what
        # the host holds for this socket is within it: one flush.
        for group in ([item] for item in items) if self.window <= 0 else [items]:
            self._write(wire, group)

    def _write(self, wire: Wire, items: list[Any]) -> None:
        update = PageUpdate()
        for item in items:
            _fold(item, self.fragments, self.state, self.last_sent, update)
        lone = items[0] if len(items) == 1 and isinstance(items[0], PreparedEvent) else None
        if lone is not None and (ready := lone_row_frame(lone, update, self.fragments)) is not None:
            wire.write(ready)
            return
        for frame in compose(update, self.fragments):
            wire.write(text_frame(frame.encode()))

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
            self.host.forget(self)

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
    elif isinstance(item, PresenceNote):
        update.ready_fragment(fragments.presence(item))
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
    if item.workspace_id in state.approve_ids and touches_approvals(item.message):
        update.part("badge", fragments.approvals_badge(item))
    if item.workspace_id in state.badge_only:  # a workspace this page does not show
        return
    update.part(f"cursor:{item.workspace_id}", lambda: fragments.cursor(item))
    if state.page.matches(item):
        state.page.on_event(item, fragments, update)


def _resync(fragments: Fragments, state: PageState) -> str:
    badge = fragments.badge_refresh() if state.approve_ids else ""
    return badge + state.page.resync(fragments)


def announce_link(hub: Hub, fragments: Fragments, up: bool) -> None:
    """Tell every page when this instance loses or regains the event bus: while it is away the hub
    polls the database, so pages stay correct but may lag by a second."""
    html = fragments.connection("resynced" if up else "delayed")
    for sub in {s for subs in hub.subscribers.values() for s in subs if s.kind == "page"}:
        sub.offer(html)
