"""operator audit log

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 12:00:00

One row per operator action (stop, delete, restore, purge, flag, unflag, retry request, bulk),
with its optional reason. Rows keep the execution's uuid so they survive a purge.
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy import types as sa_types
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSONB = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "operator_actions",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("workspace_id", BIGINT, nullable=False),
        sa.Column("actor_id", BIGINT, nullable=True),
        sa.Column("action", sa.String(length=30), nullable=False),
        sa.Column("execution_id", BIGINT, nullable=True),
        sa.Column("execution_uuid", sa_types.GUID(length=16), nullable=True),
        sa.Column("operation_id", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("detail", JSONB, nullable=False),
        sa.Column("created_at", sa_types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa_types.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_operator_actions_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_operator_actions_actor_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["workflow_executions.id"],
            name=op.f("fk_operator_actions_execution_id_workflow_executions"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_actions")),
    )
    op.create_index("ix_operator_actions_ws_created", "operator_actions", ["workspace_id", "created_at", "id"])
    op.create_index("ix_operator_actions_execution", "operator_actions", ["execution_id", "created_at"])
    op.create_index("ix_operator_actions_operation", "operator_actions", ["operation_id"])


def downgrade() -> None:
    op.drop_index("ix_operator_actions_operation", table_name="operator_actions")
    op.drop_index("ix_operator_actions_execution", table_name="operator_actions")
    op.drop_index("ix_operator_actions_ws_created", table_name="operator_actions")
    op.drop_table("operator_actions")
