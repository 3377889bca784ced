"""per-table autovacuum settings for the tables that churn (PostgreSQL)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 03:50:00

Index-only scans need the visibility map, which only VACUUM sets. With the defaults a table is
vacuumed after 20 % of it changed (``autovacuum_vacuum_scale_factor`` 0.2) or 20 % was inserted
(``autovacuum_vacuum_insert_scale_factor`` 0.2): at 1M executions that is 200,000 writes, during
which counts and OFFSET reads fall back to the heap (issue 20: the ``status=failed`` list took 43 ms
before a VACUUM, 10 ms after). Executions churn constantly (every status change is an UPDATE), so
their table and its companions are vacuumed and analysed after about 1-2 % instead; the summary
tables, a few thousand rows updated on every write, after a fixed number of dead rows, with room
on each page for HOT updates. No effect on SQLite.
"""

from __future__ import annotations

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

CHURNING = {
    "workflow_executions": {
        "autovacuum_vacuum_scale_factor": "0.01",
        "autovacuum_vacuum_insert_scale_factor": "0.01",
        "autovacuum_analyze_scale_factor": "0.02",
        "autovacuum_vacuum_cost_limit": "2000",
    },
    "workflow_execution_data": {
        "autovacuum_vacuum_scale_factor": "0.02",
        "autovacuum_vacuum_insert_scale_factor": "0.02",
        "autovacuum_analyze_scale_factor": "0.05",
    },
    "workflow_approvals": {
        "autovacuum_vacuum_scale_factor": "0.02",
        "autovacuum_vacuum_insert_scale_factor": "0.02",
        "autovacuum_analyze_scale_factor": "0.05",
    },
    "execution_events": {
        "autovacuum_vacuum_insert_scale_factor": "0.02",
        "autovacuum_analyze_scale_factor": "0.05",
    },
    "execution_day_counts": {
        "autovacuum_vacuum_scale_factor": "0",
        "autovacuum_vacuum_threshold": "2000",
        "fillfactor": "70",
    },
    "execution_status_counts": {
        "autovacuum_vacuum_scale_factor": "0",
        "autovacuum_vacuum_threshold": "2000",
        "fillfactor": "50",
    },
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, settings in CHURNING.items():
        options = ", ".join(f"{name} = {value}" for name, value in settings.items())
        op.execute(f"ALTER TABLE {table} SET ({options})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, settings in CHURNING.items():
        op.execute(f"ALTER TABLE {table} RESET ({', '.join(settings)})")
