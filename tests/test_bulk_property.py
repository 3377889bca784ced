"""Property: a bulk action's dry run says exactly what the real run then does, over random execution
trees (statuses, waiting chains, pending approvals, command-room flags), actions, selections (ids
in any order, duplicates, foreign ids, a viewer's workspace) and filters."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, select

from app.db.models import CommandRoomTask, WorkflowApproval, WorkflowExecution
from app.db.models.base import new_uuid, utcnow
from app.domain.operations.schemas import BulkFilter
from app.lib.identity import CurrentUser
from app.services import Services
from tests.conftest import World
from tests.fault_helpers import ids_of

E = WorkflowExecution
STATUSES = ["pending", "running", "paused", "waiting", "completed", "failed", "cancelled"]
NODE = st.fixed_dictionaries(
    {
        "parent": st.none() | st.integers(0, 30),
        "status": st.sampled_from(STATUSES),
        "approval": st.booleans(),
        "flag": st.booleans(),
        "retried": st.booleans(),
    }
)
CASES = st.fixed_dictionaries(
    {
        "nodes": st.lists(NODE, min_size=1, max_size=14),
        "foreign": st.lists(st.sampled_from(STATUSES), max_size=3),
        "action": st.sampled_from(["stop", "delete", "retry_request"]),
        "picks": st.lists(st.integers(0, 40), min_size=1, max_size=10),
        "by_filter": st.none() | st.lists(st.sampled_from(STATUSES), min_size=1, max_size=3, unique=True),
        "as_multi": st.booleans(),
    }
)


async def _insert(services: Services, world: World, nodes: list[dict[str, Any]], ws: str, wf: str) -> list[str]:
    workspace_id, workflow_id = await ids_of(services, world.ws[ws], world.workflows[wf])
    now = utcnow()
    ids: list[int] = []
    uuids: list[str] = []
    async with services.db.write() as session:
        for i, node in enumerate(nodes):
            parent = ids[node["parent"] % i] if node.get("parent") is not None and i else None
            u = new_uuid()
            row = {
                "uuid": u, "workspace_id": workspace_id, "workflow_id": workflow_id, "parent_execution_id": parent,
                "status": node["status"], "version": 1, "created_at": now, "updated_at": now,
                "retry_success_id": str(new_uuid()) if node.get("retried") else None,
            }  # fmt: skip
            ids.append((await session.execute(insert(E).values(row).returning(E.id))).scalar_one())
            uuids.append(str(u))
            if node.get("approval"):
                await session.execute(
                    insert(WorkflowApproval).values(
                        uuid=new_uuid(), execution_id=ids[-1], workspace_id=workspace_id, node_id="review",
                        title="Check", status="pending", requested_at=now, high_risk=False,
                        created_at=now, updated_at=now,
                    )
                )  # fmt: skip
            if node.get("flag"):
                await session.execute(
                    insert(CommandRoomTask).values(
                        uuid=new_uuid(), execution_id=ids[-1], workspace_id=workspace_id, created_at=now, updated_at=now
                    )
                )
    return uuids


async def _state(services: Services) -> tuple[dict[str, int], set[str], set[str]]:
    async with services.db.read() as session:
        versions = {str(r.uuid): r.version for r in await session.execute(select(E.uuid, E.version))}
        pending = {
            str(r[0])
            for r in await session.execute(select(WorkflowApproval.uuid).where(WorkflowApproval.status == "pending"))
        }
        flags = {
            str(r[0])
            for r in await session.execute(select(CommandRoomTask.uuid).where(CommandRoomTask.removed_at.is_(None)))
        }
    return versions, pending, flags


async def _user(services: Services, world: World, name: str) -> CurrentUser:
    user = await services.accounts.authenticate_token(world.users[name].token)
    assert user is not None
    return user


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=CASES)
async def test_dry_run_equals_the_real_run(services: Services, world: World, case: dict[str, Any]) -> None:
    ops = services.operations
    mine = await _insert(services, world, case["nodes"], "A", "Invoice approval")
    foreign = await _insert(services, world, [{"status": s} for s in case["foreign"]], "B", "Invoice sync")
    pool = mine + foreign + [str(uuid.uuid4())]  # an id that exists nowhere
    as_multi = case["as_multi"] and case["by_filter"] is None  # multi only views A: ids mode
    user = await _user(services, world, "multi" if as_multi else "operator_a")
    if case["by_filter"] is None:
        snapshot = await ops.snapshot(user, [uuid.UUID(pool[i % len(pool)]) for i in case["picks"]], None)
    else:
        f = BulkFilter(workspace_uuid=uuid.UUID(world.ws["A"]), status=case["by_filter"])
        snapshot = await ops.snapshot(user, None, f)
        if not snapshot:
            return

    dry = await ops.dry_run(user, case["action"], snapshot)
    before = await _state(services)
    started = await ops.start(user, case["action"], snapshot, "property", len(snapshot))
    while ops.runner.tasks:
        await asyncio.gather(*ops.runner.tasks.values())
    after = await _state(services)
    result = await ops.get(user, uuid.UUID(started["uuid"]))

    changed = {u for u, v in after[0].items() if v != before[0].get(u)}
    assert changed == set(dry["affected_execution_uuids"])
    assert before[1] - after[1] == set(dry["cancelled_approval_uuids"])
    assert before[2] - after[2] == set(dry["closed_command_room_task_uuids"])
    assert result["status"] == "done"
    assert [(i["uuid"], i["outcome"], i["reason"], i["cascade"]) for i in result["items"]] == [
        (i["uuid"], i["outcome"], i["reason"], i["cascade"]) for i in dry["items"]
    ]
    assert result["executions_affected"] == dry["executions_affected"]
    assert result["approvals_cancelled"] == dry["approvals_cancelled"]
    assert result["command_room_tasks_closed"] == dry["command_room_tasks_closed"]
