"""idempotency keys: the stored answers of POST requests sent with ``Idempotency-Key``

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 16:00:00

One row per (token, key) (issue 23; app/lib/idempotency.py, docs/api.md "Idempotent requests").
A request claims its key by inserting the row in its own transaction before it runs, so the unique
``(token_id, key)`` lets exactly one of several concurrent retries run; the row then keeps the
answer (status, the headers that matter, body) for ``IDEMPOTENCY_KEY_HOURS`` (24 by default), and
the server's purger (and ``athena purge``) deletes it after ``expires_at``: the index on it.

PostgreSQL: every row is inserted, updated once and deleted a day later, so the table is vacuumed
after a fixed number of dead rows rather than 20 % of it. New and empty: nothing to fill or lock.
"""

from __future__ import annotations

import sqlalchemy as sa
from advanced_alchemy import types as sa_types
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSONB = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("id", BIGINT, nullable=False),
        sa.Column("token_id", BIGINT, nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=32), nullable=True),
        sa.Column("locked_at", sa_types.DateTimeUTC(timezone=True), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response_headers", JSONB, nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.Column("expires_at", sa_types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("created_at", sa_types.DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", sa_types.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["token_id"], ["api_tokens.id"], name=op.f("fk_idempotency_keys_token_id_api_tokens"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("token_id", "key", name="uq_idempotency_keys_token_key"),
    )
    op.create_index("ix_idempotency_keys_expires_at", "idempotency_keys", ["expires_at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE idempotency_keys SET (autovacuum_vacuum_scale_factor = 0,"
            " autovacuum_vacuum_threshold = 1000, autovacuum_analyze_scale_factor = 0.05)"
        )


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_expires_at", table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
