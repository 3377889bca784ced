"""Write ExecutionEvent rows inside the changing transaction; hand them to the broker after commit."""

from __future__ import annotations

import datetime as dt
import uuid as uuid_lib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import ExecutionEvent, Workspace
from app.db.models.base import utcnow


@dataclass(frozen=True)
class PendingEvent:
    type: str
    execution_id: int
    version: int
    summary: dict[str, Any]


@dataclass(frozen=True)
class CommittedEvent:
    """What gets published (see docs/events.md)."""

    seq: int
    type: str
    workspace_id: int
    workspace_uuid: uuid_lib.UUID
    execution_uuid: uuid_lib.UUID
    version: int
    status: str
    occurred_at: dt.datetime
    execution: dict[str, Any]

    def to_message(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "type": self.type,
            "workspace_uuid": str(self.workspace_uuid),
            "execution_uuid": str(self.execution_uuid),
            "version": self.version,
            "status": self.status,
            "occurred_at": self.occurred_at.isoformat().replace("+00:00", "Z"),
            "execution": self.execution,
        }


async def record_events(
    session: AsyncSession, workspace_id: int, workspace_uuid: uuid_lib.UUID, events: list[PendingEvent]
) -> list[CommittedEvent]:
    """Reserve ``len(events)`` sequence numbers and insert the rows.

    The counter row is locked until commit, so within a workspace seq order equals commit order:
    a client that has seen seq N can never later miss a smaller one.
    """
    if not events:
        return []
    last = (
        await session.execute(
            update(Workspace)
            .where(Workspace.id == workspace_id)
            .values(event_seq=Workspace.event_seq + len(events))
            .returning(Workspace.event_seq)
        )
    ).scalar_one()
    first = last - len(events) + 1
    now = utcnow()
    rows = [
        {
            "workspace_id": workspace_id,
            "seq": first + i,
            "type": e.type,
            "execution_id": e.execution_id,
            "version": e.version,
            "payload": e.summary,
            "occurred_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for i, e in enumerate(events)
    ]
    await session.execute(insert(ExecutionEvent), rows)
    return [
        CommittedEvent(
            seq=first + i,
            type=e.type,
            workspace_id=workspace_id,
            workspace_uuid=workspace_uuid,
            execution_uuid=uuid_lib.UUID(e.summary["uuid"]),
            version=e.version,
            status=e.summary["status"],
            occurred_at=now,
            execution=e.summary,
        )
        for i, e in enumerate(events)
    ]
