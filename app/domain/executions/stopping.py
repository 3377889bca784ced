"""Stopping an execution: the cascade applied in one transaction, and its side-effect-free preview."""

from __future__ import annotations

import uuid as uuid_lib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import ExecutionStatus, OperatorActionKind, WorkflowApproval
from app.db.models.base import utcnow
from app.domain.audit.records import OperatorActionEntry, record_operator_actions
from app.domain.events.recorder import CommittedEvent
from app.domain.executions.cascade import CascadeMember, cancel_plan, lock_plan, name_members, plan_stop
from app.domain.executions.state import STOPPABLE, TERMINAL
from app.domain.executions.summary import ExecutionSummary
from app.domain.executions.writes import LostRace
from app.domain.operations.intents import close_intent, open_stop_intent
from app.domain.operations.items import ItemOutcome
from app.lib.errors import AppError, ConflictError
from app.lib.identity import CurrentUser

if TYPE_CHECKING:
    from app.domain.executions.writes import ExecutionWrites


@dataclass(frozen=True)
class StopResult:
    execution: ExecutionSummary
    stopped: bool
    cancelled_uuids: list[str]


@dataclass(frozen=True)
class StopPreview:
    execution_uuid: str
    status: str
    stoppable: bool
    descendants: int
    waiting_ancestors: int
    pending_approvals: int
    members: list[CascadeMember] = field(default_factory=list)  # the first few others it cancels, named

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
    svc: ExecutionWrites, user: CurrentUser, execution_uuid: uuid_lib.UUID, reason: str | None = None
) -> StopResult:
    """Commit the stop's intent, then apply the cascade (which closes the intent in its transaction)."""

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
    svc: ExecutionWrites,
    user: CurrentUser,
    execution_uuid: uuid_lib.UUID,
    reason: str | None,
    operation_id: int,
) -> StopResult:
    """The cascade, in one transaction with its events, its audit row and the intent's closing."""

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


async def preview_stop(svc: ExecutionWrites, user: CurrentUser, execution_uuid: uuid_lib.UUID) -> StopPreview:
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
        members = await name_members(session, plan)
    return StopPreview(
        execution_uuid=str(execution_uuid),
        status=row.status,
        stoppable=True,
        descendants=len(plan.descendant_ids),
        waiting_ancestors=len(plan.waiting_ancestor_ids),
        pending_approvals=len(pending),
        members=members,
    )
