"""error search reads a bounded, case-folded copy of the error (long errors no longer fail writes)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 11:15:00

PostgreSQL only. ``ix_wfe_ws_errors`` and ``ix_wfe_wf_errors`` (0010, 0012) carried the whole
``error`` in their INCLUDE, and a btree entry is limited to 2,704 bytes: an execution whose error
was a few kilobytes of text that does not compress (a payload dump, a token list) could not be
saved at all ("index row size ... exceeds btree version 4 maximum").

- ``error_folded``: a stored generated column, ``lower(left(error, 500))``. At most 2,000 bytes
  (4-byte characters), so every entry fits. Lowercased once on write, a search compares with
  ``LIKE`` instead of ``ILIKE``, which lowercased every candidate row on every search (measured at
  1M rows: a frequent term's capped count 4.6-7.9 ms with ILIKE, about 2 ms with LIKE).
- The two covering indexes carry ``error_folded`` instead of ``error``; the trigram index is on
  ``error_folded`` too, so both paths match the same text: search on PostgreSQL covers the workflow
  name and the first 500 characters of the error (docs/api.md).

Adding a stored column rewrites the table and holds an exclusive lock meanwhile: 31 s for 1M
executions on the benchmark machine (docs/deployment.md).
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

LIVE_WITH_ERROR = "WHERE deleted_at IS NULL AND error IS NOT NULL"
# The same rows, in terms a search on error_folded implies (a LIKE on it is false where it is null).
LIVE_WITH_FOLDED = "WHERE deleted_at IS NULL AND error_folded IS NOT NULL"


def _search_indexes(text_column: str, where: str) -> None:
    """The two covering error-search indexes and the trigram index, on ``text_column``."""
    op.execute(
        "CREATE INDEX ix_wfe_ws_errors ON workflow_executions (workspace_id, created_at, id) "
        f"INCLUDE ({text_column}, status, workflow_id) {where}"
    )
    op.execute(
        "CREATE INDEX ix_wfe_wf_errors ON workflow_executions (workflow_id, created_at, id) "
        f"INCLUDE ({text_column}, status, workspace_id) {where}"
    )
    op.execute(f"CREATE INDEX ix_wfe_error_trgm ON workflow_executions USING gin ({text_column} gin_trgm_ops) {where}")


def _drop_search_indexes() -> None:
    for name in ("ix_wfe_ws_errors", "ix_wfe_wf_errors", "ix_wfe_error_trgm"):
        op.execute(f"DROP INDEX {name}")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _drop_search_indexes()
    op.execute(
        "ALTER TABLE workflow_executions ADD COLUMN error_folded text"
        " GENERATED ALWAYS AS (lower(left(error, 500))) STORED"
    )
    _search_indexes("error_folded", LIVE_WITH_FOLDED)
    op.execute("ANALYZE workflow_executions")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    _drop_search_indexes()
    op.execute("ALTER TABLE workflow_executions DROP COLUMN error_folded")
    _search_indexes("error", LIVE_WITH_ERROR)
