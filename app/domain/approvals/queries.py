"""Column queries for approvals: the inbox filters, the item select and its serialization."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.db.models import ApprovalAction, ApprovalAudit, User, Workflow, WorkflowApproval, WorkflowExecution, Workspace
from app.lib.sql import AnySelect
from app.lib.timefmt import iso

A = WorkflowApproval
E = WorkflowExecution
Decider = aliased(User, name="decider")
Assignee = aliased(User, name="assignee")
Trigger = aliased(User, name="trigger")

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


def item_select() -> AnySelect:
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
            A.payload_hash,
            A.required_approvals,
            A.approvals_count,
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
            Workflow.four_eyes,
            Decider.email.label("decided_by_email"),
            Assignee.email.label("assigned_to_email"),
            Trigger.email.label("triggered_by_email"),
        )
        .join(E, E.id == A.execution_id)
        .join(Workspace, Workspace.id == A.workspace_id)
        .join(Workflow, Workflow.id == E.workflow_id)
        .outerjoin(Decider, Decider.id == A.decided_by_id)
        .outerjoin(Assignee, Assignee.id == A.assigned_to_id)
        .outerjoin(Trigger, Trigger.id == E.user_id)
    )


def payload_hash(title: str, description: str | None, payload: Any) -> str:
    """sha256 of the review's canonical JSON (title, description and payload; sorted keys, no
    spaces): what a reviewer reads is equal exactly when the hash is. Stable across versions."""
    context = {"title": title, "description": description, "payload": payload}
    canonical = json.dumps(context, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


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
        "payload_hash": row.payload_hash,
        "required_approvals": row.required_approvals,
        "approvals_count": row.approvals_count,
        "four_eyes": bool(row.four_eyes),
        "triggered_by": row.triggered_by_email,
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
    keys = (
        "uuid",
        "status",
        "title",
        "decided_by",
        "decided_at",
        "assigned_to",
        "approvals_count",
        "required_approvals",
    )
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
    """``requested_at``: oldest first. ``due_at``: soonest first, approvals without a due date last.
    ``decided_at`` (the inbox's decided tabs): the latest decision first."""
    if sort_by == "due_at":
        return [A.due_at.is_(None), A.due_at.asc(), A.requested_at.asc(), A.id.asc()]
    if sort_by == "decided_at":
        return [A.decided_at.is_(None), A.decided_at.desc(), A.id.desc()]
    return [A.requested_at.asc(), A.id.asc()]


async def fill_approved_by(session: AsyncSession, items: list[dict[str, Any]]) -> None:
    """Add ``approved_by`` (emails, oldest first) to each item: who approved it so far. Items carry
    their row id as ``_id`` (removed here); one query for the whole batch."""
    ids = [i["_id"] for i in items if i.get("approvals_count")]
    by_id: dict[int, list[str]] = defaultdict(list)
    if ids:
        rows = await session.execute(
            select(ApprovalAudit.approval_id, User.email)
            .join(User, User.id == ApprovalAudit.actor_id)
            .where(ApprovalAudit.approval_id.in_(ids), ApprovalAudit.action == ApprovalAction.APPROVED.value)
            .order_by(ApprovalAudit.created_at, ApprovalAudit.id)
        )
        for approval_id, email in rows:
            by_id[approval_id].append(email)
    for item in items:
        item["approved_by"] = by_id.get(item.pop("_id"), [])
