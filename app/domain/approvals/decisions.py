"""Approval writes: request, decide (approve / reject) and assign.

Each runs in one transaction through the execution service's write path: it bumps the execution's
``version`` with ``conditional_update`` (so every approval change is serialized per execution and
shown on its row), changes the approval with a conditional UPDATE on ``status = 'pending'``, writes
an audit row and records one event per changed execution, published after commit.

Locks are always taken execution row first, approval rows second, as the stop cascade does, so a
decision racing with a stop on PostgreSQL queues up instead of deadlocking.
"""

from __future__ import annotations

import datetime as dt
import uuid as uuid_lib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import (
    ApprovalAction,
    ApprovalAudit,
    ExecutionStatus,
    Membership,
    User,
    Workflow,
    WorkflowApproval,
    WorkflowExecution,
)
from app.db.models.base import new_uuid, utcnow
from app.domain.approvals.audit import AuditEntry, record_audit
from app.domain.approvals.queries import (
    Decider,
    event_approval,
    fill_approved_by,
    item_select,
    payload_hash,
    serialize_item,
)
from app.domain.approvals.schemas import ApprovalRequest
from app.domain.events.recorder import CommittedEvent
from app.domain.executions.state import is_finished
from app.domain.executions.writes import ExecutionWrites, LostRace
from app.lib.errors import ConflictError, FieldValidationError, ForbiddenError, NotFoundError
from app.lib.identity import APPROVE_ROLES, CurrentUser
from app.lib.sql import affected_rows
from app.lib.timefmt import iso

A = WorkflowApproval
E = WorkflowExecution
PENDING = "pending"
RESOURCE = "Workflow approval"
FOUR_EYES_MESSAGE = (
    "Four-eyes rule: you triggered this execution, so another approver must approve its reviews "
    "(you may still reject them)."
)


@dataclass(frozen=True)
class Target:
    """A pending approval a user may act on, and the execution state its write is conditional on."""

    approval_id: int
    workspace_id: int
    assigned_to_id: int | None
    id: int  # the execution's: ``conditional_update`` reads id, status and version
    status: str
    version: int
    approvals_count: int = 0
    required_approvals: int = 1
    triggered_by_id: int | None = None  # the execution's user_id
    four_eyes: bool = False  # the workflow's setting


async def load_item(session: AsyncSession, approval_id: int, now: dt.datetime) -> dict[str, Any]:
    item = serialize_item((await session.execute(item_select().where(A.id == approval_id))).one(), now)
    item["_id"] = approval_id
    await fill_approved_by(session, [item])
    return item


async def request(svc: ExecutionWrites, user: CurrentUser, body: ApprovalRequest) -> dict[str, Any]:
    """An engine asks for a review of a node's output; the execution must be ``waiting`` (409 otherwise)."""

    async def work(session: AsyncSession) -> tuple[dict[str, Any], list[CommittedEvent]]:
        row = await svc.load_for_write(session, user, body.execution_uuid)
        if row.status != ExecutionStatus.WAITING.value:
            raise ConflictError(
                f"An approval can only be requested while the execution is 'waiting'; it is '{row.status}'.",
                current_status=row.status,
            )
        now = utcnow()
        await svc.conditional_update(session, row, {}, now)
        approval_id = (
            await session.execute(
                insert(A)
                .values(
                    uuid=new_uuid(),
                    execution_id=row.id,
                    workspace_id=row.workspace_id,
                    node_id=body.node_id,
                    title=body.title,
                    description=body.description,
                    payload=body.payload,
                    high_risk=body.high_risk,
                    payload_hash=payload_hash(body.title, body.description, body.payload),
                    required_approvals=2 if body.high_risk else 1,
                    status=PENDING,
                    requested_at=now,
                    due_at=body.due_at,
                    requested_by_id=user.id,
                    created_at=now,
                    updated_at=now,
                )
                .returning(A.id)
            )
        ).scalar_one()
        entry = AuditEntry(approval_id, row.id, row.workspace_id, ApprovalAction.REQUESTED)
        await record_audit(session, [entry], user.id, now)
        return await _finish(svc, session, "approval.requested", approval_id, row.id, row.workspace_id, now)

    return await svc.run_write(work)


