"""Trash: delete with a reason, list who deleted what, restore exactly what was deleted, purge."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import Any

import httpx
from click.testing import CliRunner
from sqlalchemy import func, select, update

from app.db.models import (
    CommandRoomTask,
    ExecutionEvent,
    OperatorAction,
    WorkflowApproval,
    WorkflowExecution,
    WorkflowExecutionData,
)
from app.domain.executions.trash import purge_trash
from app.services import Services
from tests.approval_helpers import pending_approval
from tests.conftest import EXECUTIONS, World, create_execution, get_execution, list_uuids, read_events
from tests.web_session import PageSession

FULL = {"with": "workflow,workflowExecutionData", "with_count": "workflowApprovals,pendingWorkflowApprovals"}
# Bookkeeping that moves on with every change (delete and restore are changes).
MOVES = {"version", "updated_at"}


async def delete(client: httpx.AsyncClient, actor: Any, execution_uuid: str, **kw: Any) -> httpx.Response:
    return await client.request("DELETE", f"{EXECUTIONS}/{execution_uuid}", headers=actor.headers, **kw)


async def restore(client: httpx.AsyncClient, actor: Any, execution_uuid: str, **kw: Any) -> httpx.Response:
    return await client.post(f"{EXECUTIONS}/{execution_uuid}/restore", headers=actor.headers, **kw)


async def trash(client: httpx.AsyncClient, actor: Any, **params: Any) -> dict[str, Any]:
    response = await client.get(f"{EXECUTIONS}/trash", params=params, headers=actor.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def audit(services: Services, execution_uuid: str) -> list[tuple[str, int | None, str | None]]:
    async with services.db.read() as session:
        rows = await session.execute(
            select(OperatorAction.action, OperatorAction.actor_id, OperatorAction.reason)
            .where(OperatorAction.execution_uuid == uuid.UUID(execution_uuid))
            .order_by(OperatorAction.id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_restore_brings_back_exactly_what_was_deleted(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    """A waiting execution with node runs, a pending approval and a command-room flag: after delete
    and restore the full GET (with every include) is the same, bar version and updated_at."""
    execution, approval = await pending_approval(client, world.operator_a, world.workflows["Invoice approval"])
    target = execution["uuid"]
    node_run = {"node_id": "start", "status": "success", "started_at": "2025-01-01T00:00:00Z"}
    assert (
        await client.patch(f"{EXECUTIONS}/{target}", json={"node_runs": [node_run]}, headers=world.operator_a.headers)
    ).status_code == 200
    flagged = await client.post(
        "/api/v1/command-room-tasks", json={"execution_uuid": target, "note": "look"}, headers=world.operator_a.headers
    )
    assert flagged.status_code == 201
    before = await get_execution(client, world.viewer_a, target, **FULL)
    assert before["workflow_execution_data"] and before["pending_workflow_approvals_count"] == 1

    response = await delete(client, world.operator_a, target, json={"reason": "  duplicate run  "})
    assert response.status_code == 204
    assert (await client.get(f"{EXECUTIONS}/{target}", headers=world.viewer_a.headers)).status_code == 404
    assert target not in await list_uuids(client, world.viewer_a, workspace_uuid=world.ws["A"])

    listed = (await trash(client, world.admin_a))["data"]
    assert [i["uuid"] for i in listed] == [target]
    assert listed[0]["deleted_by"] == world.operator_a.email
    assert listed[0]["deletion_reason"] == "duplicate run"
    assert listed[0]["deleted_at"] and listed[0]["can_restore"] is True
    assert (await trash(client, world.operator_a))["data"][0]["can_restore"] is False

    restored = await restore(client, world.admin_a, target, json={"reason": "deleted by mistake"})
    assert restored.status_code == 200, restored.text
    assert restored.json()["data"]["deleted_at"] is None
    after = await get_execution(client, world.viewer_a, target, **FULL)
    assert {k: v for k, v in after.items() if k not in MOVES} == {k: v for k, v in before.items() if k not in MOVES}
    assert after["version"] == before["version"] + 2
    assert target in await list_uuids(client, world.viewer_a, workspace_uuid=world.ws["A"])
    assert (await trash(client, world.admin_a))["data"] == []
    # Its approval is back in the approver's inbox, its flag in the command room.
    inbox = await client.get("/api/v1/workflow-approvals", params={"status": "pending"}, headers=world.admin_a.headers)
    assert approval["uuid"] in [a["uuid"] for a in inbox.json()["data"]]

    kinds = [e.type for e in await read_events(services, world.ws["A"]) if e.execution_uuid == target]
    assert kinds[-2:] == ["execution.deleted", "execution.restored"]
    assert await audit(services, target) == [
        ("flag", world.operator_a.user_id, "look"),
        ("delete", world.operator_a.user_id, "duplicate run"),
        ("restore", world.admin_a.user_id, "deleted by mistake"),
    ]


async def test_restore_rules_and_reason_validation(client: httpx.AsyncClient, world: World) -> None:
    target = (await create_execution(client, world.operator_a, world.workflows["Invoice approval"]))["uuid"]
    too_long = await delete(client, world.operator_a, target, params={"reason": "x" * 1001})
    assert too_long.status_code == 422 and "reason" in too_long.json()["errors"]
    too_long = await delete(client, world.operator_a, target, json={"reason": "x" * 1001})
    assert too_long.status_code == 422 and "reason" in too_long.json()["errors"]
    assert (await restore(client, world.admin_a, target)).status_code == 409  # not deleted
    assert (await delete(client, world.operator_a, target, params={"reason": "q"})).status_code == 204
    assert (await restore(client, world.operator_a, target)).status_code == 403  # operators do not restore
    assert (await restore(client, world.viewer_a, target)).status_code == 403
    assert (await restore(client, world.operator_b, target)).status_code == 404  # foreign
    assert (await restore(client, world.admin_a, str(uuid.uuid4()))).status_code == 404
    long_reason = await restore(client, world.admin_a, target, json={"reason": "y" * 1001})
    assert long_reason.status_code == 422 and "reason" in long_reason.json()["errors"]
    assert (await restore(client, world.admin_a, target)).status_code == 200
    assert (await restore(client, world.admin_a, target)).status_code == 409  # twice: nothing to restore
    # Tenancy of the list: B's operator sees nothing of A's trash; a viewer may not see a trash.
    assert (await delete(client, world.operator_a, target)).status_code == 204
    assert (await trash(client, world.operator_b))["data"] == []
    foreign = await client.get(
        f"{EXECUTIONS}/trash", params={"workspace_uuid": world.ws["A"]}, headers=world.operator_b.headers
    )
    assert foreign.status_code == 404
    viewer = await client.get(
        f"{EXECUTIONS}/trash", params={"workspace_uuid": world.ws["A"]}, headers=world.viewer_a.headers
    )
    assert viewer.status_code == 403
    assert (await trash(client, world.viewer_a))["data"] == []


async def _counts(services: Services, execution_id: int) -> dict[str, int]:
    async with services.db.read() as session:
        out = {}
        for name, model, column in (
            ("executions", WorkflowExecution, WorkflowExecution.id),
            ("data", WorkflowExecutionData, WorkflowExecutionData.execution_id),
            ("approvals", WorkflowApproval, WorkflowApproval.execution_id),
            ("tasks", CommandRoomTask, CommandRoomTask.execution_id),
            ("events", ExecutionEvent, ExecutionEvent.execution_id),
        ):
            out[name] = (
                await session.execute(select(func.count()).select_from(model).where(column == execution_id))
            ).scalar_one()
        return out


async def test_purge_deletes_old_trash_for_good_and_keeps_the_audit_log(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    old, _ = await pending_approval(client, world.operator_a, world.workflows["Invoice approval"])
    recent = await create_execution(client, world.operator_a, world.workflows["Invoice approval"])
    live = await create_execution(client, world.operator_a, world.workflows["Invoice approval"])
    child = await create_execution(
        client, world.operator_a, world.workflows["Invoice approval"], parent_execution_uuid=old["uuid"]
    )
    flag = {"execution_uuid": old["uuid"], "note": "stuck"}
    assert (
        await client.post("/api/v1/command-room-tasks", json=flag, headers=world.operator_a.headers)
    ).status_code == 201
    for target in (old["uuid"], recent["uuid"]):
        assert (await delete(client, world.operator_a, target, json={"reason": "cleanup"})).status_code == 204
    now = dt.datetime.now(dt.UTC)
    async with services.db.write() as session:  # the old one was deleted 40 days ago
        await session.execute(
            update(WorkflowExecution)
            .where(WorkflowExecution.uuid == uuid.UUID(old["uuid"]))
            .values(deleted_at=now - dt.timedelta(days=40))
        )
    async with services.db.read() as session:
        old_id = (
            await session.execute(select(WorkflowExecution.id).where(WorkflowExecution.uuid == uuid.UUID(old["uuid"])))
        ).scalar_one()
    assert min((await _counts(services, old_id)).values()) >= 1

    dry = await purge_trash(services.db, dt.timedelta(days=30), dry_run=True)
    assert (dry.purged, dry.by_workspace) == (1, {"Workspace A": 1})
    assert (await _counts(services, old_id))["executions"] == 1

    report = await purge_trash(services.db, dt.timedelta(days=30), batch_size=1)
    assert (report.purged, report.batches) == (1, 1)
    assert await _counts(services, old_id) == {"executions": 0, "data": 0, "approvals": 0, "tasks": 0, "events": 0}
    # History stays: its audit rows (execution id cleared, uuid kept) and a PURGE row by nobody.
    actions = await audit(services, old["uuid"])
    assert [a[0] for a in actions] == ["flag", "delete", "purge"] and actions[2][1] is None
    assert (await restore(client, world.admin_a, old["uuid"])).status_code == 404
    # The recent one is still in the trash, the live one and the orphaned child untouched.
    assert [i["uuid"] for i in (await trash(client, world.admin_a))["data"]] == [recent["uuid"]]
    assert (await get_execution(client, world.viewer_a, live["uuid"]))["uuid"] == live["uuid"]
    assert (await get_execution(client, world.viewer_a, child["uuid"]))["parent_execution_uuid"] is None
    assert (await purge_trash(services.db, dt.timedelta(days=30))).purged == 0


def test_purge_command_prints_what_it_did(settings: Any, monkeypatch: Any) -> None:
    """``athena purge`` on an empty trash: a dry run and a real run both say what they did."""
    from app.cli import athena

    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    runner = CliRunner()
    dry = runner.invoke(athena, ["purge", "--dry-run", "--older-than", "7"])
    assert dry.exit_code == 0, dry.output
    assert "would purge 0 execution(s)" in dry.output
    real = runner.invoke(athena, ["purge"])
    assert real.exit_code == 0 and "purged 0 execution(s)" in real.output


async def test_pages_delete_with_reason_list_and_restore(client: httpx.AsyncClient, world: World) -> None:
    target = (await create_execution(client, world.operator_a, world.workflows["Invoice approval"]))["uuid"]
    operator, admin, viewer = (PageSession(client, a) for a in (world.operator_a, world.admin_a, world.viewer_a))
    assert 'href="/executions/trash"' in (await operator.get("/executions")).text
    assert 'href="/executions/trash"' not in (await viewer.get("/executions")).text
    dialog = await operator.get(f"/executions/{target}/delete-dialog", htmx_target="dialog-slot")
    assert dialog.status_code == 200 and 'name="reason"' in dialog.text
    too_long = await operator.post(f"/executions/{target}/delete", {"reason": "z" * 1001}, htmx_target=f"row-{target}")
    assert too_long.status_code == 422 and "reason" in too_long.text
    deleted = await operator.post(
        f"/executions/{target}/delete", {"reason": "stuck <b>loop</b>"}, htmx_target=f"row-{target}"
    )
    assert deleted.status_code == 200
    page = await operator.get("/executions/trash")
    assert page.status_code == 200 and f'id="trash-{target}"' in page.text
    assert "stuck &lt;b&gt;loop&lt;/b&gt;" in page.text and world.operator_a.email in page.text
    assert "restore-form" not in page.text  # operators see the trash, admins restore
    assert (await viewer.get("/executions/trash")).status_code == 403
    admin_page = await admin.get("/executions/trash")
    assert "restore-form" in admin_page.text
    restored = await admin.post(f"/executions/{target}/restore", {"reason": "needed"})
    assert restored.status_code == 200 and f'id="trash-{target}" hx-swap-oob="delete"' in restored.text
    assert (await operator.post(f"/executions/{target}/restore", {})).status_code == 403
    assert f'id="trash-{target}"' not in (await admin.get("/executions/trash")).text


async def test_restore_after_a_bulk_delete_brings_back_the_flag_too(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    """A bulk delete also closes the execution's command-room flag; restoring reopens exactly that."""
    execution = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="running")
    target = execution["uuid"]
    flagged = await client.post(
        "/api/v1/command-room-tasks", json={"execution_uuid": target}, headers=world.operator_a.headers
    )
    assert flagged.status_code == 201
    before = await get_execution(client, world.viewer_a, target, **FULL)
    flagged_list = {"workspace_uuid": world.ws["A"], "has_command_room_task": "true"}
    assert await list_uuids(client, world.viewer_a, **flagged_list) == [target]
    started = await client.post(
        f"{EXECUTIONS}/bulk", json={"action": "delete", "ids": [target]}, headers=world.operator_a.headers
    )
    assert started.status_code == 202, started.text
    operation = f"/api/v1/operations/{started.json()['data']['uuid']}"
    for _ in range(200):
        state = (await client.get(operation, headers=world.operator_a.headers)).json()["data"]
        if state["status"] in ("done", "failed"):
            break
        await asyncio.sleep(0.05)
    assert state["status"] == "done", state
    assert (await client.get(f"{EXECUTIONS}/{target}", headers=world.viewer_a.headers)).status_code == 404

    assert (await restore(client, world.admin_a, target)).status_code == 200
    after = await get_execution(client, world.viewer_a, target, **FULL)
    assert {k: v for k, v in after.items() if k not in MOVES} == {k: v for k, v in before.items() if k not in MOVES}
    assert await list_uuids(client, world.viewer_a, **flagged_list) == [target]
