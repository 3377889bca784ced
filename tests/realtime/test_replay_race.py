"""Item 3: live events arriving while a socket's replay query runs, with Hypothesis choosing the
interleaving: how many events commit before the connect, while the replay query runs, while the
replay is being sent and after it, and how the bus delivers each one (late, twice, or never).
Whatever it picks, the socket sends every event after ``since`` exactly once, in seq order.

The real replay (``_replay``) and live sender (``ApiStream``) of ``/api/v1/ws`` run against the hub
and the database; only the socket and its direct wire are recorders (the wire taking frames or not, as
Hypothesis decides), and the bus is played by the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain.events.recorder import CommittedEvent
from app.domain.events.replay import current_seqs
from app.domain.executions.schemas import ExecutionCreate
from app.realtime.api_socket import ApiStream, _replay
from app.realtime.hub import Subscriber
from app.services import Services
from tests.conftest import World


class RecordingBus:
    """Stands in for the hub as the services' publisher: the test decides what reaches the hub."""

    def __init__(self) -> None:
        self.pending: list[dict[str, Any]] = []

    async def publish(self, events: list[CommittedEvent]) -> None:
        self.pending += [e.to_message() for e in events]


class RecordingSocket:
    def __init__(self, on_send: Any) -> None:
        self.sent: list[dict[str, Any]] = []
        self.on_send = on_send

    async def send_text(self, text: str) -> None:
        await self.on_send(len(self.sent))
        self.sent.append(json.loads(text))


class RecordingWire:
    """The socket's direct line (app/realtime/wire.py), ready or not in turn as the plan says; what it
    takes lands in the same list as what the socket sends, so their order is checked together."""

    def __init__(self, socket: RecordingSocket, readiness: list[bool]) -> None:
        self.socket, self.readiness, self.turn = socket, readiness or [True], 0

    def ready(self) -> bool:
        self.turn += 1
        return self.readiness[self.turn % len(self.readiness)]

    def write(self, frame: bytes) -> None:
        head = 2 + {126: 2, 127: 8}.get(frame[1], 0)
        self.socket.sent.append(json.loads(frame[head:]))


class HookedDatabase:
    """The hub's database, running ``hook`` once when the first read session opens (the replay query)."""

    def __init__(self, db: Any, hook: Any) -> None:
        self.db, self.hook, self.fired = db, hook, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[Any]:
        if not self.fired:
            self.fired = True
            await self.hook()
        async with self.db.read() as session:
            yield session


# How the bus treats one message: delivered now, held back until the next delivery, twice, or lost.
FATES = st.sampled_from(["now", "late", "twice", "lost"])
PLANS = st.fixed_dictionaries(
    {
        "before": st.integers(0, 6),
        "missed": st.integers(0, 6),  # of those, how many the client has not seen (since = S0 + before - missed)
        "during_query": st.integers(0, 4),
        "during_send": st.integers(0, 4),
        "send_index": st.integers(0, 5),  # which replayed frame the mid-send commits happen at
        "after": st.integers(0, 4),
        "fates": st.lists(FATES, min_size=20, max_size=20),
        "wire": st.none() | st.lists(st.booleans(), min_size=1, max_size=8),  # None: no direct line
    }
)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=PLANS)
async def test_replay_racing_live_events_delivers_each_once_in_order(
    services: Services, world: World, plan: dict[str, Any]
) -> None:
    hub, bus = services.hub, RecordingBus()
    services.executions.publisher = bus
    user = await services.accounts.authenticate_token(world.operator_a.token)
    assert user is not None
    access = user.workspace_by_uuid(uuid.UUID(world.ws["A"]))
    ws = access.workspace_id
    body = ExecutionCreate(workflow_uuid=uuid.UUID(world.workflows["Invoice approval"]))
    fates = iter(plan["fates"])
    held: list[dict[str, Any]] = []

    async def commit(n: int) -> None:
        for _ in range(n):
            await services.executions.create(user, body)

    async def deliver() -> None:
        """Hand the bus' pending messages to the hub, each with its fate."""
        messages, bus.pending = held + bus.pending, []
        held.clear()
        for message in messages:
            fate = next(fates, "now")
            if fate == "late":
                held.append(message)
            elif fate != "lost":
                for _ in range(2 if fate == "twice" else 1):
                    await hub.dispatch(ws, message)

    async def commit_and_deliver(n: int) -> None:
        await commit(n)
        await deliver()

    await commit(plan["before"])
    bus.pending.clear()  # published before anyone listened: gone
    async with services.db.read() as session:
        s0 = (await current_seqs(session, [ws]))[ws]
    since = max(0, s0 - plan["missed"])

    sub = Subscriber(user_id=user.id, workspace_ids=frozenset({ws}))
    baseline = await hub.register(sub)

    mid_send = {"done": False}

    async def on_send(index: int) -> None:
        if index == plan["send_index"] and not mid_send["done"]:
            mid_send["done"] = True
            await commit_and_deliver(plan["during_send"])

    socket = RecordingSocket(on_send)
    real_db = hub.db
    hub.db = HookedDatabase(real_db, lambda: commit_and_deliver(plan["during_query"]))  # type: ignore[assignment]
    try:
        last_sent = await _replay(socket, hub, {ws: world.ws["A"]}, baseline, since)  # type: ignore[arg-type]
    finally:
        hub.db = real_db
    if not mid_send["done"]:  # the replay was shorter: those commits happen right after it
        mid_send["done"] = True
        await commit_and_deliver(plan["during_send"])
    wire = RecordingWire(socket, plan["wire"]) if plan["wire"] is not None else None
    stream = ApiStream(socket, sub, {ws: world.ws["A"]}, last_sent, False, wire)  # type: ignore[arg-type]
    live = asyncio.create_task(stream.run())
    await commit_and_deliver(plan["after"])
    await deliver()  # the late ones arrive at last (lost ones never do)
    await hub.catch_up()  # the hub's periodic check finds what the bus lost
    async with services.db.read() as session:
        final = (await current_seqs(session, [ws]))[ws]
    try:
        async with asyncio.timeout(10):
            while (socket.sent[-1]["seq"] if socket.sent else since) < final:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
    finally:
        live.cancel()
        hub.unregister(sub)
        services.executions.publisher = hub
    assert [m["seq"] for m in socket.sent] == list(range(since + 1, final + 1))
