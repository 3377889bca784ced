"""One bulk item (stop, delete or retry request of one execution), evaluated the same way for a dry
run (read only) and for the real run (applied in the batch's transaction). The dry run walks the
snapshot in order with the same ``RunState``, so what it predicts is what the run does when nothing
else changes in between (tests/test_bulk_property.py checks it over random trees)."""

from __future__ import annotations

import datetime as dt
import uuid as uuid_lib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.db.models import (
    CommandRoomTask,
    ExecutionStatus,
    OperatorAction,
    OperatorActionKind,
    WorkflowApproval,
    WorkflowExecution,
    WorkflowExecutionData,
)
from app.domain.audit.records import OperatorActionEntry
from app.domain.executions.cascade import StopPlan, cancel_plan, lock_plan, plan_stop
from app.domain.executions.state import STOPPABLE
from app.domain.executions.writes import LostRace
from app.lib.identity import OPERATE_ROLES, CurrentUser
from app.lib.sql import any_of

E = WorkflowExecution
ACTIONS = ("stop", "delete", "retry_request")
AUDIT_KIND = {
    "stop": OperatorActionKind.STOP,
    "delete": OperatorActionKind.DELETE,
    "retry_request": OperatorActionKind.RETRY_REQUEST,
}
NOT_FOUND = "not found"


class ItemRace(LostRace):
    """The tree changed between planning and locking (PostgreSQL): ``run_write`` retries the batch."""


@dataclass
class ItemOutcome:
    uuid: str
    outcome: str  # stopped, covered, deleted, retry_requested, skipped
    reason: str | None = None
    cascade: int = 0  # other executions this item's stop cancels

    @property
    def applied(self) -> bool:
        return self.outcome != "skipped"

    def as_dict(self) -> dict[str, Any]:
        return {"uuid": self.uuid, "outcome": self.outcome, "reason": self.reason, "cascade": self.cascade}


@dataclass
class RunState:
    """What the operation has reached so far (execution ids), plus what this pass changed."""

    reached: set[int] = field(default_factory=set)
    approvals: list[int] = field(default_factory=list)
    tasks: list[int] = field(default_factory=list)
    changes: dict[int, list[tuple[str, int]]] = field(default_factory=dict)  # workspace -> events
    audit: list[OperatorActionEntry] = field(default_factory=list)

    def change(self, workspace_id: int, event_type: str, execution_id: int) -> None:
        self.changes.setdefault(workspace_id, []).append((event_type, execution_id))


@dataclass(frozen=True)
class ItemContext:
    session: AsyncSession
    user: CurrentUser
    apply: bool
    now: dt.datetime
    is_sqlite: bool
    # Targets whose stop cancels nothing but themselves (found in two queries for the whole snapshot
    # or batch, see ``lonely_targets``), so their plan needs no query of its own. A real run still
    # locks and re-plans them on PostgreSQL, like any plan read without locks.
    lonely: frozenset[int] = frozenset()


async def load_targets(session: AsyncSession, uuids: list[str]) -> dict[str, Any]:
    """The live (not deleted) rows of these uuids, keyed by uuid string; unknown uuids are absent."""
    if not uuids:
        return {}
    wanted = [uuid_lib.UUID(u) for u in uuids]
    rows = await session.execute(
        select(E.id, E.uuid, E.workspace_id, E.status, E.parent_execution_id, E.retry_success_id, E.created_at).where(
            E.uuid.in_(wanted), E.deleted_at.is_(None)
        )
    )
    return {str(r.uuid): r for r in rows}


def refusal(user: CurrentUser, row: Any) -> str | None:
    """Why this user may not act on this row; a foreign workspace reads as "not found" (no leak)."""
    if row is None or row.workspace_id not in user.access:
        return NOT_FOUND
    role = user.access[row.workspace_id].role
    if role not in OPERATE_ROLES:
        return f"not permitted: your role in its workspace is '{role.value}'"
    return None


