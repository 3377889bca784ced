"""live executions per workspace, day, workflow and status, kept by triggers (exact counts at scale)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 05:40:00

The count endpoint is exact: over 30 days of the busiest workspace at 1M rows it read 22,000 index
entries, so its time grew with the data (4.6x from 10,000 rows; docs/benchmarks.md, goal 5). The
whole days of a range now come from this table (about 7 rows per workflow and day), and only the
partial days at its ends from the executions index.

The table is kept by triggers, not by Python, so every write (the services, bulk SQL, COPY, a
cascaded delete) keeps it exact inside its own transaction. On PostgreSQL one statement-level
trigger per operation reads the statement's transition tables and applies a single grouped upsert
in key order: a 1,001-row stop cascade costs one statement, not 1,001 trigger calls. (A column list
``UPDATE OF status, ...`` is not allowed with transition tables, so every UPDATE runs it; for an
update that changes none of the key columns the grouped delta is empty and nothing is written.)
SQLite, whose triggers are row-level, gets one per operation with a WHEN clause.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

KEY = "workspace_id, day, workflow_id, status"
PG_DAY = "(created_at AT TIME ZONE 'UTC')::date"

PG_FUNCTION = """
CREATE FUNCTION execution_day_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO execution_day_counts AS c (workspace_id, day, workflow_id, status, n)
        SELECT workspace_id, (created_at AT TIME ZONE 'UTC')::date, workflow_id, status, count(*)
        FROM new_rows WHERE deleted_at IS NULL
        GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (workspace_id, day, workflow_id, status) DO UPDATE SET n = c.n + EXCLUDED.n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO execution_day_counts AS c (workspace_id, day, workflow_id, status, n)
        SELECT workspace_id, (created_at AT TIME ZONE 'UTC')::date, workflow_id, status, -count(*)
        FROM old_rows WHERE deleted_at IS NULL
        GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ON CONFLICT (workspace_id, day, workflow_id, status) DO UPDATE SET n = c.n + EXCLUDED.n;
    ELSE
        INSERT INTO execution_day_counts AS c (workspace_id, day, workflow_id, status, n)
        SELECT workspace_id, day, workflow_id, status, sum(delta)
        FROM (
            SELECT workspace_id, (created_at AT TIME ZONE 'UTC')::date AS day, workflow_id, status, 1 AS delta
            FROM new_rows WHERE deleted_at IS NULL
            UNION ALL
            SELECT workspace_id, (created_at AT TIME ZONE 'UTC')::date, workflow_id, status, -1
            FROM old_rows WHERE deleted_at IS NULL
        ) AS changed
        GROUP BY 1, 2, 3, 4 HAVING sum(delta) <> 0 ORDER BY 1, 2, 3, 4
        ON CONFLICT (workspace_id, day, workflow_id, status) DO UPDATE SET n = c.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END
$$
"""

PG_TRIGGERS = {
    "INSERT": "REFERENCING NEW TABLE AS new_rows",
    "UPDATE": "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "REFERENCING OLD TABLE AS old_rows",
}


def _sqlite_upsert(row: str, delta: str) -> str:
    return (
        f"INSERT INTO execution_day_counts ({KEY}, n) "
        f"SELECT {row}.workspace_id, date({row}.created_at), {row}.workflow_id, {row}.status, {delta} "
        f"WHERE {row}.deleted_at IS NULL "
        f"ON CONFLICT ({KEY}) DO UPDATE SET n = n + excluded.n;"
    )


SQLITE_KEY_CHANGED = (
    "OLD.status IS NOT NEW.status OR (OLD.deleted_at IS NULL) IS NOT (NEW.deleted_at IS NULL)"
    " OR OLD.workspace_id IS NOT NEW.workspace_id OR OLD.workflow_id IS NOT NEW.workflow_id"
    " OR date(OLD.created_at) IS NOT date(NEW.created_at)"
)
SQLITE_TRIGGERS = {
    "insert": ("AFTER INSERT", "NEW.deleted_at IS NULL", _sqlite_upsert("NEW", "1")),
    "update": (
        "AFTER UPDATE OF status, deleted_at, workspace_id, workflow_id, created_at",
        SQLITE_KEY_CHANGED,
        _sqlite_upsert("OLD", "-1") + " " + _sqlite_upsert("NEW", "1"),
    ),
    "delete": ("AFTER DELETE", "OLD.deleted_at IS NULL", _sqlite_upsert("OLD", "-1")),
}

BACKFILL_DAY = {"postgresql": PG_DAY, "sqlite": "date(created_at)"}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    columns: list[sa.Column[Any]] = [
        sa.Column("workspace_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("workflow_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
    ]
    if dialect == "postgresql":
        # The key's index carries n: a range of days is an index-only scan (rows of one day are
        # written at different times, so the heap order is no help).
        op.create_table("execution_day_counts", *columns)
        op.execute(
            "ALTER TABLE execution_day_counts ADD CONSTRAINT pk_execution_day_counts"
            " PRIMARY KEY (workspace_id, day, workflow_id, status) INCLUDE (n)"
        )
    else:
        # WITHOUT ROWID: the table is its key's b-tree, so a range of days is one contiguous read.
        op.create_table(
            "execution_day_counts",
            *columns,
            sa.PrimaryKeyConstraint("workspace_id", "day", "workflow_id", "status"),
            sqlite_with_rowid=False,
        )
    if dialect == "postgresql":
        op.execute(PG_FUNCTION)
        for operation, referencing in PG_TRIGGERS.items():
            op.execute(
                f"CREATE TRIGGER wfe_day_counts_{operation.lower()} AFTER {operation} ON workflow_executions "
                f"{referencing} FOR EACH STATEMENT EXECUTE FUNCTION execution_day_counts_apply()"
            )
    else:
        for name, (event, when, body) in SQLITE_TRIGGERS.items():
            op.execute(
                f"CREATE TRIGGER wfe_day_counts_{name} {event} ON workflow_executions WHEN {when} BEGIN {body} END"
            )
    # Existing rows, in the same migration transaction as the triggers (no write is missed).
    op.execute(
        f"INSERT INTO execution_day_counts ({KEY}, n) "  # noqa: S608
        f"SELECT workspace_id, {BACKFILL_DAY.get(dialect, 'date(created_at)')}, workflow_id, status, count(*) "
        "FROM workflow_executions WHERE deleted_at IS NULL GROUP BY 1, 2, 3, 4"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for operation in PG_TRIGGERS:
            op.execute(f"DROP TRIGGER wfe_day_counts_{operation.lower()} ON workflow_executions")
        op.execute("DROP FUNCTION execution_day_counts_apply()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER wfe_day_counts_{name}")
    op.drop_table("execution_day_counts")
