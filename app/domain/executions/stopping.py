"""Stopping an execution: the cascade applied in one transaction, and its side-effect-free preview."""

from __future__ import annotations

import uuid as uuid_lib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import ApprovalAction, ExecutionStatus, OperatorActionKind, WorkflowApproval, WorkflowExecution
from app.db.models.base import utcnow
from app.domain.approvals.audit import AuditEntry, record_audit
from app.domain.events.recorder import CommittedEvent
from app.domain.executions.cascade import StopPlan, plan_stop
from app.domain.executions.state import STOPPABLE, TERMINAL
from app.lib.errors import AppError, ConflictError
from app.lib.identity import CurrentUser
from app.lib.sql import any_of

if TYPE_CHECKING:
    from app.domain.executions.services import ExecutionService, StopResult

E = WorkflowExecution


@dataclass(frozen=True)
class StopPreview:
    execution_uuid: str
    status: str
    stoppable: bool
    descendants: int
    waiting_ancestors: int
    pending_approvals: int

    @property
    def total(self) -> int:
        return 1 + self.descendants + self.waiting_ancestors if self.stoppable else 0


def _refuse_finished(status: str) -> None:
    raise ConflictError(
        f"Cannot stop an execution that is already '{status}'.",
        current_status=status,
        requested_status=ExecutionStatus.CANCELLED.value,
    )


async def stop_execution(
    svc: ExecutionService, user: CurrentUser, execution_uuid: uuid_lib.UUID, reason: str | None = None
) -> StopResult:
    """Commit the stop's intent, then apply the cascade (which closes the intent in its transaction)."""
    from app.domain.executions.services import StopResult
    from app.domain.operations.intents import open_stop_intent

    async def accept(session: AsyncSession) -> tuple[StopResult | int, list[CommittedEvent]]:
        row = await svc.load_for_write(session, user, execution_uuid)
        if row.status == ExecutionStatus.CANCELLED.value:
            return StopResult(await svc.current(session, row.id), False, []), []
        if ExecutionStatus(row.status) in TERMINAL:
            _refuse_finished(row.status)
        return await open_stop_intent(session, user, row, str(execution_uuid), reason, utcnow()), []

    accepted = await svc.run_write(accept)
    if not isinstance(accepted, int):
        return accepted
    return await apply_stop(svc, user, execution_uuid, reason, accepted)


async def apply_stop(
    svc: ExecutionService,
    user: CurrentUser,
    execution_uuid: uuid_lib.UUID,
    reason: str | None,
    operation_id: int,
) -> StopResult:
    """The cascade, in one transaction with its events, its audit row and the intent's closing."""
    from app.domain.audit.records import record_operator_actions
    from app.domain.executions.services import LostRace, StopResult
    from app.domain.operations.intents import close_intent
    from app.domain.operations.items import ItemOutcome, OperatorActionEntry

    async def work(session: AsyncSession) -> tuple[StopResult, list[CommittedEvent]]:
        now = utcnow()
        row = await svc.load_for_write(session, user, execution_uuid)
        if row.status == ExecutionStatus.CANCELLED.value:
            await close_intent(
                session, operation_id, ItemOutcome(str(execution_uuid), "skipped", "already cancelled"), now
            )
            return StopResult(await svc.current(session, row.id), False, []), []
        if ExecutionStatus(row.status) in TERMINAL:
            _refuse_finished(row.status)
        plan = await plan_stop(session, row.id, row.parent_execution_id, row.workspace_id)
        if not svc.db.is_sqlite:
            # The plan was read without locks: lock its rows, then read it again. If an ancestor stopped
            # waiting (or the tree changed) in between, retry rather than cancel what no longer waits.
            await lock_plan(session, plan.all_ids)
            if await plan_stop(session, row.id, row.parent_execution_id, row.workspace_id) != plan:
                raise LostRace
        cancelled, _ = await cancel_plan(session, plan, user.id, now)
        if row.id not in cancelled:
            raise LostRace
        changes = [("execution.stopped", row.id)] + [("execution.cancelled", i) for i in cancelled if i != row.id]
        summaries, events = await svc.record_changes(session, row.workspace_id, changes)
        entry = OperatorActionEntry(
            row.workspace_id, OperatorActionKind.STOP, row.id, execution_uuid, {"cascade_cancelled": len(cancelled) - 1}
        )
        await record_operator_actions(session, [entry], actor_id=user.id, reason=reason, now=now)
        await close_intent(
            session, operation_id, ItemOutcome(str(execution_uuid), "stopped", None, len(cancelled) - 1), now
        )
        others = [summaries[i]["uuid"] for i in cancelled if i != row.id]
        return StopResult(summaries[row.id], True, others), events

    try:
        return await svc.run_write(work)
    except AppError as exc:
        # Refused after it was accepted (finished meanwhile, access gone): the intent ends, skipped.
        async with svc.db.write() as session:
            outcome = ItemOutcome(str(execution_uuid), "skipped", exc.message)
            await close_intent(session, operation_id, outcome, utcnow())
        raise


