"""saved views of the executions page, and the index behind folded retry chains

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy import types as sa_types
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "saved_views",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("uuid", sa_types.GUID(length=16), nullable=False),
        sa.Column("user_id", BIGINT, nullable=False),
        sa.Column("workspace_id", BIGINT, nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("shared", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa_types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa_types.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_saved_views_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_saved_views_workspace_id_workspaces"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_views")),
        sa.UniqueConstraint("uuid", name=op.f("uq_saved_views_uuid")),
    )
    op.create_index("ix_saved_views_user", "saved_views", ["user_id"])
    op.create_index("ix_saved_views_ws_shared", "saved_views", ["workspace_id"], postgresql_where=sa.text("shared"))
    op.create_table(
        "saved_view_defaults",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("user_id", BIGINT, nullable=False),
        sa.Column("saved_view_id", BIGINT, nullable=False),
        sa.Column("created_at", sa_types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa_types.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_saved_view_defaults_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["saved_view_id"],
            ["saved_views.id"],
            name=op.f("fk_saved_view_defaults_saved_view_id_saved_views"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_view_defaults")),
        sa.UniqueConstraint("user_id", name=op.f("uq_saved_view_defaults_user_id")),
    )
    op.create_index("ix_saved_view_defaults_saved_view_id", "saved_view_defaults", ["saved_view_id"])
    # Folded retry chains read which executions a workspace's retries point at.
    op.create_index(
        "ix_wfe_ws_retry_of",
        "workflow_executions",
        ["workspace_id", "retry_of"],
        postgresql_where=sa.text("retry_of IS NOT NULL AND deleted_at IS NULL"),
        sqlite_where=sa.text("retry_of IS NOT NULL AND deleted_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_wfe_ws_retry_of", table_name="workflow_executions")
    op.drop_table("saved_view_defaults")
    op.drop_table("saved_views")