async def decide(
    svc: ExecutionWrites, user: CurrentUser, approval_uuid: uuid_lib.UUID, approve: bool, comment: str | None
) -> dict[str, Any]:
    """Approve or reject a pending approval (approvers and admins). The last pending decision of a
    ``waiting`` execution resumes it to ``running``. A rejection needs a comment (422 naming it).

    An approval that needs two (high-risk) records the first one and stays pending
    (``approval.partially_approved``); the second, from another user, completes it. A rejection
    completes it at once. Under the workflow's four-eyes rule whoever triggered the execution may
    not approve (403, ``reason: four_eyes``)."""
    comment = comment.strip() if comment and comment.strip() else None
    if not approve and comment is None:
        raise FieldValidationError("comment", "The comment field is required to reject an approval.")
    action = ApprovalAction.APPROVED if approve else ApprovalAction.REJECTED

    async def work(session: AsyncSession) -> tuple[dict[str, Any], list[CommittedEvent]]:
        target = await load_target(session, user, approval_uuid)
        if approve:
            await check_may_approve(session, user, target)
        now = utcnow()
        count = target.approvals_count + (1 if approve else 0)
        completes = not approve or count >= target.required_approvals
        values: dict[str, Any] = {}
        if completes and target.status == ExecutionStatus.WAITING.value and not await _others_pending(session, target):
            values["status"] = ExecutionStatus.RUNNING.value
        await svc.conditional_update(session, target, values, now)
        change: dict[str, Any] = {"approvals_count": count}
        if completes:
            change |= {"status": action.value, "decided_by_id": user.id, "decided_at": now, "comment": comment}
        await _update_pending(session, target.approval_id, change, now, expect_count=target.approvals_count)
        entry = AuditEntry(target.approval_id, target.id, target.workspace_id, action, comment)
        await record_audit(session, [entry], user.id, now)
        event_type = "approval.decided" if completes else "approval.partially_approved"
        return await _finish(svc, session, event_type, target.approval_id, target.id, target.workspace_id, now)

    return await svc.run_write(work)


async def check_may_approve(session: AsyncSession, user: CurrentUser, target: Target) -> None:
    """The four-eyes rule (403) and two different approvers for a review that needs two (409)."""
    if target.four_eyes and target.triggered_by_id == user.id:
        raise ForbiddenError(FOUR_EYES_MESSAGE, reason="four_eyes")
    if target.approvals_count and user.id in await approver_ids(session, target.approval_id):
        raise ConflictError(
            f"You already approved this review ({target.approvals_count} of {target.required_approvals} "
            "approvals); another approver must give the next one.",
            reason="already_approved",
            status=PENDING,
            approvals_count=target.approvals_count,
            required_approvals=target.required_approvals,
        )


async def approver_ids(session: AsyncSession, approval_id: int) -> set[int]:
    """Users who approved this review so far (its audit rows)."""
    stmt = select(ApprovalAudit.actor_id).where(
        ApprovalAudit.approval_id == approval_id, ApprovalAudit.action == ApprovalAction.APPROVED.value
    )
    return {r for r in (await session.execute(stmt)).scalars() if r is not None}


async def assign(
    svc: ExecutionWrites, user: CurrentUser, approval_uuid: uuid_lib.UUID, assignee_email: str | None
) -> dict[str, Any]:
    """Assign a pending approval to an approver or admin of its workspace (``None``: claim it)."""

    async def work(session: AsyncSession) -> tuple[dict[str, Any], list[CommittedEvent]]:
        target = await load_target(session, user, approval_uuid)
        assignee_id = user.id if assignee_email is None else await _approver_id(session, assignee_email, target)
        now = utcnow()
        if assignee_id == target.assigned_to_id:  # already theirs: no change, no version, no event
            return await load_item(session, target.approval_id, now), []
        await svc.conditional_update(session, target, {}, now)
        await _update_pending(session, target.approval_id, {"assigned_to_id": assignee_id}, now)
        entry = AuditEntry(
            target.approval_id, target.id, target.workspace_id, ApprovalAction.ASSIGNED, assignee_id=assignee_id
        )
        await record_audit(session, [entry], user.id, now)
        return await _finish(svc, session, "approval.assigned", target.approval_id, target.id, target.workspace_id, now)

    return await svc.run_write(work)


