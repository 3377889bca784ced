"""Bulk actions API: dry run, tracked operations, confirm_count, one at a time, tenant rules."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from app.services import Services
from tests.conftest import EXECUTIONS, World, create_execution, get_execution, patch_execution

BULK = f"{EXECUTIONS}/bulk"


async def wait_done(
    client: httpx.AsyncClient, world: World, operation_uuid: str, actor: str = "operator_a"
) -> dict[str, Any]:
    for _ in range(500):
        response = await client.get(f"/api/v1/operations/{operation_uuid}", headers=world.users[actor].headers)
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        if data["status"] in ("done", "failed"):
            return data
        await asyncio.sleep(0.02)
    raise AssertionError("the operation never finished")


async def test_dry_run_then_real_stop(client: httpx.AsyncClient, world: World) -> None:
    op = world.operator_a
    wf = world.workflows["Invoice approval"]
    parent = await create_execution(client, op, wf, status="running")
    await patch_execution(client, op, parent["uuid"], status="waiting")
    child = await create_execution(client, op, wf, status="running", parent_execution_uuid=parent["uuid"])
    done = await create_execution(client, op, wf, status="completed")
    foreign = await create_execution(client, world.operator_b, world.workflows["Invoice sync"], status="running")
    ids = [child["uuid"], done["uuid"], foreign["uuid"]]

    dry = await client.post(BULK, json={"action": "stop", "ids": ids, "dry_run": True}, headers=op.headers)
    assert dry.status_code == 200, dry.text
    plan = dry.json()["data"]
    assert plan["applicable"] == 1 and plan["skipped"] == 2
    assert plan["executions_affected"] == 2 and plan["cascade"] == 1
    assert plan["skipped_reasons"] == {"already completed": 1, "not found": 1}
    assert (await get_execution(client, op, child["uuid"]))["status"] == "running"  # nothing changed

    real = await client.post(BULK, json={"action": "stop", "ids": ids, "reason": "bad deploy"}, headers=op.headers)
    assert real.status_code == 202, real.text
    result = await wait_done(client, world, real.json()["data"]["uuid"])
    assert result["status"] == "done" and result["done"] == 1 and result["skipped"] == 2
    assert result["executions_affected"] == 2
    assert {i["uuid"]: i["outcome"] for i in result["items"]}[child["uuid"]] == "stopped"
    assert (await get_execution(client, op, parent["uuid"]))["status"] == "cancelled"
    foreign_now = await get_execution(client, world.operator_b, foreign["uuid"])
    assert foreign_now["status"] == "running" and foreign_now["version"] == foreign["version"]
    # Not visible to another user, and listed for its owner.
    other = await client.get(f"/api/v1/operations/{result['uuid']}", headers=world.admin_a.headers)
    assert other.status_code == 404
    listed = (await client.get("/api/v1/operations", headers=op.headers)).json()["data"]
    assert [o["uuid"] for o in listed] == [result["uuid"]]


async def test_single_stop_dry_run_keeps_contract(client: httpx.AsyncClient, world: World) -> None:
    op = world.operator_a
    e = await create_execution(client, op, world.workflows["Invoice approval"], status="running")
    dry = await client.post(f"{EXECUTIONS}/{e['uuid']}/stop?dry_run=true", headers=op.headers)
    assert dry.status_code == 200 and dry.json()["data"]["applicable"] == 1
    dry = await client.post(f"{EXECUTIONS}/{e['uuid']}/stop", json={"dry_run": True}, headers=op.headers)
    assert dry.status_code == 200 and dry.json()["data"]["executions_affected"] == 1
    assert (await get_execution(client, op, e["uuid"]))["status"] == "running"
    stop = await client.post(f"{EXECUTIONS}/{e['uuid']}/stop", json={"reason": "runaway"}, headers=op.headers)
    assert stop.status_code == 200 and stop.json()["meta"]["stopped"] is True
    plain = await client.post(f"{EXECUTIONS}/{e['uuid']}/stop", headers=op.headers)
    assert plain.status_code == 200 and plain.json()["meta"]["stopped"] is False
    foreign = await client.post(f"{EXECUTIONS}/{e['uuid']}/stop?dry_run=1", headers=world.operator_b.headers)
    assert foreign.status_code == 404


async def test_confirm_count_viewer_and_validation(client: httpx.AsyncClient, world: World, services: Services) -> None:
    op = world.operator_a
    wf = world.workflows["Invoice approval"]
    ids = [(await create_execution(client, op, wf, status="failed"))["uuid"] for _ in range(101)]
    body = {"action": "retry_request", "ids": ids}
    missing = await client.post(BULK, json=body, headers=op.headers)
    assert missing.status_code == 422 and "confirm_count" in missing.json()["errors"]
    wrong = await client.post(BULK, json=body | {"confirm_count": 100}, headers=op.headers)
    assert wrong.status_code == 422 and "confirm_count" in wrong.json()["errors"]
    viewer = await client.post(BULK, json=body | {"dry_run": True}, headers=world.viewer_a.headers)
    assert viewer.status_code == 403
    both = await client.post(BULK, json=body | {"filter": {"workspace_uuid": world.ws["A"]}}, headers=op.headers)
    assert both.status_code == 422
    bad = await client.post(BULK, json={"action": "explode", "ids": ids}, headers=op.headers)
    assert bad.status_code == 422 and "action" in bad.json()["errors"]
    ok = await client.post(BULK, json=body | {"confirm_count": 101}, headers=op.headers)
    assert ok.status_code == 202, ok.text
    # One open operation at a time per user and workspace (the first may still be running).
    second = await client.post(BULK, json=body | {"confirm_count": 101}, headers=op.headers)
    if second.status_code == 409:
        assert second.json()["operation_uuid"] == ok.json()["data"]["uuid"]
    result = await wait_done(client, world, ok.json()["data"]["uuid"])
    assert result["done"] == 101
    again = await client.post(BULK, json=body | {"dry_run": True}, headers=op.headers)
    assert again.json()["data"]["skipped_reasons"] == {"a retry is already requested and has not started yet": 101}


async def test_filter_snapshot_delete_closes_flags(client: httpx.AsyncClient, world: World) -> None:
    op = world.operator_a
    wf = world.workflows["Invoice approval"]
    failed = [await create_execution(client, op, wf, status="failed") for _ in range(3)]
    running = await create_execution(client, op, wf, status="running")
    flag = await client.post(
        "/api/v1/command-room-tasks", json={"execution_uuid": failed[0]["uuid"]}, headers=op.headers
    )
    assert flag.status_code == 201, flag.text
    body = {"action": "delete", "filter": {"workspace_uuid": world.ws["A"], "status": ["failed"]}}
    dry = (await client.post(BULK, json=body | {"dry_run": True}, headers=op.headers)).json()["data"]
    assert dry["applicable"] == 3 and dry["command_room_tasks_closed"] == 1
    real = await client.post(BULK, json=body, headers=op.headers)
    result = await wait_done(client, world, real.json()["data"]["uuid"])
    assert result["done"] == 3 and result["command_room_tasks_closed"] == 1
    assert (await client.get(f"{EXECUTIONS}/{failed[1]['uuid']}", headers=op.headers)).status_code == 404
    assert (await get_execution(client, op, running["uuid"]))["status"] == "running"


async def test_tenant_rules(client: httpx.AsyncClient, world: World) -> None:
    a = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="running")
    foreign = await client.post(
        BULK, json={"action": "stop", "ids": [a["uuid"]], "dry_run": True}, headers=world.operator_b.headers
    )
    assert foreign.status_code == 200
    assert foreign.json()["data"]["items"] == [
        {"uuid": a["uuid"], "outcome": "skipped", "reason": "not found", "cascade": 0}
    ]
    real = await client.post(BULK, json={"action": "delete", "ids": [a["uuid"]]}, headers=world.operator_b.headers)
    assert real.status_code == 202
    result = await wait_done(client, world, real.json()["data"]["uuid"], actor="operator_b")
    assert result["done"] == 0 and result["skipped_reasons"] == {"not found": 1}
    assert (await get_execution(client, world.operator_a, a["uuid"]))["version"] == a["version"]
    by_filter = {"action": "stop", "dry_run": True, "filter": {"workspace_uuid": world.ws["A"]}}
    assert (await client.post(BULK, json=by_filter, headers=world.operator_b.headers)).status_code == 404
    # multi views A and operates B: A's executions are skipped as not permitted, its filter is a 403.
    viewer = await client.post(
        BULK, json={"action": "stop", "ids": [a["uuid"]], "dry_run": True}, headers=world.multi.headers
    )
    assert viewer.json()["data"]["skipped_reasons"] == {"not permitted: your role in its workspace is 'viewer'": 1}
    assert (await client.post(BULK, json=by_filter, headers=world.multi.headers)).status_code == 403
