from __future__ import annotations

import datetime as dt
from typing import Any

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models.base import Base as _AuditBase
from app.db.models.base import JsonB, utcnow


class ExecutionEvent(_AuditBase):
    """One committed change, numbered per workspace. Written in the same transaction as the change;
    the real-time pipeline publishes it after commit and replays it to reconnecting clients."""

    __tablename__ = "execution_events"
    __table_args__ = (UniqueConstraint("workspace_id", "seq", name="uq_execution_events_ws_seq"),)

    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(BigInteger)
    type: Mapped[str] = mapped_column(String(50))
    execution_id: Mapped[int | None] = mapped_column(
        ForeignKey("workflow_executions.id", ondelete="CASCADE"), nullable=True, index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    occurred_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