async def load_target(session: AsyncSession, user: CurrentUser, approval_uuid: uuid_lib.UUID) -> Target:
    """The approval, if the user may act on it now: 404 when foreign, 403 for a role that may not
    approve, 409 when it is no longer pending or its execution is finished or deleted."""
    row = (
        await session.execute(
            select(
                A.id,
                A.workspace_id,
                A.status,
                A.assigned_to_id,
                A.decided_at,
                A.comment,
                Decider.email.label("decided_by"),
                E.id.label("execution_id"),
                E.status.label("execution_status"),
                E.version,
                E.deleted_at,
                E.user_id.label("triggered_by_id"),
                A.approvals_count,
                A.required_approvals,
                Workflow.four_eyes,
            )
            .join(E, E.id == A.execution_id)
            .join(Workflow, Workflow.id == E.workflow_id)
            .outerjoin(Decider, Decider.id == A.decided_by_id)
            .where(A.uuid == approval_uuid, A.workspace_id.in_(user.workspace_ids))
        )
    ).one_or_none()
    if row is None:
        raise NotFoundError(RESOURCE)
    user.require(row.workspace_id, APPROVE_ROLES, RESOURCE)
    if row.status != PENDING:
        _already_decided(row)
    if row.deleted_at is not None or is_finished(row.execution_status):
        state = "was deleted" if row.deleted_at is not None else f"is '{row.execution_status}'"
        raise ConflictError(
            f"The execution {state}: its approvals can no longer be decided.",
            status=row.status,
            execution_status=row.execution_status,
            decided_by=None,
            decided_at=None,
        )
    return Target(
        row.id,
        row.workspace_id,
        row.assigned_to_id,
        row.execution_id,
        row.execution_status,
        row.version,
        row.approvals_count,
        row.required_approvals,
        row.triggered_by_id,
        bool(row.four_eyes),
    )


def _already_decided(row: Any) -> None:
    by = f" by {row.decided_by}" if row.decided_by else ""
    raise ConflictError(
        f"This approval was already {row.status}{by} at {iso(row.decided_at)}.",
        status=row.status,
        decided_by=row.decided_by,
        decided_at=iso(row.decided_at),
        comment=row.comment,
    )


async def _others_pending(session: AsyncSession, target: Target) -> int:
    """Other pending approvals of the execution. Read before the version-guarded update: anything
    that changes an approval bumps the execution's version, so a stale answer loses the race."""
    stmt = select(func.count()).where(A.execution_id == target.id, A.status == PENDING, A.id != target.approval_id)
    return int((await session.execute(stmt)).scalar_one())


async def _update_pending(
    session: AsyncSession, approval_id: int, values: dict[str, Any], now: dt.datetime, expect_count: int | None = None
) -> None:
    """The conditional UPDATE that lets exactly one writer change a pending approval (and, for a
    decision, only from the approval count it read)."""
    conds = [A.id == approval_id, A.status == PENDING]
    if expect_count is not None:
        conds.append(A.approvals_count == expect_count)
    result = await session.execute(update(A).where(*conds).values(**values, updated_at=now))
    if affected_rows(result) != 1:
        raise LostRace  # changed under us: roll back, re-read (which answers 409 naming the decider)


async def _approver_id(session: AsyncSession, email: str, target: Target) -> int:
    """The id of an active approver or admin of the approval's workspace, else 422 naming ``user_email``."""
    user_id = (
        await session.execute(
            select(User.id)
            .join(Membership, Membership.user_id == User.id)
            .where(
                User.email == email.strip().lower(),
                User.is_active.is_(True),
                Membership.workspace_id == target.workspace_id,
                Membership.role.in_([r.value for r in APPROVE_ROLES]),
            )
        )
    ).scalar_one_or_none()
    if user_id is None:
        raise FieldValidationError(
            "user_email", "The user_email field must name an approver or admin of the approval's workspace."
        )
    return user_id


async def _finish(
    svc: ExecutionWrites,
    session: AsyncSession,
    event_type: str,
    approval_id: int,
    execution_id: int,
    workspace_id: int,
    now: dt.datetime,
) -> tuple[dict[str, Any], list[CommittedEvent]]:
    """The approval item, and the execution's event carrying it as ``approval``."""
    item = await load_item(session, approval_id, now)
    _, events = await svc.record_changes(
        session, workspace_id, [(event_type, execution_id)], {execution_id: event_approval(item)}
    )
    return item, events
