"""The per-instance hub: delivers each workspace's events to local sockets in seq order, exactly once.

Whatever the bus loses (Redis down, a dropped publish, an at-most-once gap), the hub finds the hole
by sequence number — on the next event, on the bus reconnecting, or on a periodic check of each
watched workspace's counter — and fills it from the database. Each event is encoded/rendered once
per instance (``PreparedEvent`` caches), then offered to every matching socket's bounded queue; a
socket that cannot keep up is evicted and told to resync rather than slowing anyone else.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from app.db.engine import Database
from app.db.models import Workspace
from app.domain.events.message import EventMessage
from app.domain.events.recorder import CommittedEvent
from app.domain.events.replay import current_seqs, load_events
from app.lib.failure_log import FailureLog
from app.ops import metrics as ops_metrics
from app.realtime.bus import MemoryBus, RedisBus
from app.realtime.prepared import Batch, PreparedEvent
from app.realtime.wire import Wire

logger = logging.getLogger("athena.realtime.hub")

EVICTED = "evicted"


@dataclass(frozen=True)
class Resync:
    workspace_id: int
    reason: str
    seq: int


@dataclass(eq=False)
class Subscriber:
    """One WebSocket's view of the hub: its workspaces and a bounded queue of PreparedEvent/Resync."""

    user_id: int
    workspace_ids: frozenset[int]
    kind: str = "api"
    state: Any = None
    queue_size: int = 1000
    queue: asyncio.Queue[Any] = field(init=False)
    # Extra room while the socket sends its replay, until its queue first runs dry: live events
    # pile up meanwhile through no fault of the client (the server is reading the database).
    allowance: int = 0
    # Set by a socket that can write to its connection: while its sender waits in ``take`` (``idle``)
    # on an empty queue, ``direct(item)`` takes the item without a trip through the queue and says
    # whether it did; else the item is queued. The API socket writes the event's pre-encoded frame
    # (app/realtime/wire.py); a page socket hands it to its host, which renders and writes it in a
    # callback of its own (app/web/live.py): the hub itself hands over events and bytes only.
    direct: Callable[[Any], bool] | None = None
    idle: bool = False
    evicted: bool = False
    gone: asyncio.Event = field(init=False)  # set on eviction: wakes a socket stuck in a blocked send
    evictions = 0  # class-wide count, reported by /ready

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue()  # bounded by offer(): queue_size + allowance items
        self.gone = asyncio.Event()

    def offer(self, item: Any) -> None:
        if self.evicted:
            return
        if self.idle and self.direct is not None and self.queue.empty():
            try:
                if self.direct(item):
                    return
            except Exception:  # one socket's failure must not stop the fan-out to the others
                logger.exception("direct send failed: the socket is closed and its client resyncs")
                self.evict()
                return
        if self.queue.qsize() >= self.queue_size + self.allowance:
            self.evict()
        else:
            self.queue.put_nowait(item)

    async def take(self) -> Any:
        """The next queued item; once the queue has run dry, the replay's allowance is spent."""
        if self.queue.empty():
            self.allowance = 0
        self.idle = True  # ``offer`` may hand an item to ``direct`` meanwhile
        try:
            return await self.queue.get()
        finally:
            self.idle = False

    def silence(self) -> None:
        """Take no more events and drop those queued (the socket is about to close)."""
        self.evicted = True
        while not self.queue.empty():
            self.queue.get_nowait()

    def evict(self) -> None:
        """Drop everything queued and leave only the eviction notice: memory stays bounded."""
        self.silence()
        ops_metrics.record_eviction(self.kind)
        Subscriber.evictions += 1
        self.queue.put_nowait(EVICTED)
        self.gone.set()


