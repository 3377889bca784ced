"""indexes for the started / stopped / active time axes and for the trash

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 12:30:00

- ``(workspace_id, started_at)`` and ``(workspace_id, stopped_at)``, partial on live rows like the
  other list indexes, so counts and metrics on the ``started``, ``stopped`` and ``active`` axes read
  one index range per workspace. On PostgreSQL they carry the columns the metrics read (index-only
  scans).
- ``(workspace_id, coalesce(stopped_at, 9999-12-31))`` for the ``active`` axis: "not stopped before
  the range began" is one range of it (the started bound is checked from the index).
- ``(workspace_id, deleted_at)`` on soft-deleted rows only: the trash view and ``athena purge``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

LIVE = sa.text("deleted_at IS NULL")
TRASHED = sa.text("deleted_at IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_wfe_ws_started",
        "workflow_executions",
        ["workspace_id", "started_at"],
        postgresql_include=["status", "workflow_id", "stopped_at", "created_at"],
        postgresql_where=LIVE,
        sqlite_where=LIVE,
    )
    op.create_index(
        "ix_wfe_ws_stopped",
        "workflow_executions",
        ["workspace_id", "stopped_at"],
        postgresql_include=["status", "workflow_id", "started_at", "created_at"],
        postgresql_where=LIVE,
        sqlite_where=LIVE,
    )
    op.create_index(
        "ix_wfe_ws_active",
        "workflow_executions",
        ["workspace_id", sa.text("coalesce(stopped_at, '9999-12-31 00:00:00+00')")],
        postgresql_include=["status", "workflow_id", "started_at", "stopped_at", "created_at"],
        postgresql_where=LIVE,
        sqlite_where=LIVE,
    )
    op.create_index(
        "ix_wfe_ws_deleted",
        "workflow_executions",
        ["workspace_id", "deleted_at"],
        postgresql_where=TRASHED,
        sqlite_where=TRASHED,
    )


def downgrade() -> None:
    for name in ("ix_wfe_ws_deleted", "ix_wfe_ws_active", "ix_wfe_ws_stopped", "ix_wfe_ws_started"):
        op.drop_index(name, table_name="workflow_executions")
