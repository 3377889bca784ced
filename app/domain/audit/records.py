"""Writing and reading operator audit rows. Rows are inserted in the transaction that makes the
change they describe (kept free of service imports so every write path can use it)."""

from __future__ import annotations

import datetime as dt
import uuid as uuid_lib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import OperatorAction, OperatorActionKind, User
from app.lib.timefmt import iso

REASON_MAX_LENGTH = 1000


@dataclass(frozen=True)
class OperatorActionEntry:
    workspace_id: int
    action: OperatorActionKind
    execution_id: int | None = None
    execution_uuid: uuid_lib.UUID | None = None
    detail: dict[str, Any] = field(default_factory=dict)


def clean_reason(reason: str | None) -> str | None:
    """Strip a reason; empty means none. Length is validated by the request schemas."""
    if reason is None:
        return None
    reason = reason.strip()
    return reason or None


async def record_operator_actions(
    session: AsyncSession,
    entries: list[OperatorActionEntry],
    *,
    actor_id: int | None,
    reason: str | None,
    now: dt.datetime,
    operation_id: int | None = None,
) -> None:
    """Insert one audit row per entry (nothing when ``entries`` is empty), all with the same reason."""
    if not entries:
        return
    reason = clean_reason(reason)
    rows = [
        {
            "workspace_id": e.workspace_id,
            "actor_id": actor_id,
            "action": e.action.value,
            "execution_id": e.execution_id,
            "execution_uuid": e.execution_uuid,
            "operation_id": operation_id,
            "reason": reason,
            "detail": e.detail,
            "created_at": now,
            "updated_at": now,
        }
        for e in entries
    ]
    await session.execute(insert(OperatorAction), rows)


def _as_dict(row: Any) -> dict[str, Any]:
    return {
        "action": row.action,
        "actor": row.actor,
        "execution_uuid": str(row.execution_uuid) if row.execution_uuid else None,
        "operation_id": row.operation_id,
        "reason": row.reason,
        "detail": row.detail or {},
        "created_at": iso(row.created_at),
    }


async def execution_operator_actions(session: AsyncSession, execution_id: int) -> list[dict[str, Any]]:
    """An execution's operator audit rows, oldest first: action, actor (email), reason, detail, created_at."""
    rows = await session.execute(
        select(
            OperatorAction.action,
            User.email.label("actor"),
            OperatorAction.execution_uuid,
            OperatorAction.operation_id,
            OperatorAction.reason,
            OperatorAction.detail,
            OperatorAction.created_at,
        )
        .outerjoin(User, User.id == OperatorAction.actor_id)
        .where(OperatorAction.execution_id == execution_id)
        .order_by(OperatorAction.created_at, OperatorAction.id)
    )
    return [_as_dict(r) for r in rows]
