"""The hub in-process (embedded bus): ordering, gap filling from the database, eviction, one render per event."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from app.domain.events.message import decode
from app.realtime.hub import EVICTED, Subscriber
from app.realtime.prepared import Batch, PreparedEvent, events_of
from app.realtime.wire import text_frame
from app.services import Services
from app.web.fragments import Fragments
from app.web.live import add_event, frames_for
from app.web.page_frames import PageUpdate, compose, lone_row_frame
from app.web.pages.executions.live import ExecutionsLive
from app.web.pages.executions.view import ExecutionView
from app.web.pages.live import PageState
from tests.conftest import World, create_execution
from tests.events import prepared_event


async def _workspace_id(services: Services, world: World, key: str = "A") -> int:
    user = await services.accounts.authenticate_token(world.operator_a.token)
    assert user is not None
    return user.workspace_by_uuid(uuid.UUID(world.ws[key])).workspace_id


def _drain(sub: Subscriber) -> list[Any]:
    """Queued items, a batch (one transaction's events, or a gap filled from the database) flattened."""
    items: list[Any] = []
    while not sub.queue.empty():
        item = sub.queue.get_nowait()
        items.extend(events_of(item) if isinstance(item, Batch | PreparedEvent) else [item])
    return items


async def test_committed_changes_reach_subscribers_in_seq_order(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    ws_id = await _workspace_id(services, world)
    sub = Subscriber(user_id=1, workspace_ids=frozenset({ws_id}))
    baseline = await services.hub.register(sub)
    await asyncio.gather(
        *(create_execution(client, world.operator_a, world.workflows["Invoice approval"]) for _ in range(10))
    )
    seqs = [item.seq for item in _drain(sub)]
    assert seqs == list(range(baseline[ws_id] + 1, baseline[ws_id] + 11))


async def test_a_lost_message_is_filled_from_the_database(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    """Redis is at-most-once: when seq N+2 arrives after N, the hub replays N+1 from the database first."""
    ws_id = await _workspace_id(services, world)
    sub = Subscriber(user_id=1, workspace_ids=frozenset({ws_id}))
    await services.hub.register(sub)
    services.hub.subscribers.pop(ws_id)  # deaf while two changes commit...
    await create_execution(client, world.operator_a, world.workflows["Invoice approval"])
    second = await create_execution(client, world.operator_a, world.workflows["Invoice approval"])
    services.hub.subscribers[ws_id] = {sub}
    third = await create_execution(client, world.operator_a, world.workflows["Invoice approval"])
    items = _drain(sub)
    assert [i.seq for i in items] == [1, 2, 3]
    assert [i.message["execution_uuid"] for i in items[1:]] == [second["uuid"], third["uuid"]]
    assert services.hub.filled == 2


async def test_periodic_catch_up_finds_changes_no_message_announced(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    ws_id = await _workspace_id(services, world)
    sub = Subscriber(user_id=1, workspace_ids=frozenset({ws_id}))
    await services.hub.register(sub)
    services.hub.subscribers.pop(ws_id)
    created = await create_execution(client, world.operator_a, world.workflows["Invoice approval"])
    services.hub.subscribers[ws_id] = {sub}
    await services.hub.catch_up()
    assert [i.message["execution_uuid"] for i in _drain(sub)] == [created["uuid"]]


async def test_slow_subscriber_is_evicted_with_bounded_memory(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    ws_id = await _workspace_id(services, world)
    slow = Subscriber(user_id=1, workspace_ids=frozenset({ws_id}), queue_size=3)
    healthy = Subscriber(user_id=2, workspace_ids=frozenset({ws_id}))
    await services.hub.register(slow)
    await services.hub.register(healthy)
    # While its socket replays, what piles up is not the client's fault: up to the replay's size.
    for _ in range(4):
        await create_execution(client, world.operator_a, world.workflows["Invoice approval"])
    assert not slow.evicted and slow.queue.qsize() == 4
    _drain(slow)
    taking = asyncio.create_task(slow.take())  # live now: its queue ran dry, the allowance is spent
    await asyncio.sleep(0)
    for _ in range(6):
        await create_execution(client, world.operator_a, world.workflows["Invoice approval"])
    assert slow.evicted
    assert (await taking) != EVICTED and _drain(slow) == [EVICTED]
    assert len(_drain(healthy)) == 10


async def test_a_foreign_workspace_event_never_reaches_a_subscriber(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    ws_a = await _workspace_id(services, world, "A")
    sub = Subscriber(user_id=1, workspace_ids=frozenset({ws_a}))
    await services.hub.register(sub)
    await create_execution(client, world.operator_b, world.workflows["Invoice sync"])
    assert _drain(sub) == []


async def _status_change(
    client: httpx.AsyncClient, app: Any, services: Services, world: World, seq: int
) -> tuple[ExecutionView, int, dict[str, Any], Fragments, PreparedEvent]:
    """A running execution of workspace A, its status change as a prepared event at ``seq``, the
    list view of viewer A it shows in, and the app's fragments."""
    user = await services.accounts.authenticate_token(world.viewer_a.token)
    assert user is not None
    view = ExecutionView.from_query(user, {"workspace": world.ws["A"]})
    ws_id = view.workspace_ids[0]
    created = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="running")
    event = prepared_event(ws_id, seq, "execution.status_changed", created)
    return view, ws_id, created, Fragments(app.template_engine.engine), event


async def test_each_event_is_rendered_once_whatever_the_number_of_pages(
    client: httpx.AsyncClient, app: Any, services: Services, world: World
) -> None:
    view, ws_id, created, fragments, prepared = await _status_change(client, app, services, world, 99)
    before = PreparedEvent.renders
    pages = [PageState(page=ExecutionsLive(view, {created["uuid"]}), uuid_of={ws_id: world.ws["A"]}) for _ in range(50)]
    frames = [frames_for(prepared, fragments, state) for state in pages]
    assert PreparedEvent.renders - before == 2  # the row and the cursor, once each
    assert all(f == frames[0] for f in frames)
    assert f'id="row-{created["uuid"]}"' in frames[0][0] and 'hx-swap-oob="true"' in frames[0][0]


async def test_a_lone_row_update_is_the_composed_frame_encoded_once_for_every_page(
    client: httpx.AsyncClient, app: Any, services: Services, world: World
) -> None:
    """The page socket's fast path (``lone_row_frame``) sends what ``compose`` would, byte for byte,
    and only for a row the page shows: a page without that row gets the banner instead."""
    view, ws_id, created, fragments, prepared = await _status_change(client, app, services, world, 98)

    def folded(visible: set[str]) -> PageUpdate:
        update = PageUpdate()
        add_event(
            prepared, fragments, PageState(page=ExecutionsLive(view, visible), uuid_of={ws_id: world.ws["A"]}), update
        )
        return update

    before = PreparedEvent.renders_by_kind["page-frame"]
    ready = [lone_row_frame(prepared, folded({created["uuid"]}), fragments) for _ in range(20)]
    assert PreparedEvent.renders_by_kind["page-frame"] - before == 1 and all(r is ready[0] for r in ready)
    composed = compose(folded({created["uuid"]}), fragments)
    assert len(composed) == 1 and ready[0] == text_frame(composed[0].encode())
    unseen = folded(set())
    assert lone_row_frame(prepared, unseen, fragments) is None and "banner" in unseen.parts


async def test_a_bus_message_naming_another_deployments_workspace_is_dropped(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    """Two deployments on one Redis: integer workspace ids repeat across databases, so a message is
    delivered only when its workspace uuid is the local workspace's with that id."""
    ws_id = await _workspace_id(services, world)
    sub = Subscriber(user_id=1, workspace_ids=frozenset({ws_id}))
    baseline = await services.hub.register(sub)
    created = await create_execution(client, world.operator_a, world.workflows["Invoice approval"])
    ours = _drain(sub)
    assert [e.seq for e in ours] == [baseline[ws_id] + 1]
    message = dict(ours[0].message)
    foreign = message | {"seq": message["seq"] + 1, "workspace_uuid": str(uuid.uuid4())}
    foreign["execution"] = dict(message["execution"]) | {"workflow_name": "someone else's"}
    # What the bus hands over: the message decoded into its type (app/realtime/bus.py).
    await services.hub.dispatch_remote(ws_id, [decode(foreign)])
    assert _drain(sub) == [] and services.hub.foreign_dropped == 1
    # The same message with our workspace's uuid is delivered (the check is not a blanket refusal).
    await services.hub.dispatch_remote(ws_id, [decode(foreign | {"workspace_uuid": world.ws["A"]})])
    assert [e.message["execution"]["uuid"] for e in _drain(sub)] == [created["uuid"]]
