"""A single stop's durable intent: an ``operations`` row (kind ``stop``) committed before the cascade,
closed inside the cascade's own transaction. A crash in between leaves it open; the runner resumes it
on start-up, so an accepted stop always completes (docs/reliability.md item 13)."""

from __future__ import annotations

import datetime as dt
import uuid as uuid_lib
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import OPEN_OPERATION_STATUSES, Operation, OperationStatus, WorkflowExecution
from app.db.models.base import new_uuid
from app.domain.audit.records import clean_reason
from app.domain.operations.items import ItemOutcome
from app.lib.identity import CurrentUser

E = WorkflowExecution
KIND_STOP = "stop"
KIND_BULK = "bulk"
KIND_SELECTION = "selection"


async def open_stop_intent(
    session: AsyncSession, user: CurrentUser, row: Any, execution_uuid: str, reason: str | None, now: dt.datetime
) -> int:
    """Record the accepted stop and mark the execution "stopping" (no version change, no event)."""
    operation_id = (
        await session.execute(
            insert(Operation)
            .values(
                uuid=new_uuid(),
                workspace_id=row.workspace_id,
                user_id=user.id,
                kind=KIND_STOP,
                action="stop",
                status=OperationStatus.RUNNING.value,
                total=1,
                position=0,
                done=0,
                skipped=0,
                reason=clean_reason(reason),
                workspace_ids=[row.workspace_id],
                execution_uuids=[execution_uuid],
                report={"items": []},
                created_at=now,
                updated_at=now,
            )
            .returning(Operation.id)
        )
    ).scalar_one()
    await session.execute(update(E).where(E.id == row.id).values(stop_requested_at=now))
    return operation_id


async def close_intent(session: AsyncSession, operation_id: int, outcome: ItemOutcome, now: dt.datetime) -> None:
    """End the intent with its outcome; a skipped stop also takes the "stopping" mark off its execution."""
    if not outcome.applied:
        await session.execute(update(E).where(E.uuid == uuid_lib.UUID(outcome.uuid)).values(stop_requested_at=None))
    await session.execute(
        update(Operation)
        .where(Operation.id == operation_id, Operation.status.in_(OPEN_OPERATION_STATUSES))
        .values(
            status=OperationStatus.DONE.value,
            position=1,
            done=1 if outcome.applied else 0,
            skipped=0 if outcome.applied else 1,
            report={"items": [outcome.as_dict()]},
            finished_at=now,
            updated_at=now,
        )
    )
