"""approvals: four-eyes per workflow, two approvals for high-risk reviews, payload hash for groups

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 11:45:00

``workflows.four_eyes``: whoever triggered an execution may not approve its reviews.
``workflow_approvals.required_approvals`` / ``approvals_count``: a high-risk review needs two
approvals from two different users (the first is recorded, the review stays pending).
``workflow_approvals.payload_hash``: sha256 of the review's canonical JSON (title, description,
payload), computed at request time; identical reviews (same workflow, node and hash) are grouped
in the inbox. Rows requested before this migration keep NULL and never group.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workflows") as batch:
        batch.add_column(sa.Column("four_eyes", sa.Boolean(), nullable=False, server_default=sa.text("false")))
    with op.batch_alter_table("workflow_approvals") as batch:
        batch.add_column(sa.Column("payload_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("required_approvals", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("approvals_count", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_wfa_ws_status_hash", "workflow_approvals", ["workspace_id", "status", "payload_hash"])
    # High-risk reviews still pending when this ships follow the new rule too.
    op.execute("UPDATE workflow_approvals SET required_approvals = 2 WHERE high_risk AND status = 'pending'")


def downgrade() -> None:
    op.drop_index("ix_wfa_ws_status_hash", table_name="workflow_approvals")
    with op.batch_alter_table("workflow_approvals") as batch:
        batch.drop_column("approvals_count")
        batch.drop_column("required_approvals")
        batch.drop_column("payload_hash")
    with op.batch_alter_table("workflows") as batch:
        batch.drop_column("four_eyes")
