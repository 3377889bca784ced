"""Seed the demo organization: users, two workspaces, their workflows and 30 days of history.

Past history goes in with batched Core inserts inside one write transaction (seconds, not minutes);
it writes no ExecutionEvent rows, so every workspace's ``event_seq`` stays 0 and stays consistent.
"""

from __future__ import annotations

import datetime as dt
import random
import time
import uuid as uuid_lib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import (
    ApprovalAudit,
    CommandRoomTask,
    Organization,
    Role,
    Workflow,
    WorkflowApproval,
    WorkflowExecution,
    WorkflowExecutionData,
)
from app.db.models.base import new_uuid, utcnow
from app.demo.catalog import WORKSPACES, WorkflowSpec
from app.demo.graph import Graph, layout
from app.demo.history import History, SeedWorkflow
from app.demo.reviews import add_review_scenarios, complete_approval_rows, partial_audit_rows
from app.demo.trash import add_deletions
from app.services import Services

DEMO_ORG = "demo-org"
PASSWORD = "athena-demo"
SIMULATOR_EMAIL = "operator@demo.local"
BOTH = ("Operations", "Finance")
DEMO_USERS: list[tuple[str, str, Role, tuple[str, ...]]] = [
    ("admin@demo.local", "Ada Admin", Role.ADMIN, BOTH),
    ("operator@demo.local", "Oscar Operator", Role.OPERATOR, BOTH),
    ("approver@demo.local", "Alice Approver", Role.APPROVER, BOTH),
    ("viewer@demo.local", "Victor Viewer", Role.VIEWER, ("Operations",)),
]
WAITING_PER_WORKSPACE = 4
FLAGS_PER_WORKSPACE = 3


@dataclass
class SeedReport:
    created: bool
    seconds: float = 0.0
    workspaces: int = 0
    workflows: int = 0
    executions: int = 0
    children: int = 0
    retries: int = 0
    pending_approvals: int = 0
    command_room_tasks: int = 0
    deletions: int = 0
    by_status: Counter[str] = field(default_factory=Counter)

    def add(self, history: History, workflows: int) -> None:
        self.workspaces += 1
        self.workflows += workflows
        self.executions += len(history.executions)
        self.children += len(history.parent_of)
        self.retries += sum(1 for r in history.executions if r["retry_of"])
        self.pending_approvals += sum(1 for a in history.approvals if a["status"] == "pending")
        self.command_room_tasks += len(history.tasks)
        self.by_status.update(r["status"] for r in history.executions)


async def demo_exists(services: Services) -> bool:
    async with services.db.read() as session:
        found = await session.execute(select(Organization.id).where(Organization.multiplai_id == DEMO_ORG))
        return found.scalar_one_or_none() is not None


