"""Escalation: pending reviews past their due time, for the inbox's reminder and the command room."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.base import utcnow
from app.domain.approvals import queries as q

MAX_OVERDUE = 50


async def overdue_reviews(
    session: AsyncSession, workspace_ids: list[int], limit: int = MAX_OVERDUE
) -> tuple[list[dict[str, Any]], int]:
    """Overdue pending reviews of live executions in these workspaces, most overdue first (at most
    ``limit``), and how many there are in all."""
    if not workspace_ids:
        return [], 0
    now = utcnow()
    conds = q.filter_conditions(q.ApprovalFilters(overdue=True), workspace_ids, 0, now)
    total = (
        await session.execute(select(func.count()).select_from(q.item_select().where(*conds).subquery()))
    ).scalar_one()
    rows = await session.execute(q.item_select().where(*conds).order_by(*q.order_by("due_at")).limit(limit))
    return [q.serialize_item(r, now) for r in rows], int(total)
