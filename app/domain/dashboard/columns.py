"""The executions table's columns: which exist, which show by default, and how a row fills each.

A view names its columns in the URL (``cols=status,workflow,retry_count``) and in saved views. The
row partial renders only those, so the page, the htmx swap and the WebSocket push agree; the push
renders a row once per event per distinct column set (``Fragments.row``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from app.domain.executions.summary import ExecutionSummary


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    metadata: bool = False  # read from the execution's run metadata (``run_metadata`` of the summary)
    sort: str | None = None  # the view's sort key when the header sorts


COLUMNS: dict[str, Column] = {
    c.key: c
    for c in (
        Column("status", "Status"),
        Column("workflow", "Workflow"),
        Column("id", "ID"),
        Column("mode", "Mode"),
        Column("started", "Started", sort="created"),
        Column("duration", "Duration"),
        Column("node", "Running node"),
        Column("approvals", "Approvals"),
        Column("parent", "Parent"),
        Column("updated", "Updated", sort="updated"),
        Column("created", "Created"),
        Column("stopped", "Stopped"),
        Column("wait_till", "Wait till"),
        Column("error", "Error"),
        Column("retry_count", "Retries", metadata=True),
        Column("loop_index", "Loop index", metadata=True),
        Column("error_count", "Errors", metadata=True),
        Column("processed_count", "Processed", metadata=True),
        Column("execution_time", "Execution time", metadata=True),
    )
}
METADATA_KEYS = tuple(c.key for c in COLUMNS.values() if c.metadata)
DEFAULT_COLUMNS = ("status", "workflow", "id", "mode", "started", "duration", "node", "approvals", "parent", "updated")


def parse_columns(raw: Iterable[str]) -> list[str]:
    """Known column keys in the order given, each once; unknown ones are dropped."""
    seen: list[str] = []
    for part in raw:
        for key in part.split(","):
            key = key.strip()
            if key in COLUMNS and key not in seen:
                seen.append(key)
    return seen


def csv_value(key: str, row: ExecutionSummary) -> str:
    """One cell of the CSV export: raw values (ISO times, whole ids), not the page's short forms."""
    if key in METADATA_KEYS:
        value = (row.get("run_metadata") or {}).get(key)
        return "" if value is None else str(value)
    field_of = {
        "workflow": "workflow_name",
        "id": "uuid",
        "started": "started_at",
        "node": "running_node",
        "parent": "parent_execution_uuid",
        "updated": "updated_at",
        "created": "created_at",
        "stopped": "stopped_at",
    }
    if key == "approvals":
        return f"{row.get('pending_workflow_approvals_count', 0)}/{row.get('workflow_approvals_count', 0)}"
    if key == "duration":
        started, stopped = row.get("started_at"), row.get("stopped_at")
        if not started or not stopped:
            return ""
        parse = dt.datetime.fromisoformat
        return f"{(parse(stopped.replace('Z', '+00:00')) - parse(started.replace('Z', '+00:00'))).total_seconds():.3f}"
    value = row.get(field_of.get(key, key))
    return "" if value is None else str(value)
