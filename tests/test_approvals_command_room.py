"""POST /workflow-approvals (waiting executions only) and command-room flag/unflag."""

from __future__ import annotations

import httpx

from app.services import Services
from tests.conftest import (
    API,
    EXECUTIONS,
    World,
    create_execution,
    get_execution,
    patch_execution,
    read_events,
)

APPROVALS = f"{API}/workflow-approvals"
TASKS = f"{API}/command-room-tasks"
ALWAYS = {"start_date": "2000-01-01", "end_date": "2999-12-31"}


async def test_approval_requires_a_waiting_execution(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    wf = world.workflows["Invoice approval"]
    for status in ("pending", "running", "paused", "completed", "failed", "cancelled"):
        execution = await create_execution(client, world.operator_a, wf, status=status)
        response = await client.post(
            APPROVALS,
            json={"execution_uuid": execution["uuid"], "node_id": "review", "title": "Check"},
            headers=world.operator_a.headers,
        )
        assert response.status_code == 409, (status, response.text)
        assert response.json()["current_status"] == status
        assert (await get_execution(client, world.viewer_a, execution["uuid"]))["version"] == 1
    assert (await client.get(APPROVALS, headers=world.viewer_a.headers)).json()["meta"]["total"] == 0
    assert all(e.type == "execution.created" for e in await read_events(services))


async def test_approval_on_a_waiting_execution(client: httpx.AsyncClient, world: World, services: Services) -> None:
    execution = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="running")
    assert (await patch_execution(client, world.operator_a, execution["uuid"], status="waiting")).status_code == 200
    body = {
        "execution_uuid": execution["uuid"],
        "node_id": "review",
        "title": "Approve invoice #42",
        "description": "Amount above threshold",
        "payload": {"amount": 12500, "currency": "EUR"},
        "due_at": "2030-01-01T12:00:00+01:00",
        "high_risk": True,
    }
    assert (await client.post(APPROVALS, json=body, headers=world.viewer_a.headers)).status_code == 403
    response = await client.post(APPROVALS, json=body, headers=world.operator_a.headers)
    assert response.status_code == 201, response.text
    approval = response.json()["data"]
    assert approval["status"] == "pending" and approval["execution_uuid"] == execution["uuid"]
    assert approval["workspace_uuid"] == world.ws["A"]
    assert approval["payload"] == {"amount": 12500, "currency": "EUR"} and approval["high_risk"] is True
    assert approval["due_at"] == "2030-01-01T11:00:00.000000Z"
    assert approval["decided_at"] is None and approval["decided_by"] is None

    second = await client.post(APPROVALS, json={**body, "title": "Second look"}, headers=world.operator_a.headers)
    assert second.status_code == 201

    # Shown on the execution's row: version bumped once per request, counts available.
    got = await get_execution(
        client, world.viewer_a, execution["uuid"], with_count="workflowApprovals,pendingWorkflowApprovals"
    )
    assert got["version"] == 4  # created, running -> waiting, two approval requests
    assert got["workflow_approvals_count"] == 2 and got["pending_workflow_approvals_count"] == 2
    events = [e for e in await read_events(services) if e.execution_uuid == execution["uuid"]]
    assert [e.type for e in events][-2:] == ["approval.requested", "approval.requested"]
    assert [e.version for e in events] == [1, 2, 3, 4]

    listed = await client.get(APPROVALS, params={"status": "pending"}, headers=world.approver_a.headers)
    assert [a["title"] for a in listed.json()["data"]] == ["Approve invoice #42", "Second look"]
    assert (await client.get(APPROVALS, params={"status": "approved"}, headers=world.approver_a.headers)).json()[
        "data"
    ] == []

    count = await client.get(
        f"{EXECUTIONS}/count",
        params={"workspace_uuid": world.ws["A"], "requires_human_review": "true", **ALWAYS},
        headers=world.viewer_a.headers,
    )
    assert count.json()["data"]["count"] == 1


async def test_command_room_flag_and_unflag(client: httpx.AsyncClient, world: World, services: Services) -> None:
    wf = world.workflows["Invoice approval"]
    flagged_one = await create_execution(client, world.operator_a, wf, status="running")
    other = await create_execution(client, world.operator_a, wf, status="failed")

    async def in_command_room() -> int:
        response = await client.get(
            f"{EXECUTIONS}/count",
            params={"workspace_uuid": world.ws["A"], "has_command_room_task": "true", **ALWAYS},
            headers=world.viewer_a.headers,
        )
        assert response.status_code == 200
        return response.json()["data"]["count"]

    assert await in_command_room() == 0
    response = await client.post(
        TASKS, json={"execution_uuid": flagged_one["uuid"], "note": "Customer called"}, headers=world.operator_a.headers
    )
    assert response.status_code == 201, response.text
    task = response.json()["data"]
    assert task["execution_uuid"] == flagged_one["uuid"] and task["note"] == "Customer called"
    assert task["created_by"] == "operator_a@example.test" and task["removed_at"] is None
    assert await in_command_room() == 1

    again = await client.post(TASKS, json={"execution_uuid": flagged_one["uuid"]}, headers=world.operator_a.headers)
    assert again.status_code == 409 and again.json()["command_room_task_uuid"] == task["uuid"]
    finished = await client.post(TASKS, json={"execution_uuid": other["uuid"]}, headers=world.admin_a.headers)
    assert finished.status_code == 201  # a failed execution can be flagged for follow-up
    assert await in_command_room() == 2
    not_flagged = await client.get(
        f"{EXECUTIONS}/count",
        params={"workspace_uuid": world.ws["A"], "has_command_room_task": "false", **ALWAYS},
        headers=world.viewer_a.headers,
    )
    assert not_flagged.json()["data"]["count"] == 0

    assert (await client.delete(f"{TASKS}/{task['uuid']}", headers=world.viewer_a.headers)).status_code == 403
    assert (await client.delete(f"{TASKS}/{task['uuid']}", headers=world.operator_a.headers)).status_code == 204
    assert await in_command_room() == 1
    assert (await client.delete(f"{TASKS}/{task['uuid']}", headers=world.operator_a.headers)).status_code == 404
    # It can be flagged again once removed.
    again = await client.post(TASKS, json={"execution_uuid": flagged_one["uuid"]}, headers=world.operator_a.headers)
    assert again.status_code == 201 and again.json()["data"]["uuid"] != task["uuid"]
    assert await in_command_room() == 2

    events = [e for e in await read_events(services) if e.execution_uuid == flagged_one["uuid"]]
    assert [e.type for e in events] == [
        "execution.created",
        "command_room.flagged",
        "command_room.unflagged",
        "command_room.flagged",
    ]
    assert [e.version for e in events] == [1, 2, 3, 4]
    assert (await get_execution(client, world.viewer_a, flagged_one["uuid"]))["version"] == 4
