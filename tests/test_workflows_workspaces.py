"""Workspaces and workflows: listing, lookups, counters and POST /workflows validation."""

from __future__ import annotations

import httpx

from tests.conftest import API, EXECUTIONS, World, create_execution, stop_execution

WORKFLOWS = f"{API}/workflows"


async def test_workspaces(client: httpx.AsyncClient, world: World) -> None:
    listed = (await client.get(f"{API}/workspaces", headers=world.multi.headers)).json()["data"]
    assert [(w["name"], w["role"], w["organization_multiplai_id"]) for w in listed] == [
        ("Workspace A", "viewer", "org-1"),
        ("Workspace B", "operator", "org-1"),
        ("Workspace C", "admin", "org-2"),
    ]
    one = await client.get(f"{API}/workspaces/{world.ws['B']}", headers=world.multi.headers)
    assert one.status_code == 200
    assert one.json()["data"]["uuid"] == world.ws["B"] and one.json()["data"]["role"] == "operator"
    assert (await client.get(f"{API}/workspaces/{world.ws['B']}", headers=world.viewer_a.headers)).status_code == 404


async def test_workflow_listing_search_and_counters(client: httpx.AsyncClient, world: World) -> None:
    inv = world.workflows["Invoice approval"]
    running = await create_execution(client, world.operator_a, inv, status="running")
    await create_execution(client, world.operator_a, inv, status="completed")
    waiting = await create_execution(client, world.operator_a, inv, status="waiting")
    review = await client.post(
        f"{API}/workflow-approvals",
        json={"execution_uuid": waiting["uuid"], "node_id": "review", "title": "Approve"},
        headers=world.operator_a.headers,
    )
    assert review.status_code == 201
    await stop_execution(client, world.operator_a, running["uuid"])

    listed = await client.get(WORKFLOWS, params={"workspace_uuid": world.ws["A"]}, headers=world.viewer_a.headers)
    body = listed.json()
    assert [w["name"] for w in body["data"]] == ["Customer onboarding", "Invoice approval"]  # by name
    assert body["meta"]["total"] == 2
    invoice = body["data"][1]
    assert invoice["uuid"] == inv
    assert (
        invoice["executions_count"],
        invoice["executions_in_progress_count"],
        invoice["executions_completed_count"],
        invoice["executions_for_review_count"],
        invoice["trigger_count"],
    ) == (3, 1, 1, 1, 3)
    assert invoice["is_owner"] is False  # created by admin_a
    own = (await client.get(f"{WORKFLOWS}/{inv}", headers=world.admin_a.headers)).json()["data"]
    assert own["is_owner"] is True and own["executions_count"] == 3
    assert [e["source"] for e in own["edges"]] == ["start", "review"]

    search = await client.get(WORKFLOWS, params={"search": "ONBOARD"}, headers=world.multi.headers)
    assert [w["name"] for w in search.json()["data"]] == ["Customer onboarding"]
    wildcard = await client.get(WORKFLOWS, params={"search": "_"}, headers=world.multi.headers)
    assert wildcard.json()["data"] == []
    # Without a workspace: every workflow of every workspace the user belongs to.
    all_of_multi = await client.get(WORKFLOWS, headers=world.multi.headers)
    assert all_of_multi.json()["meta"]["total"] == 4
    paged = await client.get(WORKFLOWS, params={"per_page": 3, "page": 2}, headers=world.multi.headers)
    assert len(paged.json()["data"]) == 1 and paged.json()["meta"]["last_page"] == 2


async def test_create_workflow(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post(
        WORKFLOWS,
        json={
            "workspace_uuid": world.ws["A"],
            "name": "  Month-end close  ",
            "description": "Closes the books",
            "visibility": "private",
            "nodes": [{"id": "a", "name": "Start", "position": {"x": 0, "y": 1.5}}, {"id": "b"}],
            "edges": [{"source": "a", "target": "b", "label": "then"}],
        },
        headers=world.operator_a.headers,
    )
    assert response.status_code == 201, response.text
    created = response.json()["data"]
    assert created["name"] == "Month-end close" and created["visibility"] == "private"
    assert created["workspace_uuid"] == world.ws["A"] and created["is_owner"] is True
    assert created["executions_count"] == 0 and created["trigger_count"] == 0
    assert [n["id"] for n in created["nodes"]] == ["a", "b"]
    fetched = (await client.get(f"{WORKFLOWS}/{created['uuid']}", headers=world.viewer_a.headers)).json()["data"]
    assert fetched["nodes"] == created["nodes"] and fetched["edges"] == created["edges"]
    # It can be executed straight away.
    run = await client.post(EXECUTIONS, json={"workflow_uuid": created["uuid"]}, headers=world.operator_a.headers)
    assert run.status_code == 201


async def test_create_workflow_validation(client: httpx.AsyncClient, world: World) -> None:
    base = {"workspace_uuid": world.ws["A"], "name": "W"}
    cases = [
        ({"workspace_uuid": world.ws["A"]}, "name"),
        ({**base, "name": ""}, "name"),
        ({**base, "name": "n" * 256}, "name"),
        ({**base, "workspace_uuid": "nope"}, "workspace_uuid"),
        ({"name": "W"}, "workspace_uuid"),
        ({**base, "visibility": "everyone"}, "visibility"),
        ({**base, "owner": "me"}, "owner"),
        ({**base, "nodes": [{"id": "a"}, {"id": "a"}]}, "nodes"),
        ({**base, "nodes": [{"id": ""}]}, "nodes[0].id"),
        ({**base, "nodes": [{"id": "a"}], "edges": [{"source": "a", "target": "ghost"}]}, "edges"),
        ({**base, "edges": [{"source": "a"}]}, "edges[0].target"),
        ({**base, "is_active": "maybe"}, "is_active"),
    ]
    for body, field in cases:
        response = await client.post(WORKFLOWS, json=body, headers=world.operator_a.headers)
        assert response.status_code == 422, (body, response.text)
        assert field in response.json()["errors"], (body, response.json())
    listed = await client.get(WORKFLOWS, params={"workspace_uuid": world.ws["A"]}, headers=world.viewer_a.headers)
    assert listed.json()["meta"]["total"] == 2  # nothing was created
    assert (await client.post(WORKFLOWS, json=base, headers=world.viewer_a.headers)).status_code == 403
    assert (await client.post(WORKFLOWS, json=base, headers=world.operator_b.headers)).status_code == 404
