"""What a PATCH does beyond the row: finished executions release their reviews; no-op writes are not changes."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from app.db.models import ExecutionEvent
from app.services import Services
from tests.conftest import World, create_execution


@pytest.mark.parametrize("final", ["cancelled", "failed"])
async def test_finishing_a_waiting_execution_cancels_its_pending_approvals(
    client: httpx.AsyncClient, world: World, final: str
) -> None:
    execution = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="running")
    path = f"/api/v1/workflow-executions/{execution['uuid']}"
    assert (await client.patch(path, json={"status": "waiting"}, headers=world.operator_a.headers)).status_code == 200
    r = await client.post(
        "/api/v1/workflow-approvals",
        json={"execution_uuid": execution["uuid"], "node_id": "review", "title": "Check the invoice"},
        headers=world.operator_a.headers,
    )
    assert r.status_code == 201
    assert (await client.patch(path, json={"status": final}, headers=world.operator_a.headers)).status_code == 200
    pending = await client.get(
        "/api/v1/workflow-approvals", params={"status": "pending"}, headers=world.approver_a.headers
    )
    assert pending.json()["meta"]["total"] == 0
    cancelled = (
        await client.get("/api/v1/workflow-approvals", params={"status": "cancelled"}, headers=world.approver_a.headers)
    ).json()["data"]
    assert [a["title"] for a in cancelled] == ["Check the invoice"]
    assert final in cancelled[0]["comment"]


async def test_resending_current_values_changes_nothing(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    execution = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], mode="manual")
    path = f"/api/v1/workflow-executions/{execution['uuid']}"
    first = (await client.patch(path, json={"mode": "retry"}, headers=world.operator_a.headers)).json()["data"]
    again = (await client.patch(path, json={"mode": "retry"}, headers=world.operator_a.headers)).json()["data"]
    assert first["version"] == again["version"] == 2
    async with services.db.read() as session:
        events = (await session.execute(select(func.count()).select_from(ExecutionEvent))).scalar_one()
    assert events == 2  # created + the one real change
