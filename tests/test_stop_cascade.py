"""POST /workflow-executions/{uuid}/stop: the cascade over descendants and waiting ancestors.

Related checks share one test (and one fresh database, which costs ~0.4 s on PostgreSQL); each
``check_*`` helper names what failed in the traceback.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from app.services import Services
from tests.conftest import (
    API,
    World,
    assert_gapless,
    create_execution,
    get_execution,
    patch_execution,
    read_events,
    stop_execution,
)


@dataclass
class Tree:
    """
    G  running            (parent of R, not waiting: the climb stops below it)
    └─ R  waiting         (topmost waiting ancestor of X)
       ├─ P  waiting      (X's parent)
       │  ├─ X  running   <- stopped
       │  │  ├─ X1  running
       │  │  │  └─ X11  pending
       │  │  ├─ X2  completed
       │  │  │  └─ X21  running   (stoppable below a finished one)
       │  │  └─ X3  failed
       │  └─ S  paused     (X's sibling: in the subtree of the cancelled R)
       └─ Q  running
          └─ Q1  completed
    O  waiting            (an unrelated tree)
    └─ O1 running
    """

    uuids: dict[str, str]

    def __getattr__(self, name: str) -> str:
        try:
            return self.uuids[name]
        except KeyError:
            raise AttributeError(name) from None


SHAPE = [
    ("G", None, "running"),
    ("R", "G", "waiting"),
    ("P", "R", "waiting"),
    ("X", "P", "running"),
    ("X1", "X", "running"),
    ("X11", "X1", "pending"),
    ("X2", "X", "completed"),
    ("X21", "X2", "running"),
    ("X3", "X", "failed"),
    ("S", "P", "paused"),
    ("Q", "R", "running"),
    ("Q1", "Q", "completed"),
    ("O", None, "waiting"),
    ("O1", "O", "running"),
]


async def build_tree(client: httpx.AsyncClient, world: World, shape: list[tuple[str, str | None, str]]) -> Tree:
    uuids: dict[str, str] = {}
    wf = world.workflows["Invoice approval"]
    for name, parent, status in shape:
        body = {"status": status}
        if parent:
            body["parent_execution_uuid"] = uuids[parent]
        created = await create_execution(client, world.operator_a, wf, **body)
        assert created["parent_execution_uuid"] == (uuids[parent] if parent else None)
        uuids[name] = created["uuid"]
    return Tree(uuids)


async def statuses(client: httpx.AsyncClient, world: World, tree: Tree) -> dict[str, dict]:
    return {name: await get_execution(client, world.viewer_a, u) for name, u in tree.uuids.items()}


async def request_approval(client: httpx.AsyncClient, world: World, execution_uuid: str, title: str) -> dict:
    response = await client.post(
        f"{API}/workflow-approvals",
        json={"execution_uuid": execution_uuid, "node_id": "review", "title": title},
        headers=world.operator_a.headers,
    )
    assert response.status_code == 201, response.text
    return response.json()["data"]


async def test_stop_cascades_to_descendants_waiting_ancestors_and_their_subtree(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    tree = await build_tree(client, world, SHAPE)
    approvals = {
        name: await request_approval(client, world, getattr(tree, name), f"review {name}") for name in ("P", "R", "O")
    }
    before = await statuses(client, world, tree)
    events_before = await read_events(services, world.ws["A"])

    response = await stop_execution(client, world.operator_a, tree.X)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["meta"]["stopped"] is True
    assert body["data"]["uuid"] == tree.X and body["data"]["status"] == "cancelled"

    cancelled = {"X", "X1", "X11", "X21", "P", "S", "R", "Q"}
    untouched = {"G", "X2", "X3", "Q1", "O", "O1"}
    assert set(body["meta"]["cascade_cancelled"]) == {tree.uuids[n] for n in cancelled - {"X"}}
    assert len(body["meta"]["cascade_cancelled"]) == len(cancelled) - 1

    after = await statuses(client, world, tree)
    for name in cancelled:
        assert after[name]["status"] == "cancelled", name
        assert after[name]["is_finished"] is True
        assert after[name]["stopped_at"] is not None
        assert after[name]["running_node"] is None
        assert after[name]["version"] == before[name]["version"] + 1, name
    for name in untouched:
        assert after[name] == before[name], name
    assert after["X11"]["started_at"] is None  # cancelled while pending: never started

    # Exactly one event per cancelled execution, gapless, the target recorded as stopped.
    new = (await read_events(services, world.ws["A"]))[len(events_before) :]
    assert sorted(e.execution_uuid for e in new) == sorted(tree.uuids[n] for n in cancelled)
    assert {e.execution_uuid: e.type for e in new}[tree.X] == "execution.stopped"
    assert all(e.type == "execution.cancelled" for e in new if e.execution_uuid != tree.X)
    assert all(e.status == "cancelled" for e in new)
    assert_gapless(await read_events(services))

    # Pending approvals of cancelled executions are cancelled; others stay pending.
    listed = await client.get(f"{API}/workflow-approvals", headers=world.viewer_a.headers)
    by_uuid = {a["uuid"]: a for a in listed.json()["data"]}
    assert by_uuid[approvals["P"]["uuid"]]["status"] == "cancelled"
    assert by_uuid[approvals["R"]["uuid"]]["status"] == "cancelled"
    assert by_uuid[approvals["P"]["uuid"]]["decided_at"] is not None
    assert by_uuid[approvals["O"]["uuid"]]["status"] == "pending"
    r = await get_execution(client, world.viewer_a, tree.R, with_count="workflowApprovals,pendingWorkflowApprovals")
    assert r["workflow_approvals_count"] == 1 and r["pending_workflow_approvals_count"] == 0


async def check_stop_does_not_climb_past_a_parent_that_is_not_waiting(client: httpx.AsyncClient, world: World) -> None:
    tree = await build_tree(
        client,
        world,
        [("A", None, "waiting"), ("B", "A", "running"), ("C", "B", "running"), ("D", "C", "paused")],
    )
    response = await stop_execution(client, world.operator_a, tree.C)
    assert response.status_code == 200
    assert response.json()["meta"]["cascade_cancelled"] == [tree.D]
    after = await statuses(client, world, tree)
    assert {n: e["status"] for n, e in after.items()} == {
        "A": "waiting",
        "B": "running",
        "C": "cancelled",
        "D": "cancelled",
    }


async def check_stopping_a_root_cancels_its_whole_stoppable_subtree(client: httpx.AsyncClient, world: World) -> None:
    tree = await build_tree(
        client,
        world,
        [("A", None, "paused"), ("B", "A", "waiting"), ("C", "B", "completed"), ("D", "B", "pending")],
    )
    response = await stop_execution(client, world.operator_a, tree.A)
    assert response.status_code == 200
    assert sorted(response.json()["meta"]["cascade_cancelled"]) == sorted([tree.B, tree.D])
    after = await statuses(client, world, tree)
    assert [after[n]["status"] for n in "ABCD"] == ["cancelled", "cancelled", "completed", "cancelled"]


async def check_every_stoppable_status_can_be_stopped(client: httpx.AsyncClient, world: World) -> None:
    for status in ("pending", "running", "paused", "waiting"):
        execution = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status=status)
        response = await stop_execution(client, world.operator_a, execution["uuid"])
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["meta"] == {"stopped": True, "cascade_cancelled": []}
        assert body["data"]["status"] == "cancelled" and body["data"]["is_finished"] is True
        assert body["data"]["version"] == execution["version"] + 1
        assert body["data"]["stopped_at"] is not None


async def check_stopping_a_cancelled_execution_is_a_no_op(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    execution = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="running")
    first = await stop_execution(client, world.operator_a, execution["uuid"])
    assert first.json()["meta"]["stopped"] is True
    events = await read_events(services, world.ws["A"])
    again = await stop_execution(client, world.operator_a, execution["uuid"])
    assert again.status_code == 200
    assert again.json()["meta"] == {"stopped": False, "cascade_cancelled": []}
    assert again.json()["data"]["version"] == first.json()["data"]["version"]
    assert again.json()["data"]["stopped_at"] == first.json()["data"]["stopped_at"]
    assert await read_events(services, world.ws["A"]) == events


async def check_stopping_a_finished_execution_is_a_conflict(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    for status in ("completed", "failed"):
        tree = await build_tree(client, world, [("F", None, status), ("C", "F", "running")])
        before = await statuses(client, world, tree)
        events = await read_events(services, world.ws["A"])
        response = await stop_execution(client, world.operator_a, tree.F)
        assert response.status_code == 409
        assert response.json()["current_status"] == status
        assert response.json()["requested_status"] == "cancelled"
        assert await statuses(client, world, tree) == before  # the running child is not touched either
        assert await read_events(services, world.ws["A"]) == events


async def check_a_child_created_after_a_stop_is_not_affected(client: httpx.AsyncClient, world: World) -> None:
    tree = await build_tree(client, world, [("P", None, "running")])
    await stop_execution(client, world.operator_a, tree.P)
    late = await create_execution(
        client, world.operator_a, world.workflows["Invoice approval"], status="running", parent_execution_uuid=tree.P
    )
    again = await stop_execution(client, world.operator_a, tree.P)
    assert again.json()["meta"]["stopped"] is False
    assert (await get_execution(client, world.viewer_a, late["uuid"]))["status"] == "running"


async def check_a_stopped_execution_refuses_further_transitions(client: httpx.AsyncClient, world: World) -> None:
    execution = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="waiting")
    await stop_execution(client, world.operator_a, execution["uuid"])
    response = await patch_execution(client, world.operator_a, execution["uuid"], status="running")
    assert response.status_code == 409
    assert response.json()["current_status"] == "cancelled"


async def test_cascade_boundaries(client: httpx.AsyncClient, world: World) -> None:
    """Where the cascade stops climbing, a root's subtree, every stoppable status."""
    await check_stop_does_not_climb_past_a_parent_that_is_not_waiting(client, world)
    await check_stopping_a_root_cancels_its_whole_stoppable_subtree(client, world)
    await check_every_stoppable_status_can_be_stopped(client, world)


async def test_stopping_finished_executions(client: httpx.AsyncClient, world: World, services: Services) -> None:
    """Cancelled: 200 no-op; completed/failed: 409; a stopped execution stays stopped."""
    await check_stopping_a_cancelled_execution_is_a_no_op(client, world, services)
    await check_stopping_a_finished_execution_is_a_conflict(client, world, services)
    await check_a_child_created_after_a_stop_is_not_affected(client, world)
    await check_a_stopped_execution_refuses_further_transitions(client, world)
