"""Dry runs: walk a snapshot of executions in order and say what a bulk action would do."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import CommandRoomTask, WorkflowApproval, WorkflowExecution
from app.db.models.base import utcnow
from app.domain.operations.items import (
    ItemContext,
    ItemOutcome,
    RunState,
    evaluate,
    load_targets,
    lonely_targets,
    open_command_room_tasks,
    pending_approvals,
)
from app.lib.identity import CurrentUser
from app.lib.sql import any_of

E = WorkflowExecution
CONFIRM_ABOVE = 100


@dataclass
class BulkPlan:
    action: str
    items: list[ItemOutcome]
    state: RunState
    affected_uuids: list[str]
    approval_uuids: list[str]
    task_uuids: list[str]

    def as_dict(self, *, include_items: bool = True) -> dict[str, Any]:
        applied = [i for i in self.items if i.applied]
        selected = {i.uuid for i in applied}
        skipped = Counter(i.reason or "" for i in self.items if not i.applied)
        out: dict[str, Any] = {
            "action": self.action,
            "dry_run": True,
            "total": len(self.items),
            "applicable": len(applied),
            "skipped": len(self.items) - len(applied),
            "executions_affected": len(self.affected_uuids),
            "cascade": len([u for u in self.affected_uuids if u not in selected]),
            "approvals_cancelled": len(self.approval_uuids),
            "command_room_tasks_closed": len(self.task_uuids),
            "skipped_reasons": dict(skipped.most_common()),
            "confirm_count_required": len(self.items) > CONFIRM_ABOVE,
            "affected_execution_uuids": self.affected_uuids,
            "cancelled_approval_uuids": self.approval_uuids,
            "closed_command_room_task_uuids": self.task_uuids,
        }
        if include_items:
            out["items"] = [i.as_dict() for i in self.items]
        return out


async def _uuids(session: AsyncSession, model: Any, ids: list[int] | set[int]) -> list[str]:
    if not ids:
        return []
    rows = await session.execute(select(model.uuid).where(any_of(session, model.id, sorted(ids))))
    return sorted(str(r[0]) for r in rows)


async def plan_bulk(
    session: AsyncSession, user: CurrentUser, action: str, uuids: list[str], *, is_sqlite: bool
) -> BulkPlan:
    """Evaluate every item exactly as the real run would, in the same order, changing nothing."""
    rows = await load_targets(session, uuids)
    lonely = await lonely_targets(session, list(rows.values())) if action == "stop" else frozenset()
    ctx = ItemContext(session, user, apply=False, now=utcnow(), is_sqlite=is_sqlite, lonely=lonely)
    state = RunState()
    items = [await evaluate(ctx, action, u, rows.get(u), state) for u in uuids]
    reached = sorted(state.reached)
    if action == "stop":
        state.approvals = await pending_approvals(session, reached)
    elif action == "delete":
        state.tasks = await open_command_room_tasks(session, reached)
    return BulkPlan(
        action=action,
        items=items,
        state=state,
        affected_uuids=await _uuids(session, E, state.reached),
        approval_uuids=await _uuids(session, WorkflowApproval, state.approvals),
        task_uuids=await _uuids(session, CommandRoomTask, state.tasks),
    )
