"""search covers execution content: node names, node input and output text, metadata values

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 04:00:00

``workflow_execution_data.content_folded`` holds, lowercased when written, the text values of an
execution's content: each node run's ``node_name``, ``node_id`` and ``error``, every string or
number inside its ``input`` and ``output``, and every string or number of ``metadata``; each value
cut at 1,000 characters and the whole at 8,000 (issue 20: "bounded, folded at write like
``error_folded``").

- PostgreSQL: a stored generated column calling ``execution_content_folded(workflow_data,
  metadata)`` (an immutable SQL function over ``jsonb_path_query``; ``strict`` and silent for the
  recursive parts, where ``lax`` would unwrap arrays and repeat their values), so every write path (the
  services, COPY, bulk SQL) fills it; a trigram GIN index serves ``LIKE '%term%'``. Adding it
  rewrites the table under an exclusive lock.
- SQLite: a plain column kept by triggers with the same selection through ``json_tree``; the
  search scans it (correct, not indexed). SQLite's ``lower`` folds ASCII only.
"""

# ruff: noqa: S608  (the SQL below is built from this module's constants only)
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

EACH, TOTAL = 1000, 8000
SCALAR = '@.type() == "string" || @.type() == "number"'
PG_FUNCTION = f"""
CREATE FUNCTION execution_content_folded(runs jsonb, meta jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
SELECT lower(left(string_agg(left(v #>> '{{}}', {EACH}), ' '), {TOTAL}))
FROM (
    SELECT v FROM jsonb_path_query(coalesce(runs, '[]'), 'lax $[*].node_name ? ({SCALAR})') AS v
    UNION ALL SELECT v FROM jsonb_path_query(coalesce(runs, '[]'), 'lax $[*].node_id ? ({SCALAR})') AS v
    UNION ALL SELECT v FROM jsonb_path_query(coalesce(runs, '[]'), 'lax $[*].error ? ({SCALAR})') AS v
    UNION ALL SELECT v
        FROM jsonb_path_query(coalesce(runs, '[]'), 'strict $[*].input.** ? ({SCALAR})', '{{}}', true) AS v
    UNION ALL SELECT v
        FROM jsonb_path_query(coalesce(runs, '[]'), 'strict $[*].output.** ? ({SCALAR})', '{{}}', true) AS v
    UNION ALL SELECT v FROM jsonb_path_query(coalesce(meta, '{{}}'), 'strict $.** ? ({SCALAR})', '{{}}', true) AS v
) AS leaves
$$
"""

SQLITE_VALUES = f"""(
SELECT lower(substr(group_concat(substr(value, 1, {EACH}), ' '), 1, {TOTAL})) FROM (
    SELECT value FROM json_tree(coalesce(NEW.workflow_data, '[]'))
    WHERE type IN ('text', 'integer', 'real') AND (
        (key IN ('node_name', 'node_id', 'error') AND path GLOB '$[[]*]')
        OR fullkey GLOB '$[[]*].input' OR fullkey GLOB '$[[]*].input[.[]*'
        OR fullkey GLOB '$[[]*].output' OR fullkey GLOB '$[[]*].output[.[]*')
    UNION ALL
    SELECT value FROM json_tree(coalesce(NEW.metadata, '{{}}')) WHERE type IN ('text', 'integer', 'real')
))"""
SQLITE_TRIGGERS = {
    "insert": "AFTER INSERT ON workflow_execution_data",
    "update": "AFTER UPDATE OF workflow_data, metadata ON workflow_execution_data",
}


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(
            "ALTER TABLE workflow_execution_data ADD COLUMN content_folded text"
            " GENERATED ALWAYS AS (execution_content_folded(workflow_data, metadata)) STORED"
        )
        op.execute(
            "CREATE INDEX ix_wed_content_trgm ON workflow_execution_data USING gin (content_folded gin_trgm_ops)"
            " WHERE deleted_at IS NULL"
        )
        op.execute("ANALYZE workflow_execution_data")
        return
    op.add_column("workflow_execution_data", sa.Column("content_folded", sa.Text(), nullable=True))
    for name, event in SQLITE_TRIGGERS.items():
        op.execute(
            f"CREATE TRIGGER wed_content_{name} {event} BEGIN "
            f"UPDATE workflow_execution_data SET content_folded = {SQLITE_VALUES} WHERE id = NEW.id; END"
        )
    op.execute(  # existing rows: an update of workflow_data fires the trigger
        "UPDATE workflow_execution_data SET workflow_data = workflow_data"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_wed_content_trgm")
        op.execute("ALTER TABLE workflow_execution_data DROP COLUMN content_folded")
        op.execute("DROP FUNCTION execution_content_folded(jsonb, jsonb)")
        return
    for name in SQLITE_TRIGGERS:
        op.execute(f"DROP TRIGGER wed_content_{name}")
    op.drop_column("workflow_execution_data", "content_folded")
