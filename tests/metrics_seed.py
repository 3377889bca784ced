"""Hand-made executions with known times for the metrics tests (inserted directly: the API never
lets a client choose created_at, started_at or an approval's decision time)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select

from app.db.models import Workflow, WorkflowApproval, WorkflowExecution, WorkflowExecutionData, Workspace
from app.services import Services
from tests.conftest import World


def at(day: int, hour: int, minute: int = 0, second: int = 0, month: int = 3) -> dt.datetime:
    return dt.datetime(2025, month, day, hour, minute, second, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Run:
    key: str
    workflow: str
    status: str
    created: dt.datetime
    seconds: float | None  # run time; None: still running
    deleted: bool = False


# Workspace A: "Invoice approval" (inv) and "Customer onboarding" (onb); B: "Invoice sync".
RUNS = [
    Run("inv1", "Invoice approval", "completed", at(3, 10, 5), 10),
    Run("inv2", "Invoice approval", "completed", at(3, 10, 20), 20),
    Run("inv3", "Invoice approval", "failed", at(3, 10, 40), 40),
    Run("onb1", "Customer onboarding", "completed", at(3, 11, 10), 30),
    Run("onb2", "Customer onboarding", "running", at(3, 11, 30), None),
    Run("inv4", "Invoice approval", "cancelled", at(4, 9), 5),
    Run("inv5", "Invoice approval", "completed", at(10, 8), 60),
    Run("gone", "Invoice approval", "failed", at(3, 10, 50), 1, deleted=True),
    Run("later", "Invoice approval", "completed", at(1, 12, month=4), 1),
    Run("b1", "Invoice sync", "failed", at(3, 10, 30), 100),
]
# (execution, status, requested, seconds until decided)
APPROVALS = [
    ("inv1", "approved", at(3, 10, 5, 2), 6),
    ("inv2", "rejected", at(3, 10, 20), 600),
    ("onb1", "approved", at(3, 11, 10), 120),
    ("onb2", "pending", at(3, 11, 31), None),
    ("inv3", "cancelled", at(3, 10, 40), 30),
]


def node(node_id: str, status: str, start: dt.datetime, seconds: float) -> dict[str, Any]:
    stop = start + dt.timedelta(seconds=seconds)
    return {"node_id": node_id, "node_name": node_id.title(), "status": status,
            "started_at": start.isoformat(), "stopped_at": stop.isoformat()}  # fmt: skip


NODE_RUNS = {
    "inv1": [node("start", "success", at(3, 10, 5), 1), node("review", "success", at(3, 10, 5, 1), 3)],
    "inv3": [node("start", "success", at(3, 10, 40), 2), node("review", "error", at(3, 10, 40, 2), 1)],
}


async def seed_metrics(services: Services, world: World) -> dict[str, int]:
    """Insert RUNS, APPROVALS and NODE_RUNS; returns execution ids by key."""
    ids: dict[str, int] = {}
    async with services.db.write() as session:
        wf = {
            name: (wf_id, ws_id)
            for wf_id, ws_id, name in await session.execute(
                select(Workflow.id, Workflow.workspace_id, Workflow.name).where(
                    Workflow.uuid.in_([uuid.UUID(u) for u in world.workflows.values()])
                )
            )
        }
        for run in RUNS:
            wf_id, ws_id = wf[run.workflow]
            started = run.created + dt.timedelta(seconds=0)
            stopped = None if run.seconds is None else started + dt.timedelta(seconds=run.seconds)
            ids[run.key] = (
                await session.execute(
                    insert(WorkflowExecution)
                    .values(
                        uuid=uuid.uuid4(), workspace_id=ws_id, workflow_id=wf_id, status=run.status,
                        started_at=started, stopped_at=stopped, created_at=run.created,
                        updated_at=stopped or started, deleted_at=run.created if run.deleted else None, version=1,
                    )
                    .returning(WorkflowExecution.id)
                )
            ).scalar_one()  # fmt: skip
        for key, status, requested, seconds in APPROVALS:
            ws_id = wf[next(r.workflow for r in RUNS if r.key == key)][1]
            decided = None if seconds is None else requested + dt.timedelta(seconds=seconds)
            await session.execute(
                insert(WorkflowApproval).values(
                    uuid=uuid.uuid4(), execution_id=ids[key], workspace_id=ws_id, node_id="review", title="Review",
                    status=status, requested_at=requested, decided_at=decided, high_risk=False,
                )
            )  # fmt: skip
        for key, runs in NODE_RUNS.items():
            await session.execute(
                insert(WorkflowExecutionData).values(uuid=uuid.uuid4(), execution_id=ids[key], workflow_data=runs)
            )
    return ids


async def workspace_id(services: Services, workspace_uuid: str) -> int:
    async with services.db.read() as session:
        return (
            await session.execute(select(Workspace.id).where(Workspace.uuid == uuid.UUID(workspace_uuid)))
        ).scalar_one()
