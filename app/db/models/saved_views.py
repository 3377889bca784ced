from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models.base import Base, UUIDColumn


class SavedView(UUIDColumn, Base):
    """A named executions-page view of one user (its URL query: filters, sort, columns), optionally
    shared with the members of its workspace."""

    __tablename__ = "saved_views"
    __table_args__ = (
        Index("ix_saved_views_user", "user_id"),
        Index("ix_saved_views_ws_shared", "workspace_id", postgresql_where=text("shared")),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The view's workspace when it shows one (required to share); None for an organization view.
    workspace_id: Mapped[int | None] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=True)
    name: Mapped[str] = mapped_column(String(100))
    query: Mapped[str] = mapped_column(Text)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)


class SavedViewDefault(Base):
    """The view a user's /executions opens with when its URL has no query (one per user)."""

    __tablename__ = "saved_view_defaults"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    saved_view_id: Mapped[int] = mapped_column(ForeignKey("saved_views.id", ondelete="CASCADE"), index=True)
