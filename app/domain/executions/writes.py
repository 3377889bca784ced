"""The execution write core, at the bottom of the executions package: every write to an execution
(API updates, stops, deletes, approvals, command-room flags, bulk batches) runs through ``run_write``
and ends with ``record_changes``. Nothing here imports the services built on it."""

from __future__ import annotations

import uuid as uuid_lib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import Database, is_deadlock
from app.db.models import Role, WorkflowExecution
from app.domain.events.broker import EventPublisher, publish_safely
from app.domain.events.recorder import CommittedEvent, PendingEvent, record_events
from app.domain.executions.summaries import event_summaries
from app.domain.executions.summary import ExecutionSummary
from app.lib.errors import ConflictError, NotFoundError
from app.lib.identity import OPERATE_ROLES, CurrentUser

E = WorkflowExecution
T = TypeVar("T")
WRITE_ATTEMPTS = 5


class LostRace(Exception):
    """A conditional UPDATE matched no row: someone else changed it first. Roll back, re-read, retry."""


async def record_changes(
    session: AsyncSession,
    workspace_id: int,
    changes: list[tuple[str, int]],
    extra: dict[int, dict[str, Any]] | None = None,
) -> tuple[dict[int, ExecutionSummary], list[CommittedEvent]]:
    """One event per (type, execution id), its payload the execution's summary. ``extra`` adds keys
    to the payload of that execution's event only (say ``{"approval": {...}}``), not to the
    summaries returned."""
    summaries = await event_summaries(session, [eid for _, eid in changes])
    first = summaries[changes[0][1]]
    extra = extra or {}
    pending = [
        PendingEvent(t, eid, summaries[eid].version, summaries[eid].with_extra(**extra.get(eid, {})))
        for t, eid in changes
    ]
    events = await record_events(session, workspace_id, uuid_lib.UUID(first.workspace_uuid), pending)
    return summaries, events


async def load_for_write(
    session: AsyncSession,
    user: CurrentUser,
    execution_uuid: uuid_lib.UUID,
    roles: frozenset[Role] = OPERATE_ROLES,
) -> Any:
    """The columns a write judges, of a live execution the user may change (404 foreign, 403 role)."""
    row = (
        await session.execute(
            select(
                E.id,
                E.workspace_id,
                E.status,
                E.version,
                E.running_node,
                E.parent_execution_id,
                E.wait_till,
                E.mode,
                E.retry_success_id,
                E.error,
            ).where(E.uuid == execution_uuid, E.deleted_at.is_(None), E.workspace_id.in_(user.workspace_ids))
        )
    ).one_or_none()
    if row is None:
        raise NotFoundError("Workflow execution")
    user.require(row.workspace_id, roles, "Workflow execution")
    return row


async def conditional_update(session: AsyncSession, row: Any, values: dict[str, Any], now: Any) -> None:
    """The one guard against concurrent writers, identical on SQLite and PostgreSQL."""
    updated = (
        await session.execute(
            update(E)
            .where(E.id == row.id, E.status == row.status, E.version == row.version, E.deleted_at.is_(None))
            .values(**values, version=E.version + 1, updated_at=now)
            .returning(E.id)
        )
    ).scalar_one_or_none()
    if updated is None:
        raise LostRace


async def current_summary(session: AsyncSession, execution_id: int) -> ExecutionSummary:
    """The execution's summary as this transaction sees it."""
    return (await event_summaries(session, [execution_id]))[execution_id]


class ExecutionWrites:
    """The write core bound to a database and a publisher; ``ExecutionService`` builds on it."""

    def __init__(self, db: Database, publisher: EventPublisher) -> None:
        self.db = db
        self.publisher = publisher

    # The session-level functions above, as methods for the services built on this core.
    async def record_changes(
        self,
        session: AsyncSession,
        workspace_id: int,
        changes: list[tuple[str, int]],
        extra: dict[int, dict[str, Any]] | None = None,
    ) -> tuple[dict[int, ExecutionSummary], list[CommittedEvent]]:
        return await record_changes(session, workspace_id, changes, extra)

    async def load_for_write(
        self,
        session: AsyncSession,
        user: CurrentUser,
        execution_uuid: uuid_lib.UUID,
        roles: frozenset[Role] = OPERATE_ROLES,
    ) -> Any:
        return await load_for_write(session, user, execution_uuid, roles)

    async def conditional_update(self, session: AsyncSession, row: Any, values: dict[str, Any], now: Any) -> None:
        await conditional_update(session, row, values, now)

    async def current(self, session: AsyncSession, execution_id: int) -> ExecutionSummary:
        return await current_summary(session, execution_id)

    async def run_write(self, work: Callable[[AsyncSession], Awaitable[tuple[T, list[CommittedEvent]]]]) -> T:
        """Run ``work`` in a write transaction, retrying lost races; publish its events after commit."""
        for _ in range(WRITE_ATTEMPTS):
            try:
                async with self.db.write() as session:
                    result, events = await work(session)
            except LostRace:
                continue
            except DBAPIError as exc:
                # Two transactions locking rows in opposite orders (say a batch's second item and a
                # stop, both updating execution_day_counts): PostgreSQL aborts one; it runs again.
                if not is_deadlock(exc):
                    raise
                continue
            await publish_safely(self.publisher, events)
            return result
        raise ConflictError("The execution kept changing while this request ran; try again.")
