"""Reading events back from the database: replay after a gap or a reconnect, and each workspace's
last sequence number (the counter ``record_events`` moves)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import ExecutionEvent, Workspace
from app.domain.events.message import EventMessage, event_message
from app.domain.executions.summary import summary_from_payload
from app.lib.timefmt import iso


def message_from_row(workspace_uuid: str, row: Any) -> EventMessage:
    return event_message(
        seq=row.seq,
        type=row.type,
        workspace_uuid=workspace_uuid,
        version=row.version,
        occurred_at=iso(row.occurred_at) or "",
        execution=summary_from_payload(row.payload or {}),
    )


async def load_events(
    session: AsyncSession, workspace_id: int, after_seq: int, *, up_to: int | None = None, limit: int = 1000
) -> list[EventMessage]:
    """Events with ``after_seq < seq [<= up_to]`` in order (uses the (workspace_id, seq) unique index)."""
    ws_uuid = (await session.execute(select(Workspace.uuid).where(Workspace.id == workspace_id))).scalar_one()
    conds = [ExecutionEvent.workspace_id == workspace_id, ExecutionEvent.seq > after_seq]
    if up_to is not None:
        conds.append(ExecutionEvent.seq <= up_to)
    rows = await session.execute(
        select(
            ExecutionEvent.seq,
            ExecutionEvent.type,
            ExecutionEvent.version,
            ExecutionEvent.payload,
            ExecutionEvent.occurred_at,
        )
        .where(*conds)
        .order_by(ExecutionEvent.seq)
        .limit(limit)
    )
    return [message_from_row(str(ws_uuid), r) for r in rows]


async def current_seqs(session: AsyncSession, workspace_ids: list[int]) -> dict[int, int]:
    """The last sequence number of each workspace (0 before its first event)."""
    rows = await session.execute(select(Workspace.id, Workspace.event_seq).where(Workspace.id.in_(workspace_ids)))
    return {r.id: int(r.event_seq) for r in rows}
