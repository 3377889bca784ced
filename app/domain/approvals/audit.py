"""The approval audit trail: one row per request, assignment, decision and cancellation, written in
the transaction that made the change (kept free of service imports: the stop cascade uses it too)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.db.models import ApprovalAction, ApprovalAudit, User
from app.lib.timefmt import iso


@dataclass(frozen=True)
class AuditEntry:
    approval_id: int
    execution_id: int
    workspace_id: int
    action: ApprovalAction
    comment: str | None = None
    assignee_id: int | None = None


async def record_audit(
    session: AsyncSession, entries: list[AuditEntry], actor_id: int | None, now: dt.datetime
) -> None:
    """Insert the audit rows of one change (nothing when ``entries`` is empty)."""
    if not entries:
        return
    rows = [
        {
            "approval_id": e.approval_id,
            "execution_id": e.execution_id,
            "workspace_id": e.workspace_id,
            "actor_id": actor_id,
            "assignee_id": e.assignee_id,
            "action": e.action.value,
            "comment": e.comment,
            "created_at": now,
            "updated_at": now,
        }
        for e in entries
    ]
    await session.execute(insert(ApprovalAudit), rows)


async def audit_trail(session: AsyncSession, approval_id: int) -> list[dict[str, Any]]:
    """An approval's audit rows, oldest first: action, actor (email), assigned_to (email), comment, created_at."""
    Actor = aliased(User, name="actor")
    Assignee = aliased(User, name="assignee")
    rows = await session.execute(
        select(
            ApprovalAudit.action,
            Actor.email.label("actor"),
            Assignee.email.label("assigned_to"),
            ApprovalAudit.comment,
            ApprovalAudit.created_at,
        )
        .outerjoin(Actor, Actor.id == ApprovalAudit.actor_id)
        .outerjoin(Assignee, Assignee.id == ApprovalAudit.assignee_id)
        .where(ApprovalAudit.approval_id == approval_id)
        .order_by(ApprovalAudit.created_at, ApprovalAudit.id)
    )
    return [
        {
            "action": r.action,
            "actor": r.actor,
            "assigned_to": r.assigned_to,
            "comment": r.comment,
            "created_at": iso(r.created_at),
        }
        for r in rows
    ]
