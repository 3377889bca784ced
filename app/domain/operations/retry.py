"""One retry request from an execution's page: the bulk ``retry_request`` item (same checks, same
``execution.retry_requested`` event, same audit row), applied at once in its own transaction instead
of as a tracked operation. The engine then starts the retry (an execution with ``retry_of``)."""

from __future__ import annotations

import uuid as uuid_lib
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import WorkflowExecution
from app.db.models.base import utcnow
from app.domain.audit.records import record_operator_actions
from app.domain.events.recorder import CommittedEvent
from app.domain.operations.items import NOT_FOUND, ItemContext, RunState, evaluate, load_targets
from app.lib.errors import AppError, ConflictError, ForbiddenError, NotFoundError
from app.lib.identity import CurrentUser
from app.lib.timefmt import iso

if TYPE_CHECKING:
    from app.domain.executions.services import ExecutionService


def refusal_error(reason: str | None) -> AppError:
    """A skipped item as the error a single request answers: 404, 403, else 409 with the reason."""
    if reason == NOT_FOUND:
        return NotFoundError("Workflow execution")
    if reason and reason.startswith("not permitted"):
        return ForbiddenError(f"You may not retry this execution ({reason}).")
    return ConflictError(f"This execution cannot be retried: {reason}.")


async def request_retry(
    executions: ExecutionService, user: CurrentUser, execution_uuid: uuid_lib.UUID, reason: str | None = None
) -> dict[str, Any]:
    """Ask the engine to retry a failed execution. Refused (409, with why) when it did not fail, was
    already retried successfully, or a request is still waiting for its retry: so a second click,
    even a concurrent one, records nothing more."""

    async def work(session: AsyncSession) -> tuple[dict[str, Any], list[CommittedEvent]]:
        if not executions.db.is_sqlite:
            # Two clicks at once: the second waits here, then sees the first's audit row and is refused.
            # (SQLite runs one write transaction at a time already.)
            await session.execute(
                select(WorkflowExecution.id).where(WorkflowExecution.uuid == execution_uuid).with_for_update()
            )
        target = str(execution_uuid)
        row = (await load_targets(session, [target])).get(target)
        now = utcnow()
        state = RunState()
        ctx = ItemContext(session, user, apply=True, now=now, is_sqlite=executions.db.is_sqlite)
        outcome = await evaluate(ctx, "retry_request", target, row, state)
        if not outcome.applied:
            raise refusal_error(outcome.reason)
        events: list[CommittedEvent] = []
        for workspace_id, changes in state.changes.items():
            _, committed = await executions.record_changes(session, workspace_id, changes)
            events += committed
        await record_operator_actions(session, state.audit, actor_id=user.id, reason=reason, now=now)
        return {"uuid": target, "requested_at": iso(now)}, events

    return await executions.run_write(work)
