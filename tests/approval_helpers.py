"""Helpers for the approval tests: waiting executions with pending approvals, event and audit rows."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select

from app.db.models import ApprovalAudit, ExecutionEvent, User, WorkflowApproval, WorkflowExecution
from app.services import Services
from tests.conftest import API, Actor, create_execution, patch_execution

APPROVALS = f"{API}/workflow-approvals"


async def waiting_execution(client: httpx.AsyncClient, actor: Actor, workflow_uuid: str) -> dict[str, Any]:
    execution = await create_execution(client, actor, workflow_uuid, status="running")
    response = await patch_execution(client, actor, execution["uuid"], status="waiting")
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def request_approval(
    client: httpx.AsyncClient, actor: Actor, execution_uuid: str, title: str = "Check the output", **body: Any
) -> dict[str, Any]:
    payload = {"execution_uuid": execution_uuid, "node_id": "review", "title": title, **body}
    response = await client.post(APPROVALS, json=payload, headers=actor.headers)
    assert response.status_code == 201, response.text
    return response.json()["data"]


async def pending_approval(
    client: httpx.AsyncClient, actor: Actor, workflow_uuid: str, **body: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A waiting execution with one pending approval: (execution, approval)."""
    execution = await waiting_execution(client, actor, workflow_uuid)
    return execution, await request_approval(client, actor, execution["uuid"], **body)


async def decide(
    client: httpx.AsyncClient, actor: Actor, approval_uuid: str, action: str = "approve", **body: Any
) -> httpx.Response:
    return await client.post(f"{APPROVALS}/{approval_uuid}/{action}", json=body, headers=actor.headers)


async def execution_events(services: Services, execution_uuid: str) -> list[Any]:
    """(type, version, payload) of one execution's event rows, in seq order."""
    async with services.db.read() as session:
        rows = await session.execute(
            select(ExecutionEvent.type, ExecutionEvent.version, ExecutionEvent.payload)
            .join(WorkflowExecution, WorkflowExecution.id == ExecutionEvent.execution_id)
            .where(WorkflowExecution.uuid == uuid.UUID(execution_uuid))
            .order_by(ExecutionEvent.seq)
        )
        return list(rows.all())


async def assert_events_match_commits(services: Services, execution_uuid: str) -> list[Any]:
    """One event row per committed change: versions run 1..n and n is the execution's version."""
    events = await execution_events(services, execution_uuid)
    async with services.db.read() as session:
        version = (
            await session.execute(
                select(WorkflowExecution.version).where(WorkflowExecution.uuid == uuid.UUID(execution_uuid))
            )
        ).scalar_one()
    assert [e.version for e in events] == list(range(1, version + 1)), [(e.type, e.version) for e in events]
    return events


async def audit_rows(services: Services, approval_uuid: str) -> list[tuple[str, str | None, str | None]]:
    """(action, actor email, comment) of an approval's audit rows, oldest first."""
    async with services.db.read() as session:
        rows = await session.execute(
            select(ApprovalAudit.action, User.email, ApprovalAudit.comment)
            .join(WorkflowApproval, WorkflowApproval.id == ApprovalAudit.approval_id)
            .outerjoin(User, User.id == ApprovalAudit.actor_id)
            .where(WorkflowApproval.uuid == uuid.UUID(approval_uuid))
            .order_by(ApprovalAudit.created_at, ApprovalAudit.id)
        )
        return [tuple(r) for r in rows.all()]
