from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models.base import Base, JsonB, SoftDelete, UUIDColumn, utcnow

LIVE = text("deleted_at IS NULL")
TRASHED = text("deleted_at IS NOT NULL")
# The active time axis (app/domain/executions/time_axis.py): not stopped reads as the end of time.
STOPPED_OR_NEVER_SQL = "coalesce(stopped_at, '9999-12-31 00:00:00+00')"


class ExecutionStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    WAITING = "waiting"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


def _live_index(name: str, *cols: str) -> Index:
    # Partial on both backends: soft-deleted rows never appear in lists, so keep them out of the index.
    return Index(name, *cols, postgresql_where=LIVE, sqlite_where=LIVE)


class WorkflowExecution(UUIDColumn, SoftDelete, Base):
    __tablename__ = "workflow_executions"
    __table_args__ = (
        _live_index("ix_wfe_ws_created", "workspace_id", "created_at", "id"),
        # Metrics read these columns for a workspace's date range: index-only scans on PostgreSQL.
        Index(
            "ix_wfe_ws_created_metrics",
            "workspace_id",
            "created_at",
            postgresql_include=["status", "workflow_id", "started_at", "stopped_at"],
            postgresql_where=LIVE,
        ).ddl_if(dialect="postgresql"),
        _live_index("ix_wfe_ws_updated", "workspace_id", "updated_at", "id"),
        _live_index("ix_wfe_ws_status_created", "workspace_id", "status", "created_at", "id"),
        # 0010 (replaces (workflow_id, status) and (workflow_id, created_at, id)): a workflow's
        # status filter, page and count index-only; a workflow's latest runs of a status in order.
        _live_index("ix_wfe_wf_status_created", "workflow_id", "status", "created_at", "id", "workspace_id"),
        # 0003: org-wide ordering and index-only counts by status over a date range. The trigram
        # search indexes (GIN on PostgreSQL, FTS5 table on SQLite) live in the migration only.
        _live_index("ix_wfe_created", "created_at", "id"),
        _live_index("ix_wfe_updated", "updated_at", "id"),
        _live_index("ix_wfe_wf_ws_created", "workflow_id", "workspace_id", "created_at", "id"),
        # 0007: which executions a workspace's retries point at (folded retry chains).
        Index(
            "ix_wfe_ws_retry_of",
            "workspace_id",
            "retry_of",
            postgresql_where=text("retry_of IS NOT NULL AND deleted_at IS NULL"),
            sqlite_where=text("retry_of IS NOT NULL AND deleted_at IS NULL"),
        ),
        Index("ix_wfe_parent", "parent_execution_id"),
        Index("ix_wfe_user", "user_id"),
        # 0009: the started / stopped / active time axes of counts and metrics, and the trash.
        Index(
            "ix_wfe_ws_started",
            "workspace_id",
            "started_at",
            postgresql_include=["status", "workflow_id", "stopped_at", "created_at"],
            postgresql_where=LIVE,
            sqlite_where=LIVE,
        ),
        Index(
            "ix_wfe_ws_stopped",
            "workspace_id",
            "stopped_at",
            postgresql_include=["status", "workflow_id", "started_at", "created_at"],
            postgresql_where=LIVE,
            sqlite_where=LIVE,
        ),
        Index(
            "ix_wfe_ws_active",
            "workspace_id",
            text(STOPPED_OR_NEVER_SQL),
            postgresql_include=["status", "workflow_id", "started_at", "stopped_at", "created_at"],
            postgresql_where=LIVE,
            sqlite_where=LIVE,
        ),
        Index("ix_wfe_ws_deleted", "workspace_id", "deleted_at", postgresql_where=TRASHED, sqlite_where=TRASHED),
        # 0010/0012/0013: error search within a workspace or a workflow (with status), its page and
        # its capped count index-only (PostgreSQL). ``error_folded`` is a generated column that only
        # PostgreSQL has (``lower(left(error, 500))``, migration 0013), so it is not mapped.
        Index(
            "ix_wfe_ws_errors",
            "workspace_id",
            "created_at",
            "id",
            postgresql_include=["error_folded", "status", "workflow_id"],
            postgresql_where=text("deleted_at IS NULL AND error_folded IS NOT NULL"),
        ).ddl_if(dialect="postgresql"),
        Index(
            "ix_wfe_wf_errors",
            "workflow_id",
            "created_at",
            "id",
            postgresql_include=["error_folded", "status", "workspace_id"],
            postgresql_where=text("deleted_at IS NULL AND error_folded IS NOT NULL"),
        ).ddl_if(dialect="postgresql"),
    )

    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    workflow_id: Mapped[int] = mapped_column(ForeignKey("workflows.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    parent_execution_id: Mapped[int | None] = mapped_column(
        ForeignKey("workflow_executions.id", ondelete="SET NULL"), nullable=True
    )
    mode: Mapped[str | None] = mapped_column(String(50), nullable=True)
    retry_of: Mapped[str | None] = mapped_column(String(64), nullable=True)
    retry_success_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default=ExecutionStatus.PENDING.value)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    stopped_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    wait_till: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    running_node: Mapped[str | None] = mapped_column(String(255), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Set when a stop is accepted, before its cascade commits: pages show "Stopping…" meanwhile.
    stop_requested_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    # +1 on every committed change (including approvals and command-room flags shown on its row),
    # so a client never lets an older fragment overwrite a newer one.
    version: Mapped[int] = mapped_column(Integer, default=1)


class WorkflowExecutionData(UUIDColumn, SoftDelete, Base):
    """Per-node runs (``workflow_data``), run metadata and free-form data of one execution."""

    __tablename__ = "workflow_execution_data"

    execution_id: Mapped[int] = mapped_column(ForeignKey("workflow_executions.id", ondelete="CASCADE"), index=True)
    workflow_data: Mapped[list[dict[str, Any]]] = mapped_column(JsonB, default=list)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JsonB, default=dict)
    data: Mapped[str | None] = mapped_column(Text, nullable=True)


class ApprovalStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class WorkflowApproval(UUIDColumn, Base):
    __tablename__ = "workflow_approvals"
    __table_args__ = (
        Index("ix_wfa_execution_status", "execution_id", "status"),
        Index("ix_wfa_ws_status_requested", "workspace_id", "status", "requested_at"),
        Index("ix_wfa_assigned_status", "assigned_to_id", "status"),
        # 0006: identical reviews (same payload) of one workspace are found and grouped by this hash.
        Index("ix_wfa_ws_status_hash", "workspace_id", "status", "payload_hash"),
    )

    execution_id: Mapped[int] = mapped_column(ForeignKey("workflow_executions.id", ondelete="CASCADE"))
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    node_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JsonB, nullable=True)
    high_risk: Mapped[bool] = mapped_column(Boolean, default=False)
    # 0006: sha256 of the review's canonical JSON: title, description, payload (identical reviews
    # group in the inbox); how many
    # approvals complete the review (2 for high-risk) and how many were recorded so far.
    payload_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    required_approvals: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    approvals_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    status: Mapped[str] = mapped_column(String(20), default=ApprovalStatus.PENDING.value)
    requested_at: Mapped[dt.datetime] = mapped_column(DateTimeUTC(timezone=True), default=utcnow)
    due_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)


class ApprovalAction(enum.StrEnum):
    REQUESTED = "requested"
    ASSIGNED = "assigned"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class ApprovalAudit(Base):
    """Append-only trail of an approval: who requested, assigned, decided or cancelled it, and when."""

    __tablename__ = "approval_audit"
    __table_args__ = (Index("ix_approval_audit_approval", "approval_id", "created_at", "id"),)

    approval_id: Mapped[int] = mapped_column(ForeignKey("workflow_approvals.id", ondelete="CASCADE"))
    execution_id: Mapped[int] = mapped_column(ForeignKey("workflow_executions.id", ondelete="CASCADE"), index=True)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    # For "assigned": who the approval was assigned to.
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    action: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)


class CommandRoomTask(UUIDColumn, Base):
    """An execution flagged for the ops team; active while ``removed_at`` is null."""

    __tablename__ = "command_room_tasks"
    __table_args__ = (
        Index("ix_crt_execution_active", "execution_id", postgresql_where=text("removed_at IS NULL")),
        Index("ix_crt_ws_active", "workspace_id", "created_at", postgresql_where=text("removed_at IS NULL")),
    )

    execution_id: Mapped[int] = mapped_column(ForeignKey("workflow_executions.id", ondelete="CASCADE"))
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    removed_at: Mapped[dt.datetime | None] = mapped_column(DateTimeUTC(timezone=True), nullable=True)
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
