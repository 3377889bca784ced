"""Cancelling pending approvals when their execution finishes or is stopped (inside the caller's
write transaction, with their audit rows)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import ApprovalAction, WorkflowApproval
from app.domain.approvals.audit import AuditEntry, record_audit
from app.lib.sql import any_of


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
