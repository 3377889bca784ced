"""Create, PATCH/PUT fields, node progress merge, optimistic versions and soft delete.

Related checks share one test (and one fresh database, which costs ~0.4 s on PostgreSQL); each
``check_*`` helper names what failed in the traceback.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from app.services import Services
from tests.conftest import (
    API,
    EXECUTIONS,
    World,
    create_execution,
    get_execution,
    list_uuids,
    patch_execution,
    read_events,
    stop_execution,
)


async def runs_of(client: httpx.AsyncClient, world: World, execution_uuid: str) -> tuple[dict, list[dict], dict]:
    item = await get_execution(client, world.viewer_a, execution_uuid, **{"with": "workflowExecutionData"})
    data = item["workflow_execution_data"]
    assert len(data) == 1
    return item, data[0]["workflow_data"], data[0]["metadata"]


# ------------------------------------------------------------------------------------------ create


async def check_create_defaults_and_workflow_counters(client: httpx.AsyncClient, world: World) -> None:
    wf = world.workflows["Invoice approval"]
    created = await create_execution(client, world.operator_a, wf, mode="manual", retry_of="41")
    assert created["status"] == "pending" and created["version"] == 1 and created["is_finished"] is False
    assert created["mode"] == "manual" and created["retry_of"] == "41"
    assert created["workflow_uuid"] == wf and created["workspace_uuid"] == world.ws["A"]
    assert created["parent_execution_uuid"] is None and created["deleted_at"] is None
    await create_execution(client, world.admin_a, wf, status="completed")
    workflow = (await client.get(f"{API}/workflows/{wf}", headers=world.viewer_a.headers)).json()["data"]
    assert workflow["trigger_count"] == 2 and workflow["last_used_at"] is not None
    assert workflow["executions_count"] == 2
    assert workflow["executions_in_progress_count"] == 1 and workflow["executions_completed_count"] == 1


async def check_create_with_execution_data(client: httpx.AsyncClient, world: World) -> None:
    created = await create_execution(
        client,
        world.operator_a,
        world.workflows["Invoice approval"],
        execution_data={
            "workflow_data": [{"node_id": "start", "status": "success"}],
            "metadata": {"k": 1},
            "data": "x",
        },
    )
    _, runs, metadata = await runs_of(client, world, created["uuid"])
    assert runs == [{"node_id": "start", "status": "success"}]
    assert metadata == {"k": 1}


async def check_create_rejects_a_parent_from_another_workspace(client: httpx.AsyncClient, world: World) -> None:
    foreign = await create_execution(client, world.operator_b, world.workflows["Invoice sync"], status="waiting")
    response = await client.post(
        EXECUTIONS,
        json={"workflow_uuid": world.workflows["Invoice approval"], "parent_execution_uuid": foreign["uuid"]},
        headers=world.multi.headers,  # multi is a member of B, but A's workflow cannot adopt B's execution
    )
    assert response.status_code in (403, 422)
    response = await client.post(
        EXECUTIONS,
        json={"workflow_uuid": world.workflows["Invoice approval"], "parent_execution_uuid": foreign["uuid"]},
        headers=world.operator_a.headers,
    )
    assert response.status_code == 422
    assert "parent_execution_uuid" in response.json()["errors"]


# ------------------------------------------------------------------------------------------ update


async def check_patch_plain_fields(client: httpx.AsyncClient, world: World, services: Services) -> None:
    created = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="running")
    wait = "2030-01-02T03:04:05.000000Z"
    response = await patch_execution(
        client,
        world.operator_a,
        created["uuid"],
        wait_till=wait,
        mode="webhook",
        retry_success_id="77",
        error="upstream said no",
        running_node="review",
    )
    assert response.status_code == 200, response.text
    body = response.json()["data"]
    assert body["version"] == 2 and body["status"] == "running"
    got = await get_execution(client, world.viewer_a, created["uuid"])
    assert got["wait_till"] == wait
    assert (got["mode"], got["retry_success_id"], got["error"], got["running_node"]) == (
        "webhook",
        "77",
        "upstream said no",
        "review",
    )
    assert got["updated_at"] >= created["updated_at"]
    # null clears a field; absent fields stay.
    response = await patch_execution(client, world.operator_a, created["uuid"], error=None, wait_till=None)
    got = await get_execution(client, world.viewer_a, created["uuid"])
    assert got["error"] is None and got["wait_till"] is None and got["mode"] == "webhook" and got["version"] == 3
    events = [e for e in await read_events(services, world.ws["A"]) if e.execution_uuid == created["uuid"]]
    assert [e.type for e in events] == ["execution.created", "execution.updated", "execution.updated"]


async def check_status_and_fields_together_are_one_change(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    created = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="running")
    response = await patch_execution(client, world.operator_a, created["uuid"], status="failed", error="boom")
    body = response.json()["data"]
    assert (body["status"], body["error"], body["version"]) == ("failed", "boom", 2)
    events = [e for e in await read_events(services, world.ws["A"]) if e.execution_uuid == created["uuid"]]
    assert [e.type for e in events] == ["execution.created", "execution.status_changed"]
    # A refused transition changes none of the other fields either.
    response = await patch_execution(client, world.operator_a, created["uuid"], status="running", error="other")
    assert response.status_code == 409
    assert (await get_execution(client, world.viewer_a, created["uuid"]))["error"] == "boom"


async def check_empty_patch_changes_nothing(client: httpx.AsyncClient, world: World, services: Services) -> None:
    created = await create_execution(client, world.operator_a, world.workflows["Invoice approval"])
    response = await patch_execution(client, world.operator_a, created["uuid"])
    assert response.status_code == 200
    assert response.json()["data"]["version"] == 1
    assert [e.type for e in await read_events(services) if e.execution_uuid == created["uuid"]] == ["execution.created"]


async def check_optimistic_version(client: httpx.AsyncClient, world: World) -> None:
    created = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="running")
    ok = await patch_execution(client, world.operator_a, created["uuid"], mode="a", version=1)
    assert ok.status_code == 200 and ok.json()["data"]["version"] == 2
    stale = await patch_execution(client, world.operator_a, created["uuid"], mode="b", version=1)
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2
    got = await get_execution(client, world.viewer_a, created["uuid"])
    assert got["mode"] == "a" and got["version"] == 2
    assert (await patch_execution(client, world.operator_a, created["uuid"], mode="b", version=2)).status_code == 200


# ------------------------------------------------------------------------------------ node progress


async def check_node_runs_are_merged_by_node_and_run_index(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    execution = (await create_execution(client, world.operator_a, world.workflows["Invoice approval"]))["uuid"]
    assert (await patch_execution(client, world.operator_a, execution, status="running")).status_code == 200

    r = await patch_execution(
        client, world.operator_a, execution, node_runs=[{"node_id": "start", "status": "running", "input": {"n": 1}}]
    )
    assert r.status_code == 200, r.text
    item, runs, metadata = await runs_of(client, world, execution)
    assert item["running_node"] == "start" and metadata["running_node"] == "start"
    assert len(runs) == 1
    assert runs[0]["node_id"] == "start" and runs[0]["run_index"] == 0 and runs[0]["status"] == "running"
    assert runs[0]["input"] == {"n": 1} and runs[0]["started_at"] and "stopped_at" not in runs[0]

    # The same node reported again continues its open run; output is added, input kept.
    await patch_execution(
        client, world.operator_a, execution, node_runs=[{"node_id": "start", "status": "success", "output": {"ok": 1}}]
    )
    item, runs, metadata = await runs_of(client, world, execution)
    assert len(runs) == 1
    assert runs[0]["status"] == "success" and runs[0]["output"] == {"ok": 1} and runs[0]["input"] == {"n": 1}
    assert runs[0]["stopped_at"]
    assert item["running_node"] is None and metadata["running_node"] is None

    # Two nodes in one report; the failing one names itself in the execution's error.
    await patch_execution(
        client,
        world.operator_a,
        execution,
        node_runs=[
            {"node_id": "review", "status": "running", "node_name": "Human review"},
            {"node_id": "review", "status": "error", "node_name": "Human review", "error": "reviewer timed out"},
        ],
    )
    item, runs, metadata = await runs_of(client, world, execution)
    assert [(x["node_id"], x["run_index"], x["status"]) for x in runs] == [
        ("start", 0, "success"),
        ("review", 0, "error"),
    ]
    assert runs[1]["error"] == "reviewer timed out" and runs[1]["node_name"] == "Human review"
    assert item["error"] == "Human review: reviewer timed out"
    assert item["running_node"] is None
    assert metadata["error_count"] == 1

    # A closed node reported again without run_index is a new iteration (a loop).
    await patch_execution(client, world.operator_a, execution, node_runs=[{"node_id": "start", "status": "running"}])
    item, runs, _ = await runs_of(client, world, execution)
    assert [(x["node_id"], x["run_index"], x["status"]) for x in runs] == [
        ("start", 0, "success"),
        ("review", 0, "error"),
        ("start", 1, "running"),
    ]
    assert item["running_node"] == "start"

    # An explicit run_index updates that run, not the latest.
    stamp = "2030-05-05T05:05:05.000000Z"
    await patch_execution(
        client,
        world.operator_a,
        execution,
        node_runs=[{"node_id": "start", "run_index": 0, "status": "success", "output": {"v": 2}, "stopped_at": stamp}],
    )
    item, runs, _ = await runs_of(client, world, execution)
    assert runs[0]["output"] == {"v": 2} and runs[0]["stopped_at"] == stamp
    assert runs[2]["status"] == "running"
    assert item["running_node"] == "start"  # the open iteration still runs

    # Every report was one version step and one event.
    events = [e for e in await read_events(services, world.ws["A"]) if e.execution_uuid == execution]
    assert [e.version for e in events] == list(range(1, 8))
    assert item["version"] == 7


async def check_node_runs_with_a_terminal_status_leave_no_running_node(client: httpx.AsyncClient, world: World) -> None:
    execution = (
        await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="running")
    )["uuid"]
    response = await patch_execution(
        client,
        world.operator_a,
        execution,
        status="completed",
        node_runs=[{"node_id": "finish", "status": "running"}],
    )
    assert response.status_code == 200
    item, runs, _ = await runs_of(client, world, execution)
    assert item["status"] == "completed" and item["running_node"] is None
    assert runs[0]["node_id"] == "finish"


async def check_execution_data_replaces_runs_and_merges_metadata(client: httpx.AsyncClient, world: World) -> None:
    execution = (
        await create_execution(
            client,
            world.operator_a,
            world.workflows["Invoice approval"],
            status="running",
            execution_data={"metadata": {"a": 1, "b": 2}},
        )
    )["uuid"]
    await patch_execution(
        client,
        world.operator_a,
        execution,
        execution_data={"workflow_data": [{"node_id": "x", "status": "success"}], "metadata": {"b": 3, "c": 4}},
    )
    item, runs, metadata = await runs_of(client, world, execution)
    assert runs == [{"node_id": "x", "status": "success"}]
    assert metadata == {"a": 1, "b": 3, "c": 4}
    assert item["version"] == 2


# ------------------------------------------------------------------------------------- soft delete


async def check_soft_deleted_executions_vanish_everywhere(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    wf = world.workflows["Invoice approval"]
    keep = await create_execution(client, world.operator_a, wf, status="running")
    gone = await create_execution(client, world.operator_a, wf, status="running")
    response = await client.delete(f"{EXECUTIONS}/{gone['uuid']}", headers=world.operator_a.headers)
    assert response.status_code == 204 and response.content == b""

    url = f"{EXECUTIONS}/{gone['uuid']}"
    assert (await client.get(url, headers=world.viewer_a.headers)).status_code == 404
    listed = await list_uuids(client, world.viewer_a, workspace_uuid=world.ws["A"])
    assert keep["uuid"] in listed and gone["uuid"] not in listed
    assert await list_uuids(client, world.viewer_a, workspace_uuid=world.ws["A"], search=gone["uuid"]) == []
    count = await client.get(
        f"{EXECUTIONS}/count",
        params={"workspace_uuid": world.ws["A"], "start_date": "2000-01-01", "end_date": "2999-12-31"},
        headers=world.viewer_a.headers,
    )
    assert count.json()["data"]["count"] == 1
    headers = world.operator_a.headers
    assert (await patch_execution(client, world.operator_a, gone["uuid"], mode="x")).status_code == 404
    assert (await client.put(url, json={"mode": "x"}, headers=headers)).status_code == 404
    assert (await stop_execution(client, world.operator_a, gone["uuid"])).status_code == 404
    assert (await client.delete(url, headers=headers)).status_code == 404
    flag = await client.post(f"{API}/command-room-tasks", json={"execution_uuid": gone["uuid"]}, headers=headers)
    assert flag.status_code == 404
    child = await client.post(
        EXECUTIONS, json={"workflow_uuid": wf, "parent_execution_uuid": gone["uuid"]}, headers=headers
    )
    assert child.status_code == 422
    workflow = (await client.get(f"{API}/workflows/{wf}", headers=headers)).json()["data"]
    assert workflow["executions_count"] == 1
    events = [e for e in await read_events(services, world.ws["A"]) if e.execution_uuid == gone["uuid"]]
    assert [e.type for e in events] == ["execution.created", "execution.deleted"]
    assert events[-1].version == 2


async def check_stopping_a_parent_skips_deleted_children(client: httpx.AsyncClient, world: World) -> None:
    wf = world.workflows["Invoice approval"]
    parent = await create_execution(client, world.operator_a, wf, status="running")
    child = await create_execution(client, world.operator_a, wf, status="running", parent_execution_uuid=parent["uuid"])
    grandchild = await create_execution(
        client, world.operator_a, wf, status="running", parent_execution_uuid=child["uuid"]
    )
    assert (await client.delete(f"{EXECUTIONS}/{child['uuid']}", headers=world.operator_a.headers)).status_code == 204
    response = await stop_execution(client, world.operator_a, parent["uuid"])
    assert response.status_code == 200
    # The deleted child stays as it was; its live descendant is still part of the parent's subtree.
    assert response.json()["meta"]["cascade_cancelled"] == [grandchild["uuid"]]


async def check_viewer_cannot_delete(client: httpx.AsyncClient, world: World) -> None:
    created = await create_execution(client, world.operator_a, world.workflows["Invoice approval"])
    response = await client.delete(f"{EXECUTIONS}/{created['uuid']}", headers=world.viewer_a.headers)
    assert response.status_code == 403
    assert (await get_execution(client, world.viewer_a, created["uuid"]))["deleted_at"] is None


def _parse(ts: str) -> dt.datetime:
    return dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))


async def check_timestamps_are_utc_iso(client: httpx.AsyncClient, world: World) -> None:
    created: dict[str, Any] = await create_execution(
        client,
        world.operator_a,
        world.workflows["Invoice approval"],
        status="running",
        wait_till="2030-01-01T12:00:00+02:00",
    )
    assert created["wait_till"] == "2030-01-01T10:00:00.000000Z"
    for key in ("created_at", "updated_at", "started_at"):
        assert created[key].endswith("Z")
        assert _parse(created[key]).tzinfo is not None


async def test_create(client: httpx.AsyncClient, world: World) -> None:
    """POST: defaults, counters, execution data, parent checks, timestamps."""
    await check_create_defaults_and_workflow_counters(client, world)
    await check_create_with_execution_data(client, world)
    await check_create_rejects_a_parent_from_another_workspace(client, world)
    await check_timestamps_are_utc_iso(client, world)


async def test_patch_fields_and_versions(client: httpx.AsyncClient, world: World, services: Services) -> None:
    """PATCH of plain fields, status with fields, empty PATCH, optimistic versions."""
    await check_patch_plain_fields(client, world, services)
    await check_status_and_fields_together_are_one_change(client, world, services)
    await check_empty_patch_changes_nothing(client, world, services)
    await check_optimistic_version(client, world)


async def test_node_progress(client: httpx.AsyncClient, world: World, services: Services) -> None:
    """node_runs merge by (node_id, run_index), running_node and error; execution_data."""
    await check_node_runs_are_merged_by_node_and_run_index(client, world, services)
    await check_node_runs_with_a_terminal_status_leave_no_running_node(client, world)
    await check_execution_data_replaces_runs_and_merges_metadata(client, world)


async def test_soft_delete(client: httpx.AsyncClient, world: World, services: Services) -> None:
    """Soft-deleted executions vanish from list, count, get; writes on them answer 404."""
    await check_soft_deleted_executions_vanish_everywhere(client, world, services)
    await check_viewer_cannot_delete(client, world)
    await check_stopping_a_parent_skips_deleted_children(client, world)
