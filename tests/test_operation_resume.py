"""A bulk operation survives a crash: the server is killed (SIGKILL) in the middle of a tracked bulk
stop; the restarted server resumes it by itself and every execution is stopped exactly once (one
event, one audit row each), with one summary row at the end."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
from sqlalchemy import func, insert, select

from app.db.models import ExecutionEvent, OperatorAction, WorkflowExecution
from app.db.models.base import new_uuid, utcnow
from app.services import Services
from tests.conftest import World
from tests.fault_helpers import ids_of
from tests.servers import AppServer

E = WorkflowExecution
COUNT = 1000


async def _seed(services: Services, world: World) -> tuple[int, list[str]]:
    workspace_id, workflow_id = await ids_of(services, world.ws["A"], world.workflows["Invoice approval"])
    now = utcnow()
    rows = [
        {"uuid": new_uuid(), "workspace_id": workspace_id, "workflow_id": workflow_id, "status": "running",
         "version": 1, "started_at": now, "created_at": now, "updated_at": now}
        for _ in range(COUNT)
    ]  # fmt: skip
    async with services.db.write() as session:
        await session.execute(insert(E), rows)
    return workspace_id, [str(r["uuid"]) for r in rows]


async def _counts(services: Services, workspace_id: int) -> tuple[int, int, int, int]:
    async with services.db.read() as session:
        cancelled = (
            await session.execute(select(func.count()).where(E.workspace_id == workspace_id, E.status == "cancelled"))
        ).scalar_one()
        events = (
            await session.execute(select(func.count()).where(ExecutionEvent.workspace_id == workspace_id))
        ).scalar_one()
        stops = (
            await session.execute(
                select(func.count(func.distinct(OperatorAction.execution_id))).where(OperatorAction.action == "stop")
            )
        ).scalar_one()
        rows = (await session.execute(select(func.count()).where(OperatorAction.action == "stop"))).scalar_one()
    return cancelled, events, stops, rows


async def test_server_killed_mid_operation_resumes_it(
    database_url: str, tmp_path: Path, world: World, services: Services
) -> None:
    workspace_id, uuids = await _seed(services, world)
    _, events_before, _, _ = await _counts(services, workspace_id)
    server = AppServer(database_url, None, tmp_path)
    server.start()
    try:
        async with httpx.AsyncClient(base_url=server.base_url, headers=world.operator_a.headers, timeout=60) as c:
            body = {"action": "stop", "ids": uuids, "reason": "crash drill", "confirm_count": COUNT}
            started = await c.post("/api/v1/workflow-executions/bulk", json=body)
            assert started.status_code == 202, started.text
            operation = started.json()["data"]["uuid"]
            deadline = time.monotonic() + 60
            while True:
                progress = (await c.get(f"/api/v1/operations/{operation}")).json()["data"]
                if progress["processed"] > 0:
                    break
                assert time.monotonic() < deadline, "the operation never progressed"
                await asyncio.sleep(0.01)
        server.kill()
        cancelled, _, _, _ = await _counts(services, workspace_id)
        assert 0 < cancelled < COUNT, f"kill came too late or too early: {cancelled} stopped"

        server = AppServer(database_url, None, tmp_path)
        server.start()  # resumes the open operation
        async with httpx.AsyncClient(base_url=server.base_url, headers=world.operator_a.headers, timeout=60) as c:
            deadline = time.monotonic() + 120
            while (result := (await c.get(f"/api/v1/operations/{operation}")).json()["data"])["status"] != "done":
                assert result["status"] == "running" and time.monotonic() < deadline, result["status"]
                await asyncio.sleep(0.1)
    finally:
        server.stop()

    assert result["done"] == COUNT and result["skipped"] == 0 and result["processed"] == COUNT
    cancelled, events, stopped_once, stop_rows = await _counts(services, workspace_id)
    assert cancelled == COUNT
    assert events == events_before + COUNT  # one event per execution, none twice
    assert stopped_once == stop_rows == COUNT  # one audit row per execution
    async with services.db.read() as session:
        summaries = (await session.execute(select(func.count()).where(OperatorAction.action == "bulk"))).scalar_one()
    assert summaries == 1
