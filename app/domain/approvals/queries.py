"""Column queries for approvals: the inbox filters, the item select and its serialization."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import aliased

from app.db.models import User, Workflow, WorkflowApproval, WorkflowExecution, Workspace
from app.lib.timefmt import iso

A = WorkflowApproval
E = WorkflowExecution
Decider = aliased(User, name="decider")
Assignee = aliased(User, name="assignee")

SORTS = ("requested_at", "due_at")
PENDING = "pending"


@dataclass
class ApprovalFilters:
    """What an inbox shows. ``workspace_ids=None`` means every workspace where the user may approve;
    explicit ids are narrowed to the user's own workspaces."""

    workspace_ids: list[int] | None = None
    statuses: list[str] | None = None
    workflow_ids: list[int] | None = None
    assigned_to_me: bool = False
    overdue: bool = False
    search: str | None = None
    decided_by_me: bool = False
    sort_by: str = "requested_at"


def item_select() -> Select[Any]:
    """Everything an inbox item needs, in one row (no ORM objects)."""
    return (
        select(
            A.id,
            A.uuid,
            A.execution_id,
            A.workspace_id,
            A.node_id,
            A.title,
            A.description,
            A.payload,
            A.high_risk,
            A.status,
            A.requested_at,
            A.due_at,
            A.decided_at,
            A.comment,
            E.uuid.label("execution_uuid"),
            E.status.label("execution_status"),
            Workspace.uuid.label("workspace_uuid"),
            Workflow.uuid.label("workflow_uuid"),
            Workflow.name.label("workflow_name"),
            Decider.email.label("decided_by_email"),
            Assignee.email.label("assigned_to_email"),
        )
        .join(E, E.id == A.execution_id)
        .join(Workspace, Workspace.id == A.workspace_id)
        .join(Workflow, Workflow.id == E.workflow_id)
        .outerjoin(Decider, Decider.id == A.decided_by_id)
        .outerjoin(Assignee, Assignee.id == A.assigned_to_id)
    )


def serialize_item(row: Any, now: dt.datetime) -> dict[str, Any]:
    """The approval object of the API and the inbox page."""
    overdue = row.status == PENDING and row.due_at is not None and row.due_at < now
    return {
        "uuid": str(row.uuid),
        "execution_uuid": str(row.execution_uuid),
        "workspace_uuid": str(row.workspace_uuid),
        "workflow_uuid": str(row.workflow_uuid),
        "workflow_name": row.workflow_name,
        "execution_status": row.execution_status,
        "node_id": row.node_id,
        "title": row.title,
        "description": row.description,
        "payload": row.payload,
        "high_risk": row.high_risk,
        "status": row.status,
        "requested_at": iso(row.requested_at),
        "due_at": iso(row.due_at),
        "overdue": overdue,
        "assigned_to": row.assigned_to_email,
        "decided_by": row.decided_by_email,
        "decided_at": iso(row.decided_at),
        "comment": row.comment,
    }


def event_approval(item: dict[str, Any]) -> dict[str, Any]:
    """The ``approval`` object added to the payload of approval events."""
    keys = ("uuid", "status", "title", "decided_by", "decided_at", "assigned_to")
    return {"approval": {k: item[k] for k in keys}}


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def filter_conditions(f: ApprovalFilters, workspace_ids: list[int], user_id: int, now: dt.datetime) -> list[Any]:
    """WHERE clauses for ``item_select()`` (which joins the execution and its workflow)."""
    conds: list[Any] = [A.workspace_id.in_(workspace_ids), E.deleted_at.is_(None)]
    if f.statuses:
        conds.append(A.status.in_(f.statuses))
    if f.workflow_ids is not None:
        conds.append(E.workflow_id.in_(f.workflow_ids))
    if f.assigned_to_me:
        conds.append(A.assigned_to_id == user_id)
    if f.decided_by_me:
        conds.append(A.decided_by_id == user_id)
    if f.overdue:
        conds.extend([A.status == PENDING, A.due_at.is_not(None), A.due_at < now])
    if f.search and f.search.strip():
        pattern = _like(f.search.strip())
        conds.append(
            or_(
                A.title.ilike(pattern, escape="\\"),
                A.node_id.ilike(pattern, escape="\\"),
                Workflow.name.ilike(pattern, escape="\\"),
            )
        )
    return conds


def order_by(sort_by: str) -> list[Any]:
    """``requested_at``: oldest first. ``due_at``: soonest first, approvals without a due date last."""
    if sort_by == "due_at":
        return [A.due_at.is_(None), A.due_at.asc(), A.requested_at.asc(), A.id.asc()]
    return [A.requested_at.asc(), A.id.asc()]
