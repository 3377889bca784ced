"""The API calls an engine makes, as requests both clients send (docs/api.md in the server's repo)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from athena_client._http import Request, post

API = "/api/v1"
EXECUTIONS = f"{API}/workflow-executions"
APPROVALS = f"{API}/workflow-approvals"
TASKS = f"{API}/command-room-tasks"


def drop_none(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}


def timestamp(value: dt.datetime | str | None) -> str | None:
    """ISO-8601 in UTC for the API (a naive datetime is taken as UTC, as the server reads it)."""
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def now() -> str:
    return timestamp(dt.datetime.now(dt.UTC)) or ""


def create_execution(
    workflow_uuid: str,
    *,
    status: str = "running",
    mode: str | None = None,
    parent_execution_uuid: str | None = None,
    retry_of: str | None = None,
    wait_till: dt.datetime | str | None = None,
    data: str | None = None,
    metadata: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> Request:
    body = drop_none(
        {
            "workflow_uuid": workflow_uuid,
            "status": status,
            "mode": mode,
            "parent_execution_uuid": parent_execution_uuid,
            "retry_of": retry_of,
            "wait_till": timestamp(wait_till),
        }
    )
    if data is not None or metadata is not None:
        body["execution_data"] = drop_none({"data": data, "metadata": metadata})
    return post(EXECUTIONS, body, idempotency_key)


def update_execution(execution_uuid: str, body: dict[str, Any]) -> Request:
    """Replayable unless a node report lacks ``run_index`` (without it, a second copy of a closing
    report would start another run of the node); status and field changes repeat as no-ops."""
    reports = body.get("node_runs") or []
    replayable = all(isinstance(r, dict) and r.get("run_index") is not None for r in reports)
    return Request("PATCH", f"{EXECUTIONS}/{execution_uuid}", json=body, replayable=replayable)


def get_execution(execution_uuid: str, *, with_data: bool = False) -> Request:
    params = {"with": "workflowExecutionData", "with_count": "workflowApprovals"} if with_data else None
    return Request("GET", f"{EXECUTIONS}/{execution_uuid}", params=params)


def stop_execution(execution_uuid: str, reason: str | None = None, idempotency_key: str | None = None) -> Request:
    return post(f"{EXECUTIONS}/{execution_uuid}/stop", drop_none({"reason": reason}), idempotency_key)


def request_approval(
    execution_uuid: str,
    node_id: str,
    title: str,
    *,
    description: str | None = None,
    payload: dict[str, Any] | None = None,
    due_at: dt.datetime | str | None = None,
    high_risk: bool = False,
    idempotency_key: str | None = None,
) -> Request:
    body = drop_none(
        {
            "execution_uuid": execution_uuid,
            "node_id": node_id,
            "title": title,
            "description": description,
            "payload": payload,
            "due_at": timestamp(due_at),
            "high_risk": high_risk,
        }
    )
    return post(APPROVALS, body, idempotency_key)


def get_approval(approval_uuid: str) -> Request:
    return Request("GET", f"{APPROVALS}/{approval_uuid}")


def decide(approval_uuid: str, approve: bool, comment: str | None, idempotency_key: str | None = None) -> Request:
    action = "approve" if approve else "reject"
    return post(f"{APPROVALS}/{approval_uuid}/{action}", drop_none({"comment": comment}), idempotency_key)


def flag(execution_uuid: str, note: str | None, reason: str | None, idempotency_key: str | None = None) -> Request:
    return post(TASKS, drop_none({"execution_uuid": execution_uuid, "note": note, "reason": reason}), idempotency_key)


def unflag(task_uuid: str, reason: str | None = None) -> Request:
    return Request("DELETE", f"{TASKS}/{task_uuid}", params=drop_none({"reason": reason}) or None)


def get_workspace(workspace_uuid: str) -> Request:
    return Request("GET", f"{API}/workspaces/{workspace_uuid}")


def get_workflow(workflow_uuid: str) -> Request:
    return Request("GET", f"{API}/workflows/{workflow_uuid}")


def create_workflow(
    workspace_uuid: str,
    name: str,
    nodes: list[dict[str, Any]] | None,
    edges: list[dict[str, Any]] | None,
    **fields: Any,
) -> Request:
    body = drop_none({"workspace_uuid": workspace_uuid, "name": name, "nodes": nodes, "edges": edges, **fields})
    return post(f"{API}/workflows", body, None)