class Hub:
    def __init__(
        self,
        db: Database,
        bus: MemoryBus | RedisBus,
        *,
        replay_limit: int = 500,
        fill_limit: int = 5000,
        tail_interval: float = 5.0,
        degraded_interval: float = 1.0,
    ) -> None:
        self.db = db
        self.bus = bus
        self.replay_limit = replay_limit
        self.fill_limit = fill_limit
        self.tail_interval = tail_interval
        self.degraded_interval = degraded_interval
        self.subscribers: dict[int, set[Subscriber]] = defaultdict(set)
        self.last_seq: dict[int, int] = {}
        # Workspace id -> the last seq committed by this process: a page snapshot older than that
        # is never served in its grace period (read-your-writes on this instance).
        self.written_here: dict[int, int] = {}
        self._locks: dict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._tail_task: asyncio.Task[None] | None = None
        self.delivered = 0
        self.dispatched = 0  # distinct events handed to local sockets (each rendered at most once)
        self.filled = 0
        self.resyncs = 0
        self.link_listeners: list[Callable[[bool], None]] = []
        # Workspace id -> uuid (never changes): checks that a bus message is about our workspace.
        self._workspace_uuids: dict[int, str | None] = {}
        self.foreign_dropped = 0

    # ----------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        await self.bus.start(self.dispatch_remote, self._on_link)
        self._tail_task = asyncio.create_task(self._tail_forever(), name="athena-hub-tail")

    async def stop(self) -> None:
        if self._tail_task is not None:
            self._tail_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tail_task
        await self.bus.stop()

    @property
    def degraded(self) -> bool:
        return not self.bus.connected

    # --------------------------------------------------------------- publishing
    async def publish(self, events: list[CommittedEvent]) -> None:
        """Called by services after commit: send to the bus, and dispatch locally right away.

        One transaction's events of a workspace travel together: one bus message, one queue item
        per socket (a stop cascade is one batch, not 1,001 items)."""
        by_workspace: dict[int, list[EventMessage]] = defaultdict(list)
        for event in events:
            by_workspace[event.workspace_id].append(event.to_message())
        for workspace_id, messages in by_workspace.items():
            self.written_here[workspace_id] = max(self.written_here.get(workspace_id, 0), messages[-1].seq)
            self.bus.publish_many(workspace_id, messages)
            await self.dispatch_many(workspace_id, messages)

    # ---------------------------------------------------------------- subscribers
    async def register(self, sub: Subscriber) -> dict[int, int]:
        """Subscribe first (so nothing is missed), then return the baseline seq of each workspace."""
        sub.allowance = self.replay_limit  # what arrives while the socket replays is not its fault
        for ws in sub.workspace_ids:
            self.subscribers[ws].add(sub)
        missing = [ws for ws in sub.workspace_ids if ws not in self.last_seq]
        unknown = [ws for ws in sub.workspace_ids if ws not in self._workspace_uuids]
        if missing or unknown:
            async with self.db.read() as session:
                seqs = await current_seqs(session, missing) if missing else {}
                # Known before the first bus message, so checking one never waits on the database.
                if unknown:
                    found = await session.execute(select(Workspace.id, Workspace.uuid).where(Workspace.id.in_(unknown)))
                    self._workspace_uuids.update({ws_id: str(ws_uuid) for ws_id, ws_uuid in found})
            for ws in missing:
                self.last_seq.setdefault(ws, seqs.get(ws, 0))
        return {ws: self.last_seq[ws] for ws in sub.workspace_ids}

    def known_seqs(self, workspace_ids: list[int]) -> dict[int, int] | None:
        """The last seq delivered here for each workspace, without a query: None unless every one
        is watched by a local socket and the bus link is up. It may trail the database by a message
        in flight (or one the bus lost, until the next catch-up), never lead it: a page cached under
        these numbers is at least that recent and carries the cursor it was built at, from which its
        socket replays whatever came after."""
        if self.degraded:
            return None
        seqs = {}
        for ws in workspace_ids:
            seq = self.last_seq.get(ws)
            if seq is None or ws not in self.subscribers:
                return None
            seqs[ws] = seq
        return seqs

    def unregister(self, sub: Subscriber) -> None:
        for ws in sub.workspace_ids:
            subs = self.subscribers.get(ws)
            if subs is None:
                continue
            subs.discard(sub)
            if not subs:
                # Nobody here watches it any more: forget it so neither memory nor polling grows.
                del self.subscribers[ws]
                self.last_seq.pop(ws, None)
                self._locks.pop(ws, None)

    # ------------------------------------------------------------------ dispatch
    async def dispatch(self, workspace_id: int, message: EventMessage) -> None:
        await self.dispatch_many(workspace_id, [message])

    async def dispatch_remote(self, workspace_id: int, messages: list[EventMessage]) -> None:
        """A bus message from another instance. Its integer workspace id is only meaningful in our
        database, so it is trusted only when the message's workspace uuid is that workspace's: a
        second deployment (another database) publishing on the same Redis is dropped, never shown."""
        if workspace_id not in self.subscribers or not messages:
            return
        if workspace_id not in self._workspace_uuids:
            async with self.db.read() as session:
                found = await session.scalar(select(Workspace.uuid).where(Workspace.id == workspace_id))
            self._workspace_uuids[workspace_id] = str(found) if found is not None else None
        expected = self._workspace_uuids[workspace_id]
        if expected is None or any(m.workspace_uuid != expected for m in messages):
            self.foreign_dropped += 1
            if self.foreign_dropped == 1 or self.foreign_dropped % 1000 == 0:
                logger.warning(
                    "dropped %d bus message(s) naming another deployment's workspace (shared Redis?)",
                    self.foreign_dropped,
                )
            return
        await self.dispatch_many(workspace_id, messages)

    async def dispatch_many(self, workspace_id: int, messages: list[EventMessage]) -> None:
        """Deliver consecutive events of one workspace (seq order) as one queue item per socket."""
        if workspace_id not in self.subscribers or not messages:
            return
        async with self._locks[workspace_id]:
            last = self.last_seq.get(workspace_id)
            if last is None:
                return
            fresh = [m for m in messages if m.seq > last]
            if not fresh:
                return
            first = fresh[0].seq
            if first > last + 1:
                await self._fill(workspace_id, last, first - 1)
                last = self.last_seq.get(workspace_id, last)
                fresh = [m for m in fresh if m.seq > last]
            # A hole inside the batch (never expected: one transaction's seqs are consecutive) is
            # found by the next event or the periodic catch-up, like any other gap.
            self._deliver([PreparedEvent(workspace_id, m) for m in fresh])

    async def catch_up(self, workspace_ids: list[int] | None = None) -> None:
        """Compare each watched workspace's counter with what we delivered; replay the difference."""
        ids = [ws for ws in (workspace_ids or list(self.subscribers)) if ws in self.subscribers]
        if not ids:
            return
        async with self.db.read() as session:
            seqs = await current_seqs(session, ids)
        for ws, db_seq in seqs.items():
            if db_seq > self.last_seq.get(ws, db_seq):
                async with self._locks[ws]:
                    last = self.last_seq.get(ws)
                    if last is not None and db_seq > last:
                        await self._fill(ws, last, db_seq)

    async def _fill(self, workspace_id: int, after: int, up_to: int) -> None:
        # One transaction may commit more events than a client's replay (a stop cascade: 1,001): the
        # hub's own gap fill goes further before it gives up and tells its sockets to resync.
        if up_to - after > self.fill_limit:
            self.resyncs += 1
            for sub in list(self.subscribers.get(workspace_id, ())):
                sub.offer(Resync(workspace_id, "gap too large", up_to))
            self.last_seq[workspace_id] = up_to
            return
        async with self.db.read() as session:
            messages = await load_events(session, workspace_id, after, up_to=up_to, limit=self.fill_limit)
        self.filled += len(messages)
        self._deliver([PreparedEvent(workspace_id, m) for m in messages])

    def _deliver(self, prepared: list[PreparedEvent]) -> None:
        if not prepared:
            return
        ws = prepared[0].workspace_id
        self.last_seq[ws] = max(self.last_seq.get(ws, 0), prepared[-1].seq)
        self.dispatched += len(prepared)
        item: PreparedEvent | Batch = prepared[0] if len(prepared) == 1 else Batch(ws, prepared)
        for sub in list(self.subscribers.get(ws, ())):
            sub.offer(item)
            self.delivered += len(prepared)

    # ------------------------------------------------------------- supervision
    async def _on_link(self, up: bool) -> None:
        for listener in self.link_listeners:
            listener(up)
        if up:
            await self.catch_up()

    async def _tail_forever(self) -> None:
        failures = FailureLog(logger, "periodic catch-up")  # a database outage: one line, not one per pass
        while True:
            await asyncio.sleep(self.degraded_interval if self.degraded else self.tail_interval)
            try:
                await self.catch_up()
            except Exception as exc:
                failures.failed(exc)
            else:
                failures.succeeded()

    def status(self) -> dict[str, Any]:
        return {
            **self.bus.status(),
            "watched_workspaces": len(self.subscribers),
            "sockets": len({id(s) for subs in self.subscribers.values() for s in subs}),
            "delivered": self.delivered,
            "events_dispatched": self.dispatched,
            "renders": dict(PreparedEvent.renders_by_kind),
            "frames_written_directly": Wire.written,
            "filled_from_database": self.filled,
            "resyncs": self.resyncs,
            "evicted": Subscriber.evictions,
        }