async def evaluate(ctx: ItemContext, action: str, uuid: str, row: Any, state: RunState) -> ItemOutcome:
    if (why := refusal(ctx.user, row)) is not None:
        return ItemOutcome(uuid, "skipped", why)
    if action == "stop":
        return await _stop(ctx, uuid, row, state)
    if action == "delete":
        return await _delete(ctx, uuid, row, state)
    return await _retry_request(ctx, uuid, row, state)


async def open_command_room_tasks(session: AsyncSession, ids: list[int]) -> list[int]:
    if not ids:
        return []
    rows = await session.execute(
        select(CommandRoomTask.id).where(
            any_of(session, CommandRoomTask.execution_id, ids), CommandRoomTask.removed_at.is_(None)
        )
    )
    return [r[0] for r in rows]


async def lonely_targets(session: AsyncSession, rows: list[Any]) -> frozenset[int]:
    """Targets whose stop plan is just themselves: no child row at all and no waiting parent in their
    workspace (what ``plan_stop`` would find, read for the whole snapshot at once; conservative)."""
    ids = [r.id for r in rows]
    if not ids:
        return frozenset()
    parents = await session.execute(
        select(E.parent_execution_id).where(any_of(session, E.parent_execution_id, ids)).distinct()
    )
    with_children = {r[0] for r in parents}
    parent_ids = sorted({r.parent_execution_id for r in rows if r.parent_execution_id is not None})
    waiting: set[tuple[int, int]] = set()
    if parent_ids:
        found = await session.execute(
            select(E.id, E.workspace_id).where(
                any_of(session, E.id, parent_ids),
                E.status == ExecutionStatus.WAITING.value,
                E.deleted_at.is_(None),
            )
        )
        waiting = {(r.id, r.workspace_id) for r in found}
    return frozenset(
        r.id
        for r in rows
        if r.id not in with_children
        and (r.parent_execution_id is None or (r.parent_execution_id, r.workspace_id) not in waiting)
    )


async def pending_approvals(session: AsyncSession, ids: list[int]) -> list[int]:
    if not ids:
        return []
    rows = await session.execute(
        select(WorkflowApproval.id).where(
            any_of(session, WorkflowApproval.execution_id, ids), WorkflowApproval.status == "pending"
        )
    )
    return [r[0] for r in rows]


async def _stop(ctx: ItemContext, uuid: str, row: Any, state: RunState) -> ItemOutcome:
    if row.id in state.reached:
        return ItemOutcome(uuid, "covered", "stopped by the cascade of another selected execution")
    if ExecutionStatus(row.status) not in STOPPABLE:
        return ItemOutcome(uuid, "skipped", f"already {row.status}")
    session = ctx.session
    if not ctx.apply and row.id in ctx.lonely:
        state.reached.add(row.id)
        return ItemOutcome(uuid, "stopped")
    if row.id in ctx.lonely:
        plan = StopPlan(target_id=row.id, waiting_ancestor_ids=[], descendant_ids=[])
    else:
        plan = await plan_stop(session, row.id, row.parent_execution_id, row.workspace_id)
    if ctx.apply:
        if not ctx.is_sqlite:
            await lock_plan(session, plan.all_ids)
            if await plan_stop(session, row.id, row.parent_execution_id, row.workspace_id) != plan:
                raise ItemRace
        cancelled, approvals = await cancel_plan(session, plan, ctx.user.id, ctx.now)
        if row.id not in cancelled:
            raise ItemRace
        state.change(row.workspace_id, "execution.stopped", row.id)
        for other in cancelled:
            if other != row.id:
                state.change(row.workspace_id, "execution.cancelled", other)
        state.audit.append(
            OperatorActionEntry(
                row.workspace_id,
                OperatorActionKind.STOP,
                row.id,
                row.uuid,
                {"cascade_cancelled": len(cancelled) - 1},
            )
        )
        state.approvals += approvals
    else:
        cancelled = [i for i in plan.all_ids if i not in state.reached]  # approvals: read once at the end
    state.reached.update(cancelled)
    return ItemOutcome(uuid, "stopped", None, len(cancelled) - 1)


