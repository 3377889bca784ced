"""Presence: "Ana is reviewing this", "Bo is stopping this", live on the pages.

A page sends a small JSON text frame on its own socket (``/ws/executions``) when its user opens a
review or the stop dialog, refreshes it every ~10 s while open, and clears it when closed::

    {"presence": {"target": "approval" | "execution", "uuid": "...", "activity": "reviewing" | "stopping",
                  "state": "on" | "off"}}

The server checks the target belongs to one of the user's workspaces (else ignores the frame),
keeps the entry for ``ttl`` seconds after its last refresh, and pushes the new text to every other
page socket of that workspace (tenant rules as for events). Across instances entries travel on
their own channel of the event bus (``RedisBus.listen``/``publish_side``: the events' subscription,
heartbeat and reconnect) as ephemeral messages: they are NOT events (no seq, never stored, never
replayed) and they decide nothing; the database still decides who wins a decision or a stop.

What a page socket is offered is a ``PresenceNote`` (plain data: the new text of each target); the
page renders it (app/web/fragments.py: one ``<i class="presence-msg">`` per target, appended to
``#presence-feed``; static/app.js applies it to every ``[data-presence-approval]`` /
``[data-presence-execution]`` span for that uuid).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid as uuid_lib
from dataclasses import asdict, dataclass

from sqlalchemy import select

from app.db.engine import Database
from app.db.models import WorkflowApproval, WorkflowExecution
from app.lib.identity import CurrentUser
from app.realtime.hub import Hub, Subscriber

logger = logging.getLogger("athena.realtime.presence")

CHANNEL = "athena:presence"  # outside the events' athena:workspace:* pattern
ACTIVITIES = {"reviewing": "reviewing", "stopping": "stopping"}
TARGETS = ("approval", "execution")
MAX_PER_SOCKET = 50
MAX_FRAME = 1024


@dataclass(frozen=True)
class PresenceNote:
    """The presence text of some targets as one viewer sees it: ``(kind, uuid, text)`` each, sorted;
    an empty text clears the target. Frozen and hashable: the page renders each distinct note once."""

    targets: tuple[tuple[str, str, str], ...]


@dataclass
class Entry:
    """One user doing one thing to one target. ``execution_uuid``: the execution a review belongs to
    (its row shows the review's presence too); for an execution target, the target itself."""

    workspace_id: int
    target: str
    uuid: str
    execution_uuid: str
    user_id: int
    name: str
    activity: str
    origin: str = ""
    expires: float = 0.0  # monotonic, local to each instance

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.target, self.uuid, self.user_id)


def parse_frame(text: str) -> dict[str, str] | None:
    """The presence request in a client frame, or None (anything else is ignored, never an error)."""
    if len(text) > MAX_FRAME:
        return None
    try:
        body = json.loads(text)
    except ValueError:
        return None
    p = body.get("presence") if isinstance(body, dict) else None
    if not isinstance(p, dict):
        return None
    target, activity, state = p.get("target"), p.get("activity"), p.get("state")
    if target not in TARGETS or state not in ("on", "off") or (state == "on" and activity not in ACTIVITIES):
        return None
    try:
        uuid = str(uuid_lib.UUID(str(p.get("uuid"))))
    except ValueError:
        return None
    return {"target": target, "uuid": uuid, "activity": str(activity or ""), "state": state}


def describe(entries: list[Entry]) -> str:
    """ "Ana is reviewing this", "Ana and Bo are reviewing this · Cy is stopping this"."""
    parts = []
    for activity in ("stopping", "reviewing"):
        names = sorted({e.name for e in entries if e.activity == activity})
        if not names:
            continue
        who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        parts.append(f"{who} {'is' if len(names) == 1 else 'are'} {activity} this")
    return " · ".join(parts)


