"""Tenant isolation: another workspace's data is invisible (404 or empty), never 403."""

from __future__ import annotations

import uuid

import httpx

from app.services import Services
from tests.conftest import (
    API,
    EXECUTIONS,
    World,
    create_execution,
    get_execution,
    list_uuids,
    read_events,
)


async def test_a_foreign_execution_looks_exactly_like_a_missing_one(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    foreign = await create_execution(client, world.operator_b, world.workflows["Invoice sync"], status="waiting")
    missing = str(uuid.uuid4())
    events = await read_events(services)
    headers = world.admin_a.headers  # the strongest role in A

    def calls(target: str) -> list[tuple[str, str, dict | None]]:
        return [
            ("GET", f"{EXECUTIONS}/{target}", None),
            ("PATCH", f"{EXECUTIONS}/{target}", {"status": "running"}),
            ("PUT", f"{EXECUTIONS}/{target}", {"mode": "x"}),
            ("DELETE", f"{EXECUTIONS}/{target}", None),
            ("POST", f"{EXECUTIONS}/{target}/stop", None),
            ("POST", f"{API}/workflow-approvals", {"execution_uuid": target, "node_id": "n", "title": "t"}),
            ("POST", f"{API}/command-room-tasks", {"execution_uuid": target}),
        ]

    for (method, url, body), (_, missing_url, missing_body) in zip(calls(foreign["uuid"]), calls(missing), strict=True):
        got = await client.request(method, url, json=body, headers=headers)
        expected = await client.request(method, missing_url, json=missing_body, headers=headers)
        assert got.status_code == 404, (method, url, got.text)
        assert got.json() == expected.json(), (method, url)  # same answer: existence does not leak

    # B's execution is untouched and no event was written anywhere.
    assert await read_events(services) == events
    still = await get_execution(client, world.operator_b, foreign["uuid"])
    assert still["status"] == "waiting" and still["version"] == 1 and still["deleted_at"] is None


async def test_foreign_scopes_in_lists_counts_and_lookups(client: httpx.AsyncClient, world: World) -> None:
    b_exec = await create_execution(client, world.operator_b, world.workflows["Invoice sync"], status="running")
    a_exec = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="running")
    h = world.operator_a.headers
    b_ws, b_wf = world.ws["B"], world.workflows["Invoice sync"]

    assert (await client.get(EXECUTIONS, params={"workspace_uuid": b_ws}, headers=h)).status_code == 404
    assert (await client.get(EXECUTIONS, params={"workflow_uuid": b_wf}, headers=h)).status_code == 404
    mixed = [("workflow_uuids[]", world.workflows["Invoice approval"]), ("workflow_uuids[]", b_wf)]
    assert (await client.get(EXECUTIONS, params=mixed, headers=h)).status_code == 404
    # B shares A's organization, but operator_a only sees A through it.
    assert await list_uuids(client, world.operator_a, organization_multiplai_id="org-1") == [a_exec["uuid"]]
    assert await list_uuids(client, world.operator_a, organization_multiplai_id="org-2") == []
    # The workspace filter wins over an organization the user could see, even when it is foreign.
    response = await client.get(
        EXECUTIONS, params={"workspace_uuid": b_ws, "organization_multiplai_id": "org-1"}, headers=h
    )
    assert response.status_code == 404
    # Searching for B's uuid from A finds nothing.
    assert await list_uuids(client, world.operator_a, organization_multiplai_id="org-1", search=b_exec["uuid"]) == []

    dates = {"start_date": "2000-01-01", "end_date": "2999-12-31"}
    count = await client.get(f"{EXECUTIONS}/count", params={"workspace_uuid": b_ws, **dates}, headers=h)
    assert count.status_code == 404
    count = await client.get(f"{EXECUTIONS}/count", params={"multiplai_id": "org-1", **dates}, headers=h)
    assert count.json()["data"]["count"] == 1

    assert (await client.get(f"{API}/workspaces/{b_ws}", headers=h)).status_code == 404
    assert (await client.get(f"{API}/workflows/{b_wf}", headers=h)).status_code == 404
    assert (await client.get(f"{API}/workflows", params={"workspace_uuid": b_ws}, headers=h)).status_code == 404
    assert (
        await client.get(f"{API}/workflow-approvals", params={"workspace_uuid": b_ws}, headers=h)
    ).status_code == 404
    workspaces = (await client.get(f"{API}/workspaces", headers=h)).json()["data"]
    assert [w["uuid"] for w in workspaces] == [world.ws["A"]]
    workflows = (await client.get(f"{API}/workflows", headers=h)).json()["data"]
    assert {w["uuid"] for w in workflows} == {
        world.workflows["Invoice approval"],
        world.workflows["Customer onboarding"],
    }