async def _delete(ctx: ItemContext, uuid: str, row: Any, state: RunState) -> ItemOutcome:
    """A deleted execution also leaves the command room: its open flags are closed."""
    session = ctx.session
    state.reached.add(row.id)
    if not ctx.apply:
        return ItemOutcome(uuid, "deleted")  # the dry run reads the open tasks once, at the end
    open_tasks = await open_command_room_tasks(session, [row.id])
    now = ctx.now
    await session.execute(update(E).where(E.id == row.id).values(deleted_at=now, version=E.version + 1, updated_at=now))
    await session.execute(
        # As the single delete does: only rows still live, their updated_at kept, so a restore finds them.
        update(WorkflowExecutionData)
        .where(WorkflowExecutionData.execution_id == row.id, WorkflowExecutionData.deleted_at.is_(None))
        .values(deleted_at=now, updated_at=WorkflowExecutionData.updated_at)
    )
    if open_tasks:
        await session.execute(
            update(CommandRoomTask)
            .where(CommandRoomTask.id.in_(open_tasks))
            .values(removed_at=now, removed_by_id=ctx.user.id, updated_at=now)
        )
    state.change(row.workspace_id, "execution.deleted", row.id)
    detail = {"command_room_tasks_closed": len(open_tasks)}
    state.audit.append(OperatorActionEntry(row.workspace_id, OperatorActionKind.DELETE, row.id, row.uuid, detail))
    state.tasks += open_tasks
    return ItemOutcome(uuid, "deleted")


async def retry_already_requested(session: AsyncSession, row: Any) -> bool:
    """A retry request is pending while no execution retrying this one was created after it."""
    last_request = (
        await session.execute(
            select(func.max(OperatorAction.created_at)).where(
                OperatorAction.execution_id == row.id,
                OperatorAction.action == OperatorActionKind.RETRY_REQUEST.value,
            )
        )
    ).scalar_one_or_none()
    if last_request is None:
        return False
    retry = aliased(WorkflowExecution)
    last_retry = (
        await session.execute(
            select(func.max(retry.created_at)).where(
                retry.retry_of == str(row.uuid), retry.workspace_id == row.workspace_id
            )
        )
    ).scalar_one_or_none()
    return last_retry is None or last_retry < last_request


async def retry_in_progress(session: AsyncSession, row: Any) -> bool:
    """Whether a retry of this execution is still going (not finished): asking for another would
    start a second one alongside it."""
    retry = aliased(WorkflowExecution)
    found = await session.execute(
        select(retry.id)
        .where(
            retry.retry_of == str(row.uuid),
            retry.workspace_id == row.workspace_id,
            retry.deleted_at.is_(None),
            retry.status.in_(sorted(s.value for s in STOPPABLE)),
        )
        .limit(1)
    )
    return found.first() is not None


async def _retry_request(ctx: ItemContext, uuid: str, row: Any, state: RunState) -> ItemOutcome:
    if row.status != ExecutionStatus.FAILED.value:
        return ItemOutcome(uuid, "skipped", f"not failed (it is {row.status})")
    if row.retry_success_id:
        return ItemOutcome(uuid, "skipped", "already retried successfully")
    if await retry_already_requested(ctx.session, row):
        return ItemOutcome(uuid, "skipped", "a retry is already requested and has not started yet")
    if await retry_in_progress(ctx.session, row):
        return ItemOutcome(uuid, "skipped", "a retry of it is still running")
    if ctx.apply:
        # The row itself does not change, but its version moves so the event orders like any other.
        await ctx.session.execute(update(E).where(E.id == row.id).values(version=E.version + 1, updated_at=ctx.now))
        state.change(row.workspace_id, "execution.retry_requested", row.id)
        state.audit.append(OperatorActionEntry(row.workspace_id, OperatorActionKind.RETRY_REQUEST, row.id, row.uuid))
    state.reached.add(row.id)
    return ItemOutcome(uuid, "retry_requested")
