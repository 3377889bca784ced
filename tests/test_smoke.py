from __future__ import annotations

import httpx

from tests.conftest import World, create_execution


async def test_create_and_list(client: httpx.AsyncClient, world: World) -> None:
    created = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="running")
    response = await client.get(
        "/api/v1/workflow-executions", params={"workspace_uuid": world.ws["A"]}, headers=world.viewer_a.headers
    )
    assert response.status_code == 200
    body = response.json()
    assert [e["uuid"] for e in body["data"]] == [created["uuid"]]
    assert body["meta"]["total"] == 1
