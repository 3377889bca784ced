"""the short id the lists show is searchable; finished executions have no open node runs

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 06:30:00

Issue 19, items 2 and 3.

- ``ix_wfe_short_id``: lists show an execution's id as its last 8 hex characters (uuid v7 ids
  start with a timestamp, so their first characters are shared by every execution of the same
  minute). Search and ``/executions/<id>`` find an execution by the start of those 8 characters
  (``app/domain/executions/id_search.py``): a range on this expression index. PostgreSQL:
  ``right(uuid::text, 8) COLLATE "C"`` (byte order, lowercase). SQLite: ``substr(hex(uuid), 25)``
  (uppercase). Not partial: SQLite joins the OR of the id arms (MULTI-INDEX OR) only without a
  partial index's condition. A prefix of the whole id needs no new index: it is a range on the
  unique index of ``uuid``.
- Data: a stop (or any terminal status) now closes the open node runs of the executions it ends,
  in the same transaction (``progress.close_node_runs``). Rows written before that are closed here
  the same way: open runs (pending, running, waiting) become ``cancelled`` at the execution's
  ``stopped_at``, and ``metadata.running_node`` is removed.
"""

# ruff: noqa: S608  (the SQL below is built from this module's constants only)
from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

OPEN = ("pending", "running", "waiting")
FINISHED = "('completed', 'failed', 'cancelled')"
PG_OPEN = " OR ".join(f'd.workflow_data @> \'[{{"status": "{s}"}}]\'' for s in OPEN)
SQLITE_OPEN = ", ".join(f"'{s}'" for s in OPEN)
PG_CANDIDATES = f"""
SELECT d.id, d.workflow_data::text AS runs, d.metadata::text AS meta, e.stopped_at, e.updated_at
FROM workflow_execution_data d JOIN workflow_executions e ON e.id = d.execution_id
WHERE e.status IN {FINISHED} AND d.deleted_at IS NULL AND ({PG_OPEN} OR d.metadata ->> 'running_node' IS NOT NULL)
"""
SQLITE_CANDIDATES = f"""
SELECT d.id, d.workflow_data AS runs, d.metadata AS meta, e.stopped_at, e.updated_at
FROM workflow_execution_data d JOIN workflow_executions e ON e.id = d.execution_id
WHERE e.status IN {FINISHED} AND d.deleted_at IS NULL AND (
  EXISTS (SELECT 1 FROM json_each(d.workflow_data) j
          WHERE json_extract(j.value, '$.status') IN ({SQLITE_OPEN}))
  OR json_extract(d.metadata, '$.running_node') IS NOT NULL)
"""


def _iso(value: Any) -> str:
    """A stored time as the ISO text node runs carry (SQLite hands back text, PostgreSQL datetimes)."""
    moment: dt.datetime = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _close_open_runs(pg: bool) -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(PG_CANDIDATES if pg else SQLITE_CANDIDATES)).all()
    cast = "CAST(:runs AS jsonb)" if pg else ":runs"
    meta_cast = "CAST(:meta AS jsonb)" if pg else ":meta"
    update = sa.text(
        f"UPDATE workflow_execution_data SET workflow_data = {cast}, metadata = {meta_cast} WHERE id = :id"
    )
    changes = []
    for row in rows:
        at = _iso(row.stopped_at or row.updated_at)
        runs = [
            {**run, "status": "cancelled", "stopped_at": at}
            if isinstance(run, dict) and run.get("status") in OPEN
            else run
            for run in json.loads(row.runs or "[]")
        ]
        meta = json.loads(row.meta or "{}")
        if isinstance(meta, dict):
            meta.pop("running_node", None)
        changes.append({"id": row.id, "runs": json.dumps(runs), "meta": json.dumps(meta)})
    if changes:
        bind.execute(update, changes)


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    if pg:
        op.execute('CREATE INDEX ix_wfe_short_id ON workflow_executions ((right(uuid::text, 8) COLLATE "C"))')
    else:
        op.execute("CREATE INDEX ix_wfe_short_id ON workflow_executions (substr(hex(uuid), 25))")
    _close_open_runs(pg)
    if pg:
        op.execute("ANALYZE workflow_executions")


def downgrade() -> None:
    # The closed node runs stay closed: they describe what happened (nothing ran after the end).
    op.execute("DROP INDEX ix_wfe_short_id")
