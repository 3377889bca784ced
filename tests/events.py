"""Events as the hub hands them to pages, built by the app's own builders (``event_message``; the
execution as ``ExecutionSummary``): a test event has the shape a real one has, whatever fields the
test cares to set."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.domain.events.message import event_message
from app.domain.executions.summary import ExecutionSummary, summary_from_payload
from app.realtime.prepared import PreparedEvent

# The summary's required fields, for a test that sets only those it is about.
_BLANK: dict[str, Any] = {
    "id": 0, "workflow_uuid": "", "workflow_name": None, "parent_execution_uuid": None, "is_finished": False,
    "mode": None, "retry_of": None, "retry_success_id": None, "started_at": None, "stopped_at": None,
    "wait_till": None, "status": "running", "running_node": None, "error": None, "version": 1,
    "created_at": None, "updated_at": None, "deleted_at": None,
}  # fmt: skip


def summary(execution: Mapping[str, Any] | ExecutionSummary) -> ExecutionSummary:
    """``execution`` (an API item, a page row, or a few fields) as the struct events carry."""
    if isinstance(execution, ExecutionSummary):
        return execution
    return summary_from_payload(_BLANK | dict(execution))


def prepared_event(
    workspace_id: int, seq: int, type_: str, execution: Mapping[str, Any] | ExecutionSummary
) -> PreparedEvent:
    """One committed event about ``execution`` (it needs ``uuid`` and ``workspace_uuid``)."""
    item = summary(execution)
    message = event_message(
        seq=seq, type=type_, workspace_uuid=item.workspace_uuid, version=item.version,
        occurred_at="2026-01-01T00:00:00Z", execution=item,
    )  # fmt: skip
    return PreparedEvent(workspace_id, message)
