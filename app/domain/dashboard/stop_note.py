"""Who stopped a cancelled execution, when and why: the note at the top of its page.

A stop writes the execution's ``stopped_at`` and its operator audit row (``operator_actions``,
action ``stop``) in one transaction with the same ``now``, and so does a bulk stop for every item
(one time for the batch). So the stop that ended an execution is the ``stop`` row of its workspace
created at its ``stopped_at`` (index ``ix_operator_actions_ws_created``): its own row when it was
the target, else the row of the execution whose cascade cancelled it (same actor, time and reason).
An execution cancelled by its engine's report (``PATCH status=cancelled``) has no such row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import ExecutionStatus, OperatorAction, OperatorActionKind, User, WorkflowExecution
from app.domain.executions.summary import ExecutionSummary

E = WorkflowExecution


async def stop_note(session: AsyncSession, execution: ExecutionSummary, execution_id: int) -> dict[str, Any] | None:
    """``{"at", "actor", "reason", "via", "target_uuid"}`` for a cancelled execution, else None.
    ``via``: ``stop`` (it was stopped), ``cascade`` (another's stop cancelled it: ``target_uuid``)
    or ``report`` (its engine reported it cancelled; no actor or reason known)."""
    if execution.get("status") != ExecutionStatus.CANCELLED.value or not execution.get("stopped_at"):
        return None
    stopped_at = select(E.stopped_at).where(E.id == execution_id).scalar_subquery()
    A = OperatorAction
    row = (
        await session.execute(
            select(A.execution_id, A.execution_uuid, A.reason, User.email.label("actor"))
            .outerjoin(User, User.id == A.actor_id)
            .where(
                A.workspace_id == select(E.workspace_id).where(E.id == execution_id).scalar_subquery(),
                A.created_at == stopped_at,
                A.action == OperatorActionKind.STOP.value,
            )
            .order_by(case((A.execution_id == execution_id, 0), else_=1), A.id)
            .limit(1)
        )
    ).one_or_none()
    note: dict[str, Any] = {"at": execution["stopped_at"], "actor": None, "reason": None, "via": "report"}
    if row is None:
        return note
    own = row.execution_id == execution_id
    return note | {
        "actor": row.actor,
        "reason": row.reason,
        "via": "stop" if own else "cascade",
        "target_uuid": None if own or row.execution_uuid is None else str(row.execution_uuid),
    }
