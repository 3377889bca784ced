"""indexes for a busy workflow's status filter and for error search within a workspace

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 01:30:00

Measured at 1M executions (docs/benchmarks.md, goal 4):

- ``(workflow_id, status)`` becomes ``(workflow_id, status, created_at, id, workspace_id)``: the
  list's workflow + status filter (always scoped to a workspace) reads its page and its capped count
  from the index alone; before, the count visited the heap for every match (busiest workflow's
  failed runs: 47 ms -> 2 ms). It also gives the slow-run chip's sample (a workflow's latest
  completed runs) in order, which ``(workflow_id, created_at, id)`` served: that one goes.
- ``(workspace_id, created_at, status)`` goes too: the metrics index ``(workspace_id, created_at)
  INCLUDE (status, ...)`` answers the same counts by status over a date range, index-only. A stop
  cascade updates every index of each row it cancels (status and timestamps change: no HOT
  update), so two fewer indexes make the 1,001-row UPDATE cheaper.
- PostgreSQL only: ``(workspace_id, created_at, id) INCLUDE (error)`` on live rows that have an
  error. A search for a frequent term found its matches through the trigram index in every
  workspace, then visited each one's heap page to keep those of the workspace and date range
  (15,000 pages, 79 ms); the workspace's failed rows now give page and count by an index-only
  range scan (3.5 ms), and the planner still takes the trigram index for a rare term. Rows without
  an error (most of them, and every row a stop cascade touches) are not in it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

LIVE = sa.text("deleted_at IS NULL")
LIVE_WITH_ERROR = sa.text("deleted_at IS NULL AND error IS NOT NULL")


REPLACED = {
    "ix_wfe_wf_status": ["workflow_id", "status"],
    "ix_wfe_wf_created": ["workflow_id", "created_at", "id"],
    "ix_wfe_ws_created_status": ["workspace_id", "created_at", "status"],
}


def upgrade() -> None:
    for name in REPLACED:
        op.drop_index(name, table_name="workflow_executions")
    op.create_index(
        "ix_wfe_wf_status_created",
        "workflow_executions",
        ["workflow_id", "status", "created_at", "id", "workspace_id"],
        postgresql_where=LIVE,
        sqlite_where=LIVE,
    )
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            "ix_wfe_ws_errors",
            "workflow_executions",
            ["workspace_id", "created_at", "id"],
            postgresql_include=["error"],
            postgresql_where=LIVE_WITH_ERROR,
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_wfe_ws_errors", table_name="workflow_executions")
    op.drop_index("ix_wfe_wf_status_created", table_name="workflow_executions")
    for name, columns in REPLACED.items():
        op.create_index(name, "workflow_executions", columns, postgresql_where=LIVE, sqlite_where=LIVE)
