"""approval assignment and audit

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 05:36:17.163740
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy import types as sa_types
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "approval_audit",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("approval_id", BIGINT, nullable=False),
        sa.Column("execution_id", BIGINT, nullable=False),
        sa.Column("workspace_id", BIGINT, nullable=False),
        sa.Column("actor_id", BIGINT, nullable=True),
        sa.Column("assignee_id", BIGINT, nullable=True),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", sa_types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa_types.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_approval_audit_actor_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["approval_id"],
            ["workflow_approvals.id"],
            name=op.f("fk_approval_audit_approval_id_workflow_approvals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["users.id"], name=op.f("fk_approval_audit_assignee_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["workflow_executions.id"],
            name=op.f("fk_approval_audit_execution_id_workflow_executions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_approval_audit_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approval_audit")),
    )
    with op.batch_alter_table("approval_audit", schema=None) as batch_op:
        batch_op.create_index("ix_approval_audit_approval", ["approval_id", "created_at", "id"], unique=False)
        batch_op.create_index(batch_op.f("ix_approval_audit_execution_id"), ["execution_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_approval_audit_workspace_id"), ["workspace_id"], unique=False)

    with op.batch_alter_table("workflow_approvals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assigned_to_id", BIGINT, nullable=True))
        batch_op.create_index("ix_wfa_assigned_status", ["assigned_to_id", "status"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_workflow_approvals_assigned_to_id_users"),
            "users",
            ["assigned_to_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("workflow_approvals", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_workflow_approvals_assigned_to_id_users"), type_="foreignkey")
        batch_op.drop_index("ix_wfa_assigned_status")
        batch_op.drop_column("assigned_to_id")

    with op.batch_alter_table("approval_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_approval_audit_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_approval_audit_execution_id"))
        batch_op.drop_index("ix_approval_audit_approval")

    op.drop_table("approval_audit")
