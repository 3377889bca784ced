"""content search reads the listed workspace's data rows only (PostgreSQL)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 13:00:00

A content search (migration 0016) gathered the matching data rows of every workspace from the
trigram index and rechecked each, before the list kept its own workspace's: at 1M executions a
word in 1 % of them fetched 10,000 rows to keep 2,700 (360 ms; issue 20, docs/benchmarks.md).

``workflow_execution_data.workspace_id`` now holds its execution's workspace, set by a BEFORE
INSERT trigger from the execution (every write path fills it; an execution never changes
workspace), so the content arm returns only the listed workspaces' executions (2,681 ids to look
up instead of 10,000). The trigram index becomes a ``btree_gin`` composite on ``(workspace_id,
content_folded)`` so that the index could restrict the candidates itself; measured at 1M rows,
PostgreSQL 15 never chose the workspace key (it reads the trigram candidates and filters the
workspace on the heap, for the largest and the smallest workspace alike): docs/benchmarks.md.

Operations: needs the ``btree_gin`` extension (in PostgreSQL's contrib, a trusted extension: the
database owner may create it). Existing rows are filled by one UPDATE while writes to the table
wait; it writes a new version of every row (autovacuum reclaims the old ones afterwards). The
duration at 1M rows is in docs/deployment.md. SQLite: nothing (its content search scans the
column; correct, not indexed).
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

PG_FUNCTION = """
CREATE FUNCTION workflow_execution_data_workspace() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.workspace_id := (SELECT workspace_id FROM workflow_executions WHERE id = NEW.execution_id);
    RETURN NEW;
END
$$
"""
OLD_INDEX = (
    "CREATE INDEX ix_wed_content_trgm ON workflow_execution_data USING gin (content_folded gin_trgm_ops)"
    " WHERE deleted_at IS NULL"
)
NEW_INDEX = (
    "CREATE INDEX ix_wed_ws_content_trgm ON workflow_execution_data"
    " USING gin (workspace_id, content_folded gin_trgm_ops) WHERE deleted_at IS NULL"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    op.execute("LOCK TABLE workflow_execution_data IN SHARE ROW EXCLUSIVE MODE")
    op.execute("ALTER TABLE workflow_execution_data ADD COLUMN workspace_id bigint")
    op.execute(PG_FUNCTION)
    # INSERT only (a data row never moves to another execution): with a BEFORE UPDATE row trigger
    # PostgreSQL recomputes every stored generated column on each UPDATE (content_folded's JSON
    # walk), the UPDATE below and every later soft delete included.
    op.execute(
        "CREATE TRIGGER wed_workspace BEFORE INSERT ON workflow_execution_data"
        " FOR EACH ROW EXECUTE FUNCTION workflow_execution_data_workspace()"
    )
    # Before the UPDATE: the old index would take a new entry for every row version it writes.
    op.execute("DROP INDEX ix_wed_content_trgm")
    op.execute(
        "UPDATE workflow_execution_data AS d SET workspace_id = e.workspace_id"
        " FROM workflow_executions AS e WHERE e.id = d.execution_id"
    )
    op.execute("ALTER TABLE workflow_execution_data ALTER COLUMN workspace_id SET NOT NULL")
    op.execute(NEW_INDEX)
    op.execute("ANALYZE workflow_execution_data")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_wed_ws_content_trgm")
    op.execute("DROP TRIGGER wed_workspace ON workflow_execution_data")
    op.execute("DROP FUNCTION workflow_execution_data_workspace()")
    op.execute("ALTER TABLE workflow_execution_data DROP COLUMN workspace_id")
    op.execute(OLD_INDEX)
    # The extension stays: another database object may use it by now.
