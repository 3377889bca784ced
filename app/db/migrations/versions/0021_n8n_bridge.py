"""the n8n bridge's state: its cursor and health, and which n8n workflow / execution is which row

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 16:00:00

``athena bridge n8n`` mirrors an n8n instance into one workspace (app/bridges/n8n). Everything it
must remember across a restart lives here, so a restart neither duplicates nor misses anything:

- ``n8n_bridges``: one row per (workspace, n8n URL): the id cursor (every n8n execution id up to
  ``cursor_id`` is mirrored or known to be absent), and its health (state, backoff, last error,
  heartbeat, counters) that the server's ``/ready`` and ``/metrics`` read;
- ``n8n_workflow_links``: n8n workflow id -> Athena workflow;
- ``n8n_execution_links``: n8n execution id -> Athena execution, inserted in the transaction that
  creates the execution (so a crash cannot leave one without the other), with what was last
  mirrored and the approval / resume / stop bookkeeping.

(Written beside 0020, the idempotency keys' migration, and chained onto it when main was merged.)
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy import types as sa_types
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _when(name: str, nullable: bool = True) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa_types.DateTimeUTC(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "n8n_bridges",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("workspace_id", BIGINT, nullable=False),
        sa.Column("base_url", sa.String(length=500), nullable=False),
        sa.Column("user_id", BIGINT, nullable=True),
        sa.Column("cursor_id", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("state", sa.String(length=20), nullable=False, server_default="starting"),
        sa.Column("poll_seconds", sa.Float(), nullable=False, server_default="1"),
        sa.Column("backoff_seconds", sa.Float(), nullable=False, server_default="0"),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_poll_seconds", sa.Float(), nullable=True),
        sa.Column("polls", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("failures", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("mirrored", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("resumes", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("stops_refused", sa.BigInteger(), nullable=False, server_default="0"),
        _when("last_ok_at"),
        _when("heartbeat_at"),
        _when("created_at", nullable=False),
        _when("updated_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_n8n_bridges_workspace_id_workspaces"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_n8n_bridges_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_n8n_bridges")),
        sa.UniqueConstraint("workspace_id", "base_url", name=op.f("uq_n8n_bridges_workspace_id")),
    )
    op.create_table(
        "n8n_workflow_links",
        sa.Column("bridge_id", BIGINT, nullable=False),
        sa.Column("n8n_id", sa.String(length=64), nullable=False),
        sa.Column("workflow_id", BIGINT, nullable=False),
        sa.Column("n8n_updated_at", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["bridge_id"],
            ["n8n_bridges.id"],
            name=op.f("fk_n8n_workflow_links_bridge_id_n8n_bridges"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["workflows.id"],
            name=op.f("fk_n8n_workflow_links_workflow_id_workflows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("bridge_id", "n8n_id", name=op.f("pk_n8n_workflow_links")),
    )
    op.create_table(
        "n8n_execution_links",
        sa.Column("bridge_id", BIGINT, nullable=False),
        sa.Column("n8n_id", sa.BigInteger(), nullable=False),
        sa.Column("execution_id", BIGINT, nullable=False),
        sa.Column("n8n_status", sa.String(length=20), nullable=False),
        sa.Column("is_open", sa.Boolean(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("approval_id", BIGINT, nullable=True),
        sa.Column("resume_url", sa.Text(), nullable=True),
        sa.Column("resume_method", sa.String(length=10), nullable=True),
        _when("resumed_at"),
        sa.Column("resume_error", sa.Text(), nullable=True),
        _when("stop_seen_at"),
        _when("updated_at", nullable=False),
        sa.ForeignKeyConstraint(
            ["bridge_id"],
            ["n8n_bridges.id"],
            name=op.f("fk_n8n_execution_links_bridge_id_n8n_bridges"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["execution_id"],
            ["workflow_executions.id"],
            name=op.f("fk_n8n_execution_links_execution_id_workflow_executions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["approval_id"],
            ["workflow_approvals.id"],
            name=op.f("fk_n8n_execution_links_approval_id_workflow_approvals"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("bridge_id", "n8n_id", name=op.f("pk_n8n_execution_links")),
        sa.UniqueConstraint("execution_id", name=op.f("uq_n8n_execution_links_execution_id")),
    )
    # The bridge re-reads its open executions every poll: only those rows.
    op.create_index("ix_n8n_execution_links_open", "n8n_execution_links", ["bridge_id", "is_open"])


def downgrade() -> None:
    op.drop_index("ix_n8n_execution_links_open", table_name="n8n_execution_links")
    op.drop_table("n8n_execution_links")
    op.drop_table("n8n_workflow_links")
    op.drop_table("n8n_bridges")
