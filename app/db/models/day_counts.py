"""Live executions per (workspace, UTC day of creation, workflow, status, user), kept by triggers.

Migration 0011 installs the triggers on ``workflow_executions`` (a statement-level one per
INSERT / UPDATE / DELETE on PostgreSQL, using transition tables so a 1,001-row stop cascade
applies one grouped upsert; row-level ones on SQLite). Every write path, including COPY, bulk SQL
and ``ON DELETE CASCADE``, therefore keeps it exact in the same transaction; nothing in Python
maintains it. Read by ``app/domain/executions/day_counts.py``. No foreign keys: it is derived
data, and a cascaded delete of a workspace must not fail on the order the two tables are cleared.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, Integer, String, Table

from app.db.models.base import Base

execution_day_counts = Table(
    "execution_day_counts",
    Base.metadata,
    Column("workspace_id", BigInteger, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("workflow_id", BigInteger, primary_key=True),
    Column("status", String(20), primary_key=True),
    # Migration 0018: the execution's user, 0 for none (a key column cannot be NULL).
    Column("user_id", BigInteger, primary_key=True),
    Column("n", Integer, nullable=False),
)

# The same counts of all time, without the day (migration 0014; the user since 0018): kept by row triggers on
# ``execution_day_counts``, so a list total without a date range reads one row per workflow and status.
execution_status_counts = Table(
    "execution_status_counts",
    Base.metadata,
    Column("workspace_id", BigInteger, primary_key=True),
    Column("workflow_id", BigInteger, primary_key=True),
    Column("status", String(20), primary_key=True),
    Column("user_id", BigInteger, primary_key=True),
    Column("n", Integer, nullable=False),
)
