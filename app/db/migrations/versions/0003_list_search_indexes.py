"""indexes for lists, counts and search at scale

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 08:45:00

- PostgreSQL: pg_trgm and a trigram GIN index on ``workflow_executions.error`` (and on workflow
  names) so ``ILIKE '%term%'`` is an index lookup instead of a scan of every live execution.
- SQLite: an FTS5 table with the trigram tokenizer (``executions_error_fts``, rowid = execution id)
  kept in step by triggers; a substring ``MATCH`` on it replaces the scan.
- Both: org-wide ordering indexes ``(created_at, id)`` / ``(updated_at, id)`` so a list spanning
  several workspaces reads its first page in order instead of sorting every match, and
  ``(workspace_id, created_at, status)`` so counts by status over a date range are index-only, and
  ``(workflow_id, workspace_id, created_at, id)`` so a workflow filter (always combined with the
  workspace scope) counts and pages without visiting the table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

LIVE = sa.text("deleted_at IS NULL")

SQLITE_FTS = [
    "CREATE VIRTUAL TABLE executions_error_fts USING fts5(error, tokenize='trigram')",
    "INSERT INTO executions_error_fts(rowid, error) SELECT id, error FROM workflow_executions WHERE error IS NOT NULL",
    """CREATE TRIGGER trg_wfe_error_fts_insert AFTER INSERT ON workflow_executions
       WHEN new.error IS NOT NULL BEGIN
         INSERT INTO executions_error_fts(rowid, error) VALUES (new.id, new.error);
       END""",
    """CREATE TRIGGER trg_wfe_error_fts_update AFTER UPDATE OF error ON workflow_executions BEGIN
         DELETE FROM executions_error_fts WHERE rowid = old.id;
         INSERT INTO executions_error_fts(rowid, error) SELECT new.id, new.error WHERE new.error IS NOT NULL;
       END""",
    """CREATE TRIGGER trg_wfe_error_fts_delete AFTER DELETE ON workflow_executions BEGIN
         DELETE FROM executions_error_fts WHERE rowid = old.id;
       END""",
]


def _live_index(name: str, *cols: str) -> None:
    op.create_index(name, "workflow_executions", list(cols), postgresql_where=LIVE, sqlite_where=LIVE)


def upgrade() -> None:
    bind = op.get_bind()
    _live_index("ix_wfe_created", "created_at", "id")
    _live_index("ix_wfe_updated", "updated_at", "id")
    _live_index("ix_wfe_ws_created_status", "workspace_id", "created_at", "status")
    _live_index("ix_wfe_wf_ws_created", "workflow_id", "workspace_id", "created_at", "id")
    if bind.dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX ix_wfe_error_trgm ON workflow_executions USING gin (error gin_trgm_ops) "
            "WHERE deleted_at IS NULL AND error IS NOT NULL"
        )
        op.execute("CREATE INDEX ix_workflows_name_trgm ON workflows USING gin (name gin_trgm_ops)")
    elif bind.dialect.name == "sqlite":
        for statement in SQLITE_FTS:
            op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_workflows_name_trgm")
        op.execute("DROP INDEX IF EXISTS ix_wfe_error_trgm")
    elif bind.dialect.name == "sqlite":
        for trigger in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS trg_wfe_error_fts_{trigger}")
        op.execute("DROP TABLE IF EXISTS executions_error_fts")
    for name in ("ix_wfe_wf_ws_created", "ix_wfe_ws_created_status", "ix_wfe_updated", "ix_wfe_created"):
        op.drop_index(name, table_name="workflow_executions")
