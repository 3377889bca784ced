"""The read model of one execution's page: the execution, its graph, node runs, children,
reviews, command-room flags, timeline, stop note and retry state, as plain dicts.

``DashboardService`` (services.py) inherits it; it is kept apart so each module stays one idea.
"""

from __future__ import annotations

import uuid as uuid_lib
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import Database
from app.db.models import CommandRoomTask, User, Workflow, WorkflowApproval
from app.domain.dashboard.retries import retry_state
from app.domain.dashboard.stop_note import stop_note
from app.domain.dashboard.timeline import execution_timeline
from app.domain.events.replay import current_seqs
from app.domain.executions import queries as q
from app.domain.executions.summaries import event_summaries
from app.lib.errors import NotFoundError
from app.lib.identity import CurrentUser
from app.lib.timefmt import iso

E = q.E
MAX_TREE = 200


class ExecutionDetailQueries:
    """One execution's page, tenant-scoped (a foreign or unknown id is a ``NotFoundError``)."""

    db: Database

    async def execution_detail(self, user: CurrentUser, execution_uuid: uuid_lib.UUID) -> dict[str, Any]:
        async with self.db.read() as session:
            row = (
                await session.execute(
                    select(E.id, E.workflow_id, E.parent_execution_id, E.workspace_id).where(
                        E.uuid == execution_uuid, E.deleted_at.is_(None), E.workspace_id.in_(user.workspace_ids)
                    )
                )
            ).one_or_none()
            if row is None:
                raise NotFoundError("Workflow execution")
            seq = (await current_seqs(session, [row.workspace_id]))[row.workspace_id]  # before the reads below
            summary = (await event_summaries(session, [row.id]))[row.id]
            workflow = await session.get(Workflow, row.workflow_id)
            data = (await q.execution_data_for(session, [row.id])).get(row.id, [])
            children = await self._descendant_tree(session, row.id, row.workspace_id)
            approvals = await self._approvals(session, row.id)
            tasks = await self._tasks(session, row.id)
            runs = (data[0].get("workflow_data") if data else None) or []
            timeline = await execution_timeline(session, summary, row.id, runs)
            stopped = await stop_note(session, summary, row.id)
            retry = await retry_state(session, row.id, str(execution_uuid), row.workspace_id)
        return {
            "cursor": {summary["workspace_uuid"]: seq},
            "execution": summary,
            "nodes": (workflow.nodes if workflow else None) or [],
            "edges": (workflow.edges if workflow else None) or [],
            "data": data[0] if data else {"workflow_data": [], "metadata": {}, "data": None},
            "children": children,
            "approvals": approvals,
            "command_room": tasks,
            "timeline": timeline,
            "stop": stopped,
            "retry": retry,
        }

    async def family_of(self, user: CurrentUser, execution_uuid: str) -> set[str]:
        """The execution's uuid and its descendants' (what its detail page shows), tenant-scoped."""
        try:
            wanted = uuid_lib.UUID(execution_uuid)
        except ValueError:
            return set()
        async with self.db.read() as session:
            row = (
                await session.execute(
                    select(E.id, E.workspace_id).where(E.uuid == wanted, E.workspace_id.in_(user.workspace_ids))
                )
            ).one_or_none()
            if row is None:
                return set()
            tree = await self._descendant_tree(session, row.id, row.workspace_id)
        family = {str(wanted)}
        stack = list(tree)
        while stack:
            node = stack.pop()
            family.add(node["uuid"])
            stack.extend(node["children"])
        return family

    async def _descendant_tree(self, session: AsyncSession, root_id: int, workspace_id: int) -> list[dict[str, Any]]:
        """Children, grandchildren... as nested dicts (``children`` key), at most MAX_TREE of them."""
        columns = (E.id, E.parent_execution_id)
        tree = select(*columns).where(E.parent_execution_id == root_id).cte("tree", recursive=True)
        tree = tree.union(select(*columns).where(E.parent_execution_id == tree.c.id, E.workspace_id == workspace_id))
        rows = (
            await session.execute(
                select(tree.c.id, tree.c.parent_execution_id)
                .join(E, E.id == tree.c.id)
                .where(E.deleted_at.is_(None))
                .order_by(E.created_at)
                .limit(MAX_TREE)
            )
        ).all()
        summaries = await event_summaries(session, [r.id for r in rows])
        nodes = {r.id: summaries[r.id].to_dict() | {"children": []} for r in rows if r.id in summaries}
        top: list[dict[str, Any]] = []
        for r in rows:
            if r.id not in nodes:
                continue
            if r.parent_execution_id == root_id:
                top.append(nodes[r.id])
            elif r.parent_execution_id in nodes:
                nodes[r.parent_execution_id]["children"].append(nodes[r.id])
            # else: its parent was cut by the limit or deleted; better hidden than shown at the wrong level
        return top

    async def _approvals(self, session: AsyncSession, execution_id: int) -> list[dict[str, Any]]:
        A = WorkflowApproval
        rows = await session.execute(
            select(A, User.email)
            .outerjoin(User, User.id == A.decided_by_id)
            .where(A.execution_id == execution_id)
            .order_by(A.requested_at)
        )
        return [
            {
                "uuid": str(a.uuid),
                "title": a.title,
                "node_id": a.node_id,
                "status": a.status,
                "payload": a.payload,
                "high_risk": a.high_risk,
                "requested_at": iso(a.requested_at),
                "due_at": iso(a.due_at),
                "decided_by": email,
                "decided_at": iso(a.decided_at),
                "comment": a.comment,
                "required_approvals": a.required_approvals,
                "approvals_count": a.approvals_count,
            }
            for a, email in rows
        ]

    async def _tasks(self, session: AsyncSession, execution_id: int) -> list[dict[str, Any]]:
        T = CommandRoomTask
        rows = await session.execute(
            select(T, User.email)
            .outerjoin(User, User.id == T.created_by_id)
            .where(T.execution_id == execution_id)
            .order_by(T.created_at)
        )
        return [
            {
                "uuid": str(t.uuid),
                "note": t.note,
                "created_by": email,
                "created_at": iso(t.created_at),
                "removed_at": iso(t.removed_at),
            }
            for t, email in rows
        ]