async def test_foreign_writes_are_404(client: httpx.AsyncClient, world: World) -> None:
    h = world.operator_a.headers
    response = await client.post(EXECUTIONS, json={"workflow_uuid": world.workflows["Invoice sync"]}, headers=h)
    assert response.status_code == 404
    response = await client.post(
        f"{API}/workflows", json={"workspace_uuid": world.ws["B"], "name": "Sneaky"}, headers=h
    )
    assert response.status_code == 404
    # operator_b flags an execution of B; operator_a cannot unflag it.
    b_exec = await create_execution(client, world.operator_b, world.workflows["Invoice sync"], status="running")
    task = await client.post(
        f"{API}/command-room-tasks", json={"execution_uuid": b_exec["uuid"]}, headers=world.operator_b.headers
    )
    assert task.status_code == 201
    assert (
        await client.delete(f"{API}/command-room-tasks/{task.json()['data']['uuid']}", headers=h)
    ).status_code == 404
    # B's approvals do not show up in A's inbox.
    waiting = await create_execution(client, world.operator_b, world.workflows["Invoice sync"], status="waiting")
    approval = await client.post(
        f"{API}/workflow-approvals",
        json={"execution_uuid": waiting["uuid"], "node_id": "n", "title": "B only"},
        headers=world.operator_b.headers,
    )
    assert approval.status_code == 201
    assert (await client.get(f"{API}/workflow-approvals", headers=h)).json()["data"] == []
    assert (await client.get(f"{API}/workflow-approvals", headers=world.operator_b.headers)).json()["meta"][
        "total"
    ] == 1


async def test_roles_apply_per_workspace(client: httpx.AsyncClient, world: World, services: Services) -> None:
    """multi is viewer in A, operator in B and admin in C."""
    a_exec = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="running")
    b_exec = await create_execution(client, world.operator_b, world.workflows["Invoice sync"], status="running")
    h = world.multi.headers
    assert (await client.get(f"{EXECUTIONS}/{a_exec['uuid']}", headers=h)).status_code == 200
    assert (await client.post(f"{EXECUTIONS}/{a_exec['uuid']}/stop", headers=h)).status_code == 403
    assert (
        await client.post(EXECUTIONS, json={"workflow_uuid": world.workflows["Invoice approval"]}, headers=h)
    ).status_code == 403
    assert (await client.post(f"{EXECUTIONS}/{b_exec['uuid']}/stop", headers=h)).status_code == 200
    created = await client.post(EXECUTIONS, json={"workflow_uuid": world.workflows["Payroll run"]}, headers=h)
    assert created.status_code == 201

    # Losing a membership removes access at once, with 404 (not 403).
    ws_a = (await services.accounts.authenticate_token(world.multi.token)).workspace_by_uuid(uuid.UUID(world.ws["A"]))
    await services.accounts.remove_membership(world.multi.user_id, ws_a.workspace_id)
    assert (await client.get(f"{EXECUTIONS}/{a_exec['uuid']}", headers=h)).status_code == 404
    assert (await client.get(EXECUTIONS, params={"workspace_uuid": world.ws["A"]}, headers=h)).status_code == 404
    me = (await client.get(f"{API}/user", headers=h)).json()["data"]
    assert {w["uuid"] for w in me["workspaces"]} == {world.ws["B"], world.ws["C"]}
