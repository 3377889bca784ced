"""Helpers for the fault-injection tests: big execution trees seeded in bulk, database snapshots,
and a lock that parks a stop cascade in the middle of its transaction (PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import func, insert, select

from app.db.models import ExecutionEvent, WorkflowApproval, WorkflowExecution, Workspace
from app.db.models.base import new_uuid, utcnow
from app.services import Services

E = WorkflowExecution


@dataclass
class SeededTree:
    workspace_id: int
    ids: list[int]  # every execution, root first
    leaf_uuid: str  # a deepest leaf: stopping it climbs through waiting ancestors to the root
    root_uuid: str


async def ids_of(services: Services, workspace_uuid: str, workflow_uuid: str) -> tuple[int, int]:
    from app.db.models import Workflow

    async with services.db.read() as session:
        ws = (
            await session.execute(select(Workspace.id).where(Workspace.uuid == uuid.UUID(workspace_uuid)))
        ).scalar_one()
        wf = (await session.execute(select(Workflow.id).where(Workflow.uuid == uuid.UUID(workflow_uuid)))).scalar_one()
    return ws, wf


async def seed_tree(
    services: Services, workspace_uuid: str, workflow_uuid: str, *, depth: int = 6, fanout: int = 4, approvals: int = 20
) -> SeededTree:
    """A ``fanout``-ary tree of ``depth`` levels (4 and 6: 1+4+...+1024 = 1,365 executions): inner
    nodes wait on their children, leaves run; ``approvals`` inner nodes have a pending approval."""
    workspace_id, workflow_id = await ids_of(services, workspace_uuid, workflow_uuid)
    now = utcnow()
    all_ids: list[int] = []
    uuids: dict[int, uuid.UUID] = {}
    parents: list[int | None] = [None]
    async with services.db.write() as session:
        for level in range(depth):
            status = "running" if level == depth - 1 else "waiting"
            rows = []
            for parent in parents:
                for _ in range(1 if parent is None else fanout):
                    u = new_uuid()
                    rows.append(
                        {
                            "uuid": u, "workspace_id": workspace_id, "workflow_id": workflow_id,
                            "parent_execution_id": parent, "status": status, "version": 1,
                            "started_at": now, "created_at": now, "updated_at": now,
                        }
                    )  # fmt: skip
            result = await session.execute(insert(E).returning(E.id, E.uuid, sort_by_parameter_order=True), rows)
            level_ids = []
            for row in result.all():
                level_ids.append(row.id)
                uuids[row.id] = row.uuid
            all_ids += level_ids
            parents = list(level_ids)
        inner = [i for i in all_ids if i not in set(parents)][:approvals]
        await session.execute(
            insert(WorkflowApproval),
            [
                {
                    "uuid": new_uuid(), "execution_id": i, "workspace_id": workspace_id, "node_id": "review",
                    "title": "Check", "status": "pending", "requested_at": now, "high_risk": False,
                    "created_at": now, "updated_at": now,
                }
                for i in inner
            ],
        )  # fmt: skip
    return SeededTree(workspace_id, all_ids, str(uuids[parents[-1]]), str(uuids[all_ids[0]]))


@dataclass(frozen=True)
class Snapshot:
    statuses: Counter[str]
    versions: Counter[int]
    events: int
    event_seq: int
    pending_approvals: int


async def snapshot(services: Services, workspace_id: int) -> Snapshot:
    async with services.db.read() as session:
        rows = (await session.execute(select(E.status, E.version).where(E.workspace_id == workspace_id))).all()
        events = (
            await session.execute(
                select(func.count()).select_from(ExecutionEvent).where(ExecutionEvent.workspace_id == workspace_id)
            )
        ).scalar_one()
        seq = (await session.execute(select(Workspace.event_seq).where(Workspace.id == workspace_id))).scalar_one()
        pending = (
            await session.execute(
                select(func.count())
                .select_from(WorkflowApproval)
                .where(WorkflowApproval.workspace_id == workspace_id, WorkflowApproval.status == "pending")
            )
        ).scalar_one()
    return Snapshot(Counter(r.status for r in rows), Counter(r.version for r in rows), events, seq, pending)


def asyncpg_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


class WorkspaceCounterLock:
    """Hold the workspace's event counter row (PostgreSQL): a stop that already cancelled its rows
    blocks on it when it records its events, so the test can crash things mid-transaction."""

    def __init__(self, database_url: str, workspace_id: int) -> None:
        self.url = asyncpg_url(database_url)
        self.workspace_id = workspace_id
        self.conn: Any = None
        self.tx: Any = None

    async def __aenter__(self) -> WorkspaceCounterLock:
        self.conn = await asyncpg.connect(self.url)
        self.tx = self.conn.transaction()
        await self.tx.start()
        await self.conn.execute("SELECT 1 FROM workspaces WHERE id = $1 FOR NO KEY UPDATE", self.workspace_id)
        return self

    async def wait_for_blocked_writer(self, within: float = 30) -> None:
        """Until another session waits on a lock after having updated workflow_executions."""
        query = """
            SELECT count(*) FROM pg_stat_activity a
            WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.wait_event_type = 'Lock'
              AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.granted
                          AND l.relation = 'workflow_executions'::regclass AND l.mode = 'RowExclusiveLock')
        """
        deadline = asyncio.get_running_loop().time() + within
        while asyncio.get_running_loop().time() < deadline:
            if await self.conn.fetchval(query):
                return
            await asyncio.sleep(0.02)
        activity = await self.conn.fetch(
            "SELECT pid, datname, state, wait_event_type, wait_event, left(query, 60) AS q FROM pg_stat_activity"
            " WHERE pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        raise AssertionError(f"no writer blocked on the workspace counter: {[dict(r) for r in activity]}")

    async def __aexit__(self, *exc: object) -> None:
        # The server may have been crashed under us: a dead connection has nothing left to release.
        with contextlib.suppress(Exception):
            await self.tx.rollback()
        with contextlib.suppress(Exception):
            await self.conn.close()
