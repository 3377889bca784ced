"""The stop cascade: the execution, its stoppable descendants and every ancestor waiting on it.

A waiting ancestor that is cancelled can never resume, so its own stoppable subtree is cancelled
with it; the cascade therefore covers the subtree of the topmost cancelled ancestor. Parents and
children always share a workspace (enforced on create), so a stop never touches another workspace.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import ExecutionStatus, Workflow, WorkflowExecution
from app.domain.approvals.cancellation import cancel_pending_approvals
from app.domain.executions.progress import close_node_runs
from app.domain.executions.state import STOPPABLE
from app.lib.sql import any_of

E = WorkflowExecution
MAX_ANCESTRY = 1000


@dataclass(frozen=True)
class StopPlan:
    target_id: int
    waiting_ancestor_ids: list[int]
    descendant_ids: list[int]

    @property
    def all_ids(self) -> list[int]:
        return sorted({self.target_id, *self.waiting_ancestor_ids, *self.descendant_ids})


async def plan_stop(session: AsyncSession, target_id: int, parent_id: int | None, workspace_id: int) -> StopPlan:
    ancestors: list[int] = []
    seen = {target_id}
    while parent_id is not None and parent_id not in seen and len(ancestors) < MAX_ANCESTRY:
        parent = (
            await session.execute(
                select(E.id, E.status, E.parent_execution_id).where(
                    E.id == parent_id, E.workspace_id == workspace_id, E.deleted_at.is_(None)
                )
            )
        ).one_or_none()
        if parent is None or parent.status != ExecutionStatus.WAITING.value:
            break
        ancestors.append(parent.id)
        seen.add(parent.id)
        parent_id = parent.parent_execution_id
    root = ancestors[-1] if ancestors else target_id
    tree = select(E.id).where(E.id == root).cte("stop_tree", recursive=True)
    # UNION (not UNION ALL) so a corrupt parent cycle still terminates.
    tree = tree.union(select(E.id).where(E.parent_execution_id == tree.c.id, E.workspace_id == workspace_id))
    rows = await session.execute(
        select(E.id).where(
            E.id.in_(select(tree.c.id)),
            E.status.in_([s.value for s in STOPPABLE]),
            E.deleted_at.is_(None),
            E.id != target_id,
            E.id.notin_(ancestors) if ancestors else E.id == E.id,
        )
    )
    return StopPlan(target_id=target_id, waiting_ancestor_ids=ancestors, descendant_ids=sorted(r[0] for r in rows))


async def lock_plan(session: AsyncSession, ids: list[int]) -> None:
    """PostgreSQL only (SQLite write transactions are exclusive). Lock in id order so two overlapping
    cascades queue up instead of deadlocking."""
    await session.execute(select(E.id).where(any_of(session, E.id, ids)).order_by(E.id).with_for_update())


async def cancel_plan(
    session: AsyncSession, plan: StopPlan, actor_id: int | None, now: Any
) -> tuple[list[int], list[int]]:
    """Cancel the plan's rows still stoppable, their open node runs (at ``now``, the stop time) and
    their pending approvals: (execution ids, approval ids)."""
    rows = await session.execute(
        update(E)
        .where(any_of(session, E.id, plan.all_ids), E.status.in_([s.value for s in STOPPABLE]), E.deleted_at.is_(None))
        .values(
            status=ExecutionStatus.CANCELLED.value,
            stopped_at=now,
            running_node=None,
            version=E.version + 1,
            updated_at=now,
        )
        .returning(E.id)
    )
    cancelled = sorted(r[0] for r in rows)
    await close_node_runs(session, cancelled, now)
    approvals = await cancel_pending_approvals(session, cancelled, now, "the execution was stopped", actor_id)
    return cancelled, approvals


@dataclass(frozen=True)
class CascadeMember:
    """One execution a stop would cancel besides its target, for the confirmation dialog."""

    uuid: str
    workflow_name: str
    status: str
    relation: str  # "parent" (waiting on the target) or "child" (below it)


async def name_members(session: AsyncSession, plan: StopPlan, limit: int = 5) -> list[CascadeMember]:
    """The first ``limit`` executions the cascade would cancel besides the target, parents first."""
    wanted = [(i, "parent") for i in plan.waiting_ancestor_ids] + [(i, "child") for i in plan.descendant_ids]
    wanted = wanted[:limit]
    if not wanted:
        return []
    rows = await session.execute(
        select(E.id, E.uuid, E.status, Workflow.name)
        .join(Workflow, Workflow.id == E.workflow_id)
        .where(E.id.in_([i for i, _ in wanted]))
    )
    found = {r.id: r for r in rows}
    return [
        CascadeMember(str(found[i].uuid), found[i].name, found[i].status, relation)
        for i, relation in wanted
        if i in found
    ]