async def seed_demo(
    services: Services, *, executions: int = 3000, days: int = 30, seed: int = 7, now: dt.datetime | None = None
) -> SeedReport:
    """Create the demo organization unless it exists; ``executions`` top-level runs in all (children
    and retries come on top)."""
    if await demo_exists(services):
        return SeedReport(created=False)
    started = time.perf_counter()
    now = now or utcnow()
    rng = random.Random(seed)
    workspace_ids: dict[str, int] = {}
    workspace_uuids: dict[str, str] = {}
    for name in WORKSPACES:
        ws = await services.accounts.create_workspace(name, DEMO_ORG)
        workspace_ids[name], workspace_uuids[name] = ws.id, str(ws.uuid)
    users = await _create_users(services, workspace_uuids)
    report = SeedReport(created=True)
    async with services.db.write() as session:
        await session.execute(
            update(Organization).where(Organization.multiplai_id == DEMO_ORG).values(name="Demo Company")
        )
        for name, specs in WORKSPACES.items():
            workflows = await _insert_workflows(session, workspace_ids[name], specs, users["admin@demo.local"], now)
            history = History(rng, now, workspace_ids[name], workflows, users)
            history.add_past(executions // len(WORKSPACES), days)
            history.add_waiting(WAITING_PER_WORKSPACE)
            history.add_flags(FLAGS_PER_WORKSPACE)
            four_eyes = add_review_scenarios(history, users["approver@demo.local"], users["admin@demo.local"])
            history.add_attention(long_running=2, stuck_parents=2, overdue_waits=2)
            await _insert_history(session, history)
            if four_eyes:
                await session.execute(update(Workflow).where(Workflow.id.in_(four_eyes)).values(four_eyes=True))
            report.add(history, len(workflows))
    report.deletions = await add_deletions(services, list(workspace_ids.values()))
    report.seconds = time.perf_counter() - started
    return report


async def _create_users(services: Services, workspace_uuids: dict[str, str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for email, name, role, workspaces in DEMO_USERS:
        for ws_name in workspaces:
            user = await services.accounts.create_user(
                email, PASSWORD, name=name, workspace=workspace_uuids[ws_name], role=role
            )
            ids[email] = user.id
    return ids


async def _insert_workflows(
    session: AsyncSession, workspace_id: int, specs: list[WorkflowSpec], admin_id: int, now: dt.datetime
) -> list[SeedWorkflow]:
    rows, graphs = [], {}
    for i, spec in enumerate(specs):
        graph = Graph.from_payload(spec.node_dicts(), spec.edge_dicts())
        graphs[spec.name] = graph
        positions = layout(graph)
        created = now - dt.timedelta(days=40 + 9 * i, hours=3 * i)
        rows.append(
            {
                "uuid": new_uuid(),
                "workspace_id": workspace_id,
                "user_id": admin_id,
                "name": spec.name,
                "description": spec.description,
                "visibility": "workspace",
                "is_active": True,
                "trigger_count": 0,
                "allow_cloning": False,
                "allow_account_usage": False,
                "nodes": [n | {"position": positions[n["id"]]} for n in spec.node_dicts()],
                "edges": spec.edge_dicts(),
                "created_at": created,
                "updated_at": created,
            }
        )
    await session.execute(insert(Workflow), rows)
    ids = dict(
        (await session.execute(select(Workflow.name, Workflow.id).where(Workflow.workspace_id == workspace_id))).all()
    )
    return [SeedWorkflow(ids[spec.name], spec, graphs[spec.name]) for spec in specs]


async def _execution_ids(session: AsyncSession, workspace_id: int) -> dict[uuid_lib.UUID, int]:
    rows = await session.execute(
        select(WorkflowExecution.uuid, WorkflowExecution.id).where(WorkflowExecution.workspace_id == workspace_id)
    )
    return {r.uuid: r.id for r in rows}


async def _insert_history(session: AsyncSession, history: History) -> None:
    # Parents first: children need their integer parent_execution_id.
    top = [r for r in history.executions if r["uuid"] not in history.parent_of]
    children = [r for r in history.executions if r["uuid"] in history.parent_of]
    await session.execute(insert(WorkflowExecution), top)
    ids = await _execution_ids(session, history.workspace_id)
    if children:
        for row in children:
            row["parent_execution_id"] = ids[history.parent_of[row["uuid"]]]
        await session.execute(insert(WorkflowExecution), children)
        ids = await _execution_ids(session, history.workspace_id)
    await session.execute(insert(WorkflowExecutionData), _data_rows(history, ids))
    if history.approvals:
        complete_approval_rows(history)
        rows = [{k: v for k, v in a.items() if k != "first_approved_by_id"} for a in history.approvals]
        await session.execute(insert(WorkflowApproval), _linked(rows, ids))
        await _insert_approval_audit(session, history)
    if history.tasks:
        await session.execute(insert(CommandRoomTask), _linked(history.tasks, ids))
    await _update_workflow_counters(session, history)


def _data_rows(history: History, ids: dict[uuid_lib.UUID, int]) -> list[dict[str, Any]]:
    by_uuid = {r["uuid"]: r for r in history.executions}
    return [
        {
            "uuid": new_uuid(),
            "execution_id": ids[uuid],
            "workflow_data": data["workflow_data"],
            "metadata_": data["metadata"],
            "data": None,
            "created_at": by_uuid[uuid]["created_at"],
            "updated_at": by_uuid[uuid]["updated_at"],
        }
        for uuid, data in history.data.items()
    ]


async def _insert_approval_audit(session: AsyncSession, history: History) -> None:
    """The trail the API would have written: each approval's request and, if decided, its decision."""
    A = WorkflowApproval
    rows = await session.execute(select(A.uuid, A.id, A.execution_id).where(A.workspace_id == history.workspace_id))
    ids = {r.uuid: (r.id, r.execution_id) for r in rows}

    def entry(
        approval: dict[str, Any], actor_id: int | None, action: str, comment: str | None, at: Any
    ) -> dict[str, Any]:
        approval_id, execution_id = ids[approval["uuid"]]
        return {
            "approval_id": approval_id,
            "execution_id": execution_id,
            "workspace_id": history.workspace_id,
            "actor_id": actor_id,
            "action": action,
            "comment": comment,
            "created_at": at,
            "updated_at": at,
        }

    audit = []
    for a in history.approvals:
        audit.append(entry(a, a["requested_by_id"], "requested", None, a["requested_at"]))
        if a["status"] != "pending":
            audit.append(entry(a, a["decided_by_id"], a["status"], a["comment"], a["decided_at"]))
    for a, actor_id, comment in partial_audit_rows(history):
        at = min(history.now, a["requested_at"] + dt.timedelta(minutes=20))
        audit.append(entry(a, actor_id, "approved", comment, at))
    await session.execute(insert(ApprovalAudit), audit)


def _linked(rows: list[dict[str, Any]], ids: dict[uuid_lib.UUID, int]) -> list[dict[str, Any]]:
    """Swap the ``execution_uuid`` the builder used for the inserted integer id."""
    out = []
    for row in rows:
        linked = dict(row)
        linked["execution_id"] = ids[linked.pop("execution_uuid")]
        out.append(linked)
    return out


async def _update_workflow_counters(session: AsyncSession, history: History) -> None:
    E = WorkflowExecution
    rows = await session.execute(
        select(E.workflow_id, func.count(), func.max(E.created_at))
        .where(E.workspace_id == history.workspace_id)
        .group_by(E.workflow_id)
    )
    values = [{"id": wf_id, "trigger_count": n, "last_used_at": last} for wf_id, n, last in rows]
    if values:
        await session.execute(update(Workflow), values)
