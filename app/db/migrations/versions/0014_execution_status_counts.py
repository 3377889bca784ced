"""live executions per workspace, workflow and status, of all time (exact list totals without a date range)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 03:40:00

A list without a date range had a total capped at 10,000: summing ``execution_day_counts`` over a
year reads ~64,000 rows for the busiest workspace. This table holds the same counts without the
day, so such a total reads one row per workflow and status (issue 20).

It is kept from ``execution_day_counts`` itself, by row-level triggers on that table: every change
of a day's ``n`` adds its difference here, in the same transaction. The day table is already exact
for every write path (migration 0011's triggers on the executions), so this one is too, and a
repair of the day table (``athena day-counts --repair``: delete and re-insert) carries over.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

KEY = "workspace_id, workflow_id, status"

PG_FUNCTION = """
CREATE FUNCTION execution_status_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO execution_status_counts AS c (workspace_id, workflow_id, status, n)
        VALUES (OLD.workspace_id, OLD.workflow_id, OLD.status, -OLD.n)
        ON CONFLICT (workspace_id, workflow_id, status) DO UPDATE SET n = c.n + EXCLUDED.n;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO execution_status_counts AS c (workspace_id, workflow_id, status, n)
        VALUES (NEW.workspace_id, NEW.workflow_id, NEW.status, NEW.n)
        ON CONFLICT (workspace_id, workflow_id, status) DO UPDATE SET n = c.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END
$$
"""


def _sqlite_upsert(row: str, sign: str) -> str:
    return (
        f"INSERT INTO execution_status_counts ({KEY}, n) "  # noqa: S608 (constants only)
        f"VALUES ({row}.workspace_id, {row}.workflow_id, {row}.status, {sign}{row}.n) "
        f"ON CONFLICT ({KEY}) DO UPDATE SET n = n + excluded.n;"
    )


SQLITE_TRIGGERS = {
    "insert": ("AFTER INSERT", _sqlite_upsert("NEW", "")),
    "update": ("AFTER UPDATE", _sqlite_upsert("OLD", "-") + " " + _sqlite_upsert("NEW", "")),
    "delete": ("AFTER DELETE", _sqlite_upsert("OLD", "-")),
}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    columns: list[sa.Column[Any]] = [
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("workflow_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
    ]
    if dialect == "postgresql":
        op.create_table("execution_status_counts", *columns)
        op.execute(
            "ALTER TABLE execution_status_counts ADD CONSTRAINT pk_execution_status_counts"
            " PRIMARY KEY (workspace_id, workflow_id, status) INCLUDE (n)"
        )
        op.execute(PG_FUNCTION)
        op.execute(
            "CREATE TRIGGER day_counts_to_status_counts AFTER INSERT OR UPDATE OR DELETE ON execution_day_counts"
            " FOR EACH ROW EXECUTE FUNCTION execution_status_counts_apply()"
        )
    else:
        op.create_table(
            "execution_status_counts",
            *columns,
            sa.PrimaryKeyConstraint("workspace_id", "workflow_id", "status"),
            sqlite_with_rowid=False,
        )
        for name, (event, body) in SQLITE_TRIGGERS.items():
            op.execute(
                f"CREATE TRIGGER day_counts_to_status_counts_{name} {event} ON execution_day_counts BEGIN {body} END"
            )
    op.execute(
        f"INSERT INTO execution_status_counts ({KEY}, n) "  # noqa: S608
        f"SELECT {KEY}, sum(n) FROM execution_day_counts GROUP BY {KEY}"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER day_counts_to_status_counts ON execution_day_counts")
        op.execute("DROP FUNCTION execution_status_counts_apply()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER day_counts_to_status_counts_{name}")
    op.drop_table("execution_status_counts")