class PresenceBoard:
    """Who is doing what right now, per instance (local and remote entries), with expiry."""

    def __init__(self, hub: Hub, db: Database, *, ttl: float = 30.0, sweep: float = 2.0) -> None:
        self.hub = hub
        self.db = db
        self.ttl = ttl
        self.sweep_every = sweep
        self.instance_id = uuid_lib.uuid4().hex
        self.entries: dict[tuple[str, str, int], Entry] = {}
        self.by_socket: dict[int, set[tuple[str, str, int]]] = {}
        self._workspace_of: dict[tuple[str, str], tuple[int, str]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self.sent = 0

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        self._tasks.append(asyncio.create_task(self._sweep_forever(), name="athena-presence-sweep"))
        self.hub.bus.listen(CHANNEL, self._on_remote)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []

    # ------------------------------------------------------------ from a browser
    async def receive(self, sub: Subscriber, user: CurrentUser, text: str) -> None:
        """A text frame from a page socket: set, refresh or clear one presence of its user. Never
        raises: a failure here must not close the page's socket."""
        try:
            await self._receive(sub, user, text)
        except Exception:
            logger.exception("presence frame failed")

    async def _receive(self, sub: Subscriber, user: CurrentUser, text: str) -> None:
        request = parse_frame(text)
        if request is None:
            return
        mine = self.by_socket.setdefault(id(sub), set())
        key = (request["target"], request["uuid"], user.id)
        if request["state"] == "off":
            entry = self.entries.get(key)
            mine.discard(key)
            if entry is not None and entry.origin == self.instance_id:
                self._drop(entry, publish=True)
            return
        if key not in mine and len(mine) >= MAX_PER_SOCKET:
            return
        where = await self._resolve(request["target"], request["uuid"], user)
        if where is None:  # unknown, deleted or foreign: nothing to show to anyone
            return
        workspace_id, execution_uuid = where
        entry = Entry(
            workspace_id=workspace_id,
            target=request["target"],
            uuid=request["uuid"],
            execution_uuid=execution_uuid,
            user_id=user.id,
            name=user.name or user.email.split("@")[0],
            activity=request["activity"],
            origin=self.instance_id,
        )
        mine.add(key)
        self._apply(entry, publish=True)

    def socket_closed(self, sub: Subscriber) -> None:
        """The page left: whatever it showed ends now, not ``ttl`` later."""
        for key in self.by_socket.pop(id(sub), set()):
            entry = self.entries.get(key)
            if entry is not None and entry.origin == self.instance_id:
                self._drop(entry, publish=True)

    def snapshot(self, sub: Subscriber) -> PresenceNote | None:
        """Current presences in the socket's workspaces (others only), for a page that just connected."""
        targets = {t for e in self.entries.values() if e.workspace_id in sub.workspace_ids for t in self._targets_of(e)}
        return self._note(targets, sub.user_id) if targets else None

    # ------------------------------------------------------------------ internals
    async def _resolve(self, target: str, uuid: str, user: CurrentUser) -> tuple[int, str] | None:
        cached = self._workspace_of.get((target, uuid))
        if cached is None:
            wanted = uuid_lib.UUID(uuid)
            async with self.db.read() as session:
                if target == "approval":
                    stmt = (
                        select(WorkflowApproval.workspace_id, WorkflowExecution.uuid)
                        .join(WorkflowExecution, WorkflowExecution.id == WorkflowApproval.execution_id)
                        .where(WorkflowApproval.uuid == wanted, WorkflowExecution.deleted_at.is_(None))
                    )
                else:
                    stmt = select(WorkflowExecution.workspace_id, WorkflowExecution.uuid).where(
                        WorkflowExecution.uuid == wanted, WorkflowExecution.deleted_at.is_(None)
                    )
                row = (await session.execute(stmt)).one_or_none()
            if row is None:
                return None
            cached = (int(row[0]), str(row[1]))
            if len(self._workspace_of) > 10_000:
                self._workspace_of.clear()
            self._workspace_of[(target, uuid)] = cached
        return cached if cached[0] in user.access else None

    @staticmethod
    def _targets_of(entry: Entry) -> set[tuple[str, str]]:
        return {(entry.target, entry.uuid), ("execution", entry.execution_uuid)}

    def _apply(self, entry: Entry, *, publish: bool) -> None:
        entry.expires = time.monotonic() + self.ttl
        old = self.entries.get(entry.key)
        self.entries[entry.key] = entry
        if publish:
            self._publish("set", entry)
        if old is None or old.activity != entry.activity:
            self._broadcast(entry.workspace_id, self._targets_of(entry))

    def _drop(self, entry: Entry, *, publish: bool) -> None:
        if self.entries.pop(entry.key, None) is None:
            return
        if publish:
            self._publish("clear", entry)
        self._broadcast(entry.workspace_id, self._targets_of(entry))

    def _text(self, target: tuple[str, str], viewer_id: int) -> str:
        kind, uuid = target
        present = [
            e
            for e in self.entries.values()
            if e.user_id != viewer_id
            and ((e.target, e.uuid) == target or (kind == "execution" and e.execution_uuid == uuid))
        ]
        return describe(present)

    def _note(self, targets: set[tuple[str, str]], viewer_id: int) -> PresenceNote:
        return PresenceNote(tuple((kind, uuid, self._text((kind, uuid), viewer_id)) for kind, uuid in sorted(targets)))

    def _broadcast(self, workspace_id: int, targets: set[tuple[str, str]]) -> None:
        """Each other page socket of the workspace gets the new text (computed once per viewer kind)."""
        rendered: dict[int | None, PresenceNote] = {}
        involved = {e.user_id for e in self.entries.values() if e.workspace_id == workspace_id}
        for sub in list(self.hub.subscribers.get(workspace_id, ())):
            if sub.kind != "page":
                continue
            viewer = sub.user_id if sub.user_id in involved else None  # others see one shared rendering
            if viewer not in rendered:
                rendered[viewer] = self._note(targets, sub.user_id)
            sub.offer(rendered[viewer])
            self.sent += 1

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_every)
            now = time.monotonic()
            for entry in [e for e in self.entries.values() if e.expires < now]:
                self._drop(entry, publish=False)  # every instance expires on its own clock

    # ------------------------------------------------------- other instances
    def _publish(self, op: str, entry: Entry) -> None:
        message = json.dumps({"origin": self.instance_id, "op": op, "entry": asdict(entry) | {"expires": 0}})
        self.hub.bus.publish_side(CHANNEL, message)

    def _on_remote(self, raw: bytes | str) -> None:
        try:
            body = json.loads(raw)
            if body.get("origin") == self.instance_id:
                return
            entry = Entry(**body["entry"])
        except (ValueError, TypeError, KeyError):
            return
        if body.get("op") == "set":
            self._apply(entry, publish=False)
        else:
            local = self.entries.get(entry.key)
            if local is not None:
                self._drop(local, publish=False)
