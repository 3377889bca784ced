"""Soft delete and restore, as functions of an open write transaction, so the single-execution
endpoints and bulk workers share them. Each writes the row change, its event and its operator audit
row in the caller's transaction; the caller commits (``ExecutionService.run_write``) and publishes."""

from __future__ import annotations

import datetime as dt
import uuid as uuid_lib
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import CommandRoomTask, OperatorActionKind, Role, WorkflowExecution, WorkflowExecutionData
from app.db.models.base import utcnow
from app.domain.audit.records import OperatorActionEntry, record_operator_actions
from app.domain.events.recorder import CommittedEvent
from app.domain.executions.summary import ExecutionSummary
from app.domain.executions.writes import LostRace
from app.lib.errors import ConflictError, NotFoundError
from app.lib.identity import CurrentUser
from app.lib.timefmt import iso

if TYPE_CHECKING:
    from app.domain.executions.writes import ExecutionWrites

E, D = WorkflowExecution, WorkflowExecutionData
RESTORE_ROLES = frozenset({Role.ADMIN})


async def soft_delete_in_session(
    executions: ExecutionWrites,
    session: AsyncSession,
    user: CurrentUser,
    execution_uuid: uuid_lib.UUID,
    *,
    reason: str | None = None,
    now: dt.datetime | None = None,
    operation_id: int | None = None,
) -> list[CommittedEvent]:
    """Soft-delete one execution (operators and admins): ``deleted_at`` on the execution and its
    data rows (the same instant, which is how a restore finds them; their ``updated_at`` is kept),
    an ``execution.deleted`` event and a DELETE audit row with ``reason``. Approvals, flags and
    events are left as they are: every read hides them through the execution. Raises NotFound /
    Forbidden, or ``LostRace`` to retry."""
    row = await executions.load_for_write(session, user, execution_uuid)
    now = now or utcnow()
    await executions.conditional_update(session, row, {"deleted_at": now}, now)
    await session.execute(
        update(D)
        .where(D.execution_id == row.id, D.deleted_at.is_(None))
        .values(deleted_at=now, updated_at=D.updated_at)
    )
    _, events = await executions.record_changes(session, row.workspace_id, [("execution.deleted", row.id)])
    entry = OperatorActionEntry(
        row.workspace_id, OperatorActionKind.DELETE, row.id, execution_uuid, {"status": row.status}
    )
    await record_operator_actions(session, [entry], actor_id=user.id, reason=reason, now=now, operation_id=operation_id)
    return events


async def restore_in_session(
    executions: ExecutionWrites,
    session: AsyncSession,
    user: CurrentUser,
    execution_uuid: uuid_lib.UUID,
    *,
    reason: str | None = None,
    now: dt.datetime | None = None,
) -> tuple[ExecutionSummary, list[CommittedEvent]]:
    """Bring a soft-deleted execution back (admins): it and the data rows deleted with it reappear
    as they were (its version moves on, as with every change), with an ``execution.restored`` event
    and a RESTORE audit row. 404 foreign or unknown (or purged), 403 not an admin, 409 not deleted."""
    row = (
        await session.execute(
            select(E.id, E.workspace_id, E.deleted_at, E.version).where(
                E.uuid == execution_uuid, E.workspace_id.in_(user.workspace_ids)
            )
        )
    ).one_or_none()
    if row is None:
        raise NotFoundError("Workflow execution")
    user.require(row.workspace_id, RESTORE_ROLES, "Workflow execution")
    if row.deleted_at is None:
        raise ConflictError("This execution is not deleted; there is nothing to restore.")
    now = now or utcnow()
    restored = (
        await session.execute(
            update(E)
            .where(E.id == row.id, E.version == row.version, E.deleted_at.is_not(None))
            .values(deleted_at=None, version=E.version + 1, updated_at=now)
            .returning(E.id)
        )
    ).scalar_one_or_none()
    if restored is None:
        raise LostRace
    # Only the data rows this delete hid (same instant), not any deleted on their own before.
    await session.execute(
        update(D)
        .where(D.execution_id == row.id, D.deleted_at == row.deleted_at)
        .values(deleted_at=None, updated_at=D.updated_at)
    )
    # A bulk delete also takes the execution out of the command room, at the same instant: put it back.
    await session.execute(
        update(CommandRoomTask)
        .where(CommandRoomTask.execution_id == row.id, CommandRoomTask.removed_at == row.deleted_at)
        .values(removed_at=None, removed_by_id=None, updated_at=now)
    )
    summaries, events = await executions.record_changes(session, row.workspace_id, [("execution.restored", row.id)])
    entry = OperatorActionEntry(
        row.workspace_id, OperatorActionKind.RESTORE, row.id, execution_uuid, {"deleted_at": iso(row.deleted_at)}
    )
    await record_operator_actions(session, [entry], actor_id=user.id, reason=reason, now=now)
    return summaries[row.id], events
