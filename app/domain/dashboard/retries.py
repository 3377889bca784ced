"""What an execution's page says about its retries: the retries started so far (executions whose
``retry_of`` is this one) and the latest retry request, pending while no retry started after it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import OperatorAction, OperatorActionKind, User, WorkflowExecution
from app.domain.executions.state import ACTIVE
from app.lib.timefmt import iso

E = WorkflowExecution
SHOWN = 10
ACTIVE_STATUSES = {s.value for s in ACTIVE}


async def retry_state(
    session: AsyncSession, execution_id: int, execution_uuid: str, workspace_id: int
) -> dict[str, Any]:
    """``retries`` (newest first, at most ``SHOWN``), ``requested`` (the latest request: who, when) and
    ``pending`` (that request has no retry created after it yet), ``running`` (a retry is not finished)."""
    rows = await session.execute(
        select(E.uuid, E.status, E.created_at)
        .where(E.retry_of == execution_uuid, E.workspace_id == workspace_id, E.deleted_at.is_(None))
        .order_by(E.created_at.desc(), E.id.desc())
        .limit(SHOWN)
    )
    retries = [{"uuid": str(r.uuid), "status": r.status, "created_at": r.created_at} for r in rows]
    request = (
        await session.execute(
            select(OperatorAction.created_at, User.email)
            .outerjoin(User, User.id == OperatorAction.actor_id)
            .where(
                OperatorAction.execution_id == execution_id,
                OperatorAction.action == OperatorActionKind.RETRY_REQUEST.value,
            )
            .order_by(OperatorAction.created_at.desc())
            .limit(1)
        )
    ).one_or_none()
    requested = {"at": iso(request.created_at), "by": request.email} if request else None
    pending = request is not None and (not retries or retries[0]["created_at"] < request.created_at)
    for retry in retries:
        retry["created_at"] = iso(retry["created_at"])
    running = any(r["status"] in ACTIVE_STATUSES for r in retries)
    return {"retries": retries, "requested": requested, "pending": pending, "running": running}