async def preview_stop(svc: ExecutionService, user: CurrentUser, execution_uuid: uuid_lib.UUID) -> StopPreview:
    async with svc.db.read() as session:
        row = await svc.load_for_write(session, user, execution_uuid)
        if ExecutionStatus(row.status) not in STOPPABLE:
            return StopPreview(str(execution_uuid), row.status, False, 0, 0, 0)
        plan = await plan_stop(session, row.id, row.parent_execution_id, row.workspace_id)
        pending = (
            await session.execute(
                select(WorkflowApproval.id).where(
                    WorkflowApproval.execution_id.in_(plan.all_ids), WorkflowApproval.status == "pending"
                )
            )
        ).all()
    return StopPreview(
        execution_uuid=str(execution_uuid),
        status=row.status,
        stoppable=True,
        descendants=len(plan.descendant_ids),
        waiting_ancestors=len(plan.waiting_ancestor_ids),
        pending_approvals=len(pending),
    )


async def lock_plan(session: AsyncSession, ids: list[int]) -> None:
    """PostgreSQL only (SQLite write transactions are exclusive). Lock in id order so two overlapping
    cascades queue up instead of deadlocking."""
    await session.execute(select(E.id).where(any_of(session, E.id, ids)).order_by(E.id).with_for_update())


async def cancel_plan(
    session: AsyncSession, plan: StopPlan, actor_id: int | None, now: Any
) -> tuple[list[int], list[int]]:
    """Cancel the plan's rows still stoppable and their pending approvals: (execution ids, approval ids)."""
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
    approvals = await cancel_pending_approvals(session, cancelled, now, "the execution was stopped", actor_id)
    return cancelled, approvals


async def cancel_pending_approvals(
    session: AsyncSession, execution_ids: list[int], now: Any, why: str, actor_id: int | None
) -> list[int]:
    """A finished execution can no longer be approved: its pending reviews leave every inbox. The
    user who stopped or finished it is recorded as their ``decided_by`` and in their audit trail."""
    if not execution_ids:
        return []
    comment = f"Cancelled because {why}."
    rows = await session.execute(
        update(WorkflowApproval)
        .where(any_of(session, WorkflowApproval.execution_id, execution_ids), WorkflowApproval.status == "pending")
        .values(status="cancelled", decided_at=now, decided_by_id=actor_id, comment=comment, updated_at=now)
        .returning(WorkflowApproval.id, WorkflowApproval.execution_id, WorkflowApproval.workspace_id)
    )
    entries = [AuditEntry(r.id, r.execution_id, r.workspace_id, ApprovalAction.CANCELLED, comment) for r in rows]
    await record_audit(session, entries, actor_id, now)
    return [e.approval_id for e in entries]
