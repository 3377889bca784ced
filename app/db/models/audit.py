from __future__ import annotations

import enum
import uuid as uuid_lib
from typing import Any

from advanced_alchemy.types import GUID
from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models.base import Base, JsonB


class OperatorActionKind(enum.StrEnum):
    """What an operator did. Bulk actions record one row per execution plus one summary row."""

    STOP = "stop"
    DELETE = "delete"
    RESTORE = "restore"
    PURGE = "purge"
    FLAG = "flag"
    UNFLAG = "unflag"
    RETRY_REQUEST = "retry_request"
    BULK = "bulk"


class OperatorAction(Base):
    """Append-only operator audit log: who did what to which execution, when, and why.

    Rows outlive the executions they name (a purge deletes executions for good), so the execution's
    uuid is kept beside the nullable foreign key."""

    __tablename__ = "operator_actions"
    __table_args__ = (
        Index("ix_operator_actions_ws_created", "workspace_id", "created_at", "id"),
        Index("ix_operator_actions_execution", "execution_id", "created_at"),
        Index("ix_operator_actions_operation", "operation_id"),
    )

    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    action: Mapped[str] = mapped_column(String(30))
    execution_id: Mapped[int | None] = mapped_column(
        ForeignKey("workflow_executions.id", ondelete="SET NULL"), nullable=True
    )
    execution_uuid: Mapped[uuid_lib.UUID | None] = mapped_column(GUID, nullable=True)
    # The bulk operation this row belongs to, if any (no foreign key: operations are pruned separately).
    operation_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
