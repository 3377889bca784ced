"""metrics: covering index for a workspace's executions in a date range (PostgreSQL)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 08:55:00

The metrics queries read status, workflow, start and stop of every execution of a workspace in a
date range. With these columns in the index PostgreSQL answers them with an index-only scan instead
of fetching ~one heap page per row (bench/metrics.py: see docs/benchmarks.md). SQLite has no
INCLUDE; it keeps using ix_wfe_ws_created.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

NAME = "ix_wfe_ws_created_metrics"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_index(
        NAME,
        "workflow_executions",
        ["workspace_id", "created_at"],
        postgresql_include=["status", "workflow_id", "started_at", "stopped_at"],
        postgresql_where=sa.text("deleted_at IS NULL"),
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index(NAME, table_name="workflow_executions")
