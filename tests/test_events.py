"""ExecutionEvent rows: one per changed execution per committed change, seq gapless per workspace."""

from __future__ import annotations

import httpx

from app.services import Services
from tests.conftest import (
    API,
    EXECUTIONS,
    World,
    assert_gapless,
    create_execution,
    get_execution,
    patch_execution,
    read_events,
    stop_execution,
    workspace_event_seq,
)


async def test_every_change_writes_exactly_one_event(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    wf = world.workflows["Invoice approval"]
    op = world.operator_a
    expected: list[tuple[str, str, int]] = []  # (type, execution uuid, version) in commit order

    async def expect_new(*new: tuple[str, str, int]) -> None:
        expected.extend(new)
        events = await read_events(services, world.ws["A"])
        assert [(e.type, e.execution_uuid, e.version) for e in events] == expected
        assert [e.seq for e in events] == list(range(1, len(expected) + 1))
        assert await workspace_event_seq(services, world.ws["A"]) == len(expected)

    parent = await create_execution(client, op, wf, status="running")
    await expect_new(("execution.created", parent["uuid"], 1))
    child = await create_execution(client, op, wf, status="running", parent_execution_uuid=parent["uuid"])
    await expect_new(("execution.created", child["uuid"], 1))

    await patch_execution(client, op, parent["uuid"], status="waiting")
    await expect_new(("execution.status_changed", parent["uuid"], 2))
    await patch_execution(client, op, child["uuid"], mode="retry")
    await expect_new(("execution.updated", child["uuid"], 2))
    await patch_execution(client, op, child["uuid"], node_runs=[{"node_id": "start", "status": "running"}])
    await expect_new(("execution.progress", child["uuid"], 3))

    approval = await client.post(
        f"{API}/workflow-approvals",
        json={"execution_uuid": parent["uuid"], "node_id": "review", "title": "t"},
        headers=op.headers,
    )
    assert approval.status_code == 201
    await expect_new(("approval.requested", parent["uuid"], 3))
    task = await client.post(f"{API}/command-room-tasks", json={"execution_uuid": child["uuid"]}, headers=op.headers)
    await expect_new(("command_room.flagged", child["uuid"], 4))
    await client.delete(f"{API}/command-room-tasks/{task.json()['data']['uuid']}", headers=op.headers)
    await expect_new(("command_room.unflagged", child["uuid"], 5))

    # Refused, forbidden, invalid and no-op requests write nothing.
    assert (await patch_execution(client, op, parent["uuid"], status="paused")).status_code == 409
    assert (await patch_execution(client, op, parent["uuid"], mode="x", version=1)).status_code == 409
    assert (await patch_execution(client, world.viewer_a, parent["uuid"], mode="x")).status_code == 403
    assert (await patch_execution(client, world.operator_b, parent["uuid"], mode="x")).status_code == 404
    assert (await patch_execution(client, op, parent["uuid"], status="bogus")).status_code == 422
    assert (await patch_execution(client, op, parent["uuid"])).status_code == 200
    assert (await patch_execution(client, op, parent["uuid"], status="waiting")).status_code == 200
    await expect_new()

    # Stopping the child cancels it and its waiting parent: two events, one transaction, adjacent seqs.
    response = await stop_execution(client, op, child["uuid"])
    assert response.json()["meta"]["cascade_cancelled"] == [parent["uuid"]]
    await expect_new(("execution.stopped", child["uuid"], 6), ("execution.cancelled", parent["uuid"], 4))
    assert (await stop_execution(client, op, child["uuid"])).json()["meta"]["stopped"] is False
    await expect_new()

    assert (await client.delete(f"{EXECUTIONS}/{child['uuid']}", headers=op.headers)).status_code == 204
    await expect_new(("execution.deleted", child["uuid"], 7))

    # The payload is the execution as it was after the change.
    events = await read_events(services, world.ws["A"])
    assert [e.status for e in events if e.execution_uuid == parent["uuid"]] == [
        "running",
        "waiting",
        "waiting",
        "cancelled",
    ]
    # Workspace B has its own sequence, untouched by A's changes.
    assert await read_events(services, world.ws["B"]) == []
    b = await create_execution(client, world.operator_b, world.workflows["Invoice sync"])
    b_events = await read_events(services, world.ws["B"])
    assert [(e.seq, e.execution_uuid) for e in b_events] == [(1, b["uuid"])]
    assert_gapless(await read_events(services))


async def test_event_versions_match_the_execution(client: httpx.AsyncClient, world: World, services: Services) -> None:
    execution = await create_execution(client, world.operator_a, world.workflows["Customer onboarding"])
    for status in ("running", "paused", "running", "completed"):
        assert (await patch_execution(client, world.operator_a, execution["uuid"], status=status)).status_code == 200
    events = await read_events(services, world.ws["A"])
    assert [(e.version, e.status) for e in events] == [
        (1, "pending"),
        (2, "running"),
        (3, "paused"),
        (4, "running"),
        (5, "completed"),
    ]
    assert (await get_execution(client, world.viewer_a, execution["uuid"]))["version"] == events[-1].version
