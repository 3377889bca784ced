from __future__ import annotations

import datetime as dt
from typing import Any

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models.base import Base, JsonB, SoftDelete, UUIDColumn


class Workflow(UUIDColumn, SoftDelete, Base):
    """A workflow definition; ``nodes`` and ``edges`` describe its graph."""

    __tablename__ = "workflows"
    __table_args__ = (
        Index("ix_workflows_workspace_name", "workspace_id", "name", postgresql_where=text("deleted_at IS NULL")),
    )

    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    template_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    profile_photo_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    profile_photo_config: Mapped[dict[str, Any] | None] = mapped_column(JsonB, nullable=True)
    visibility: Mapped[str] = mapped_column(String(20), default="workspace")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    trigger_count: Mapped[int] = mapped_column(Integer, default=0)
    allow_cloning: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_account_usage: Mapped[bool] = mapped_column(Boolean, default=False)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    nodes: Mapped[list[dict[str, Any]]] = mapped_column(JsonB, default=list)
    edges: Mapped[list[dict[str, Any]]] = mapped_column(JsonB, default=list)
    # 0006: the four-eyes rule: whoever triggered an execution may not approve its reviews.
    four_eyes: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
