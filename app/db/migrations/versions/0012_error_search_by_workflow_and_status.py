"""error search filtered by workflow or status, index-only; workflow/workspace dependency statistics

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 06:00:00

PostgreSQL only. Measured at 1M executions (docs/benchmarks.md, goal 4): a search for a frequent
term ("timeout") in the busiest workflow counted its capped total (1,001 matches) by visiting the
heap page of every trigram match in every workspace (6,775 pages, 22-30 ms) because nothing else
could check the workflow.

- ``ix_wfe_ws_errors`` (0010) also carries ``status`` and ``workflow_id``: a workspace's search with
  a status or workflow filter is checked in the index.
- ``ix_wfe_wf_errors``: the same for one workflow's errored runs, in creation order (page and count
  index-only; the workflow with a quarter of a workspace reads ~4,000 entries for 1,001 matches).
- ``st_wfe_ws_wf``: a workflow belongs to one workspace, which the planner cannot know; without the
  dependency it multiplies the two selectivities, expects ~600 matches instead of thousands and
  gives up the early-stopping index scans for a bitmap of all the term's matches.

Rows without an error (every row a stop cascade touches) are in neither index.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

LIVE_WITH_ERROR = sa.text("deleted_at IS NULL AND error IS NOT NULL")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_wfe_ws_errors", table_name="workflow_executions")
    op.create_index(
        "ix_wfe_ws_errors",
        "workflow_executions",
        ["workspace_id", "created_at", "id"],
        postgresql_include=["error", "status", "workflow_id"],
        postgresql_where=LIVE_WITH_ERROR,
    )
    op.create_index(
        "ix_wfe_wf_errors",
        "workflow_executions",
        ["workflow_id", "created_at", "id"],
        postgresql_include=["error", "status", "workspace_id"],
        postgresql_where=LIVE_WITH_ERROR,
    )
    op.execute(
        "CREATE STATISTICS st_wfe_ws_wf (dependencies, ndistinct) ON workspace_id, workflow_id FROM workflow_executions"
    )
    op.execute("ANALYZE workflow_executions")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP STATISTICS st_wfe_ws_wf")
    op.drop_index("ix_wfe_wf_errors", table_name="workflow_executions")
    op.drop_index("ix_wfe_ws_errors", table_name="workflow_executions")
    op.create_index(
        "ix_wfe_ws_errors",
        "workflow_executions",
        ["workspace_id", "created_at", "id"],
        postgresql_include=["error"],
        postgresql_where=LIVE_WITH_ERROR,
    )
