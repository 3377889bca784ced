"""tracked operations (bulk actions, durable stop intents) and workflow_executions.stop_requested_at

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 12:00:00

An ``operations`` row is committed before a bulk action or a stop cascade changes anything, so a
crash leaves it open and the worker resumes it on start-up. ``stop_requested_at`` marks an
execution whose stop is accepted but not yet applied (pages show "Stopping…").
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy import types as sa_types
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSONB = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "operations",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("uuid", sa_types.GUID(length=16), nullable=False),
        sa.Column("workspace_id", BIGINT, nullable=False),
        sa.Column("user_id", BIGINT, nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("workspace_ids", JSONB, nullable=False),
        sa.Column("execution_uuids", JSONB, nullable=False),
        sa.Column("report", JSONB, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("finished_at", sa_types.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("created_at", sa_types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa_types.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_operations_workspace_id_workspaces"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_operations_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operations")),
        sa.UniqueConstraint("uuid", name=op.f("uq_operations_uuid")),
    )
    op.create_index("ix_operations_status", "operations", ["status"])
    op.create_index("ix_operations_user_created", "operations", ["user_id", "created_at"])
    with op.batch_alter_table("workflow_executions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stop_requested_at", sa_types.DateTimeUTC(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workflow_executions", schema=None) as batch_op:
        batch_op.drop_column("stop_requested_at")
    op.drop_index("ix_operations_user_created", table_name="operations")
    op.drop_index("ix_operations_status", table_name="operations")
    op.drop_table("operations")
