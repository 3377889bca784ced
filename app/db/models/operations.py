from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models.base import Base, JsonB, UUIDColumn


class OperationStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    DRAFT = "draft"  # a page's saved selection (kind "selection"), never run itself


OPEN_OPERATION_STATUSES = (OperationStatus.QUEUED.value, OperationStatus.RUNNING.value)


class Operation(UUIDColumn, Base):
    """A tracked operator action over a snapshot of executions (a bulk action, or a single stop's
    durable intent). Committed before any change, so a crash leaves it open and the worker resumes it.

    ``position`` is how many snapshot items are applied: each batch advances it with a conditional
    UPDATE in the batch's own transaction, so items are applied once even if two workers race."""

    __tablename__ = "operations"
    __table_args__ = (
        Index("ix_operations_status", "status"),
        Index("ix_operations_user_created", "user_id", "created_at"),
    )

    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    kind: Mapped[str] = mapped_column(String(20))  # "bulk" or "stop" (a single stop's intent)
    action: Mapped[str] = mapped_column(String(30))  # stop, delete, retry_request
    status: Mapped[str] = mapped_column(String(20))
    total: Mapped[int] = mapped_column(Integer, default=0)
    position: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    skipped: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Every workspace the snapshot touches (one operation at a time per user and workspace).
    workspace_ids: Mapped[list[int]] = mapped_column(JsonB, default=list)
    execution_uuids: Mapped[list[str]] = mapped_column(JsonB, default=list)
    report: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
