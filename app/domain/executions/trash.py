"""The trash: soft-deleted executions, who deleted them and why, restore (admins) and purge.

Purge is for good: the executions, their data rows, approvals (with their audit), command-room
tasks and change events go (the database's ON DELETE CASCADE); the operator audit log stays, its
rows naming the execution by uuid, plus one PURGE row per execution."""

from __future__ import annotations

import datetime as dt
import uuid as uuid_lib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import Database
from app.db.models import OperatorAction, OperatorActionKind, User, Workflow, WorkflowExecution, Workspace
from app.db.models.base import utcnow
from app.domain.audit.records import OperatorActionEntry, record_operator_actions
from app.domain.events.recorder import CommittedEvent
from app.domain.executions import queries as q
from app.domain.executions.deletion import RESTORE_ROLES, restore_in_session
from app.domain.executions.services import ExecutionService
from app.domain.executions.summary import ExecutionSummary
from app.lib.errors import ForbiddenError
from app.lib.identity import OPERATE_ROLES, CurrentUser
from app.lib.pagination import PageRequest
from app.lib.timefmt import iso

E = WorkflowExecution
PURGE_BATCH = 500


def trash_workspace_ids(user: CurrentUser, workspace_uuid: uuid_lib.UUID | None) -> list[int]:
    """Workspaces whose trash the user sees: where they operate or administer (``workspace_uuid``
    narrows to one: 404 foreign, 403 a role that may not see it)."""
    if workspace_uuid is not None:
        access = user.workspace_by_uuid(workspace_uuid)
        if access.role not in OPERATE_ROLES:
            raise ForbiddenError("Only operators and admins see the trash.")
        return [access.workspace_id]
    return sorted(a.workspace_id for a in user.access.values() if a.role in OPERATE_ROLES)


async def _deletions(session: AsyncSession, execution_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The latest DELETE audit row of each execution: who, when, why."""
    if not execution_ids:
        return {}
    rows = await session.execute(
        select(OperatorAction.execution_id, User.email, OperatorAction.reason, OperatorAction.created_at)
        .outerjoin(User, User.id == OperatorAction.actor_id)
        .where(
            OperatorAction.execution_id.in_(list(execution_ids)),
            OperatorAction.action == OperatorActionKind.DELETE.value,
        )
        .order_by(OperatorAction.created_at, OperatorAction.id)
    )
    return {r.execution_id: {"deleted_by": r.email, "reason": r.reason} for r in rows}  # the last one wins


class TrashService:
    def __init__(self, executions: ExecutionService) -> None:
        self.executions = executions
        self.db = executions.db

    async def list(
        self, user: CurrentUser, workspace_uuid: uuid_lib.UUID | None, page: PageRequest
    ) -> tuple[list[dict[str, Any]], int]:
        """Soft-deleted executions of the user's workspaces, most recently deleted first, each with
        ``deleted_by`` (email, or null for a removed user or a deletion before the audit log),
        ``deletion_reason`` and ``can_restore``."""
        ids = trash_workspace_ids(user, workspace_uuid)
        if not ids:
            return [], 0
        conds = [E.workspace_id.in_(ids), E.deleted_at.is_not(None)]
        async with self.db.read() as session:
            total = (await session.execute(select(func.count()).select_from(E).where(*conds))).scalar_one()
            rows = (
                await session.execute(
                    q.summary_select()
                    .add_columns(Workspace.name.label("workspace_name"))
                    .where(*conds)
                    .order_by(E.deleted_at.desc(), E.id.desc())
                    .limit(page.per_page)
                    .offset(page.offset)
                )
            ).all()
            who = await _deletions(session, [r.id for r in rows])
        items = []
        for r in rows:
            access = user.access[r.workspace_id]
            deletion = who.get(r.id, {})
            items.append(
                q.serialize_execution(r).to_dict()
                | {
                    "workspace_name": r.workspace_name,
                    "deleted_by": deletion.get("deleted_by"),
                    "deletion_reason": deletion.get("reason"),
                    "can_restore": access.role in RESTORE_ROLES,
                }
            )
        return items, int(total)

    async def restore(
        self, user: CurrentUser, execution_uuid: uuid_lib.UUID, reason: str | None = None
    ) -> ExecutionSummary:
        """Restore a soft-deleted execution (admins): see ``deletion.restore_in_session``."""

        async def work(session: AsyncSession) -> tuple[ExecutionSummary, list[CommittedEvent]]:
            return await restore_in_session(self.executions, session, user, execution_uuid, reason=reason)

        return await self.executions.run_write(work)


@dataclass
class PurgeReport:
    cutoff: dt.datetime
    dry_run: bool
    purged: int = 0
    by_workspace: dict[str, int] = field(default_factory=dict)
    batches: int = 0


async def purge_trash(
    db: Database,
    older_than: dt.timedelta,
    *,
    dry_run: bool = False,
    batch_size: int = PURGE_BATCH,
    now: dt.datetime | None = None,
) -> PurgeReport:
    """Delete for good the executions soft-deleted before ``now - older_than``, ``batch_size`` per
    transaction (each batch commits its deletions with their PURGE audit rows, so an interrupted
    purge leaves nothing half-done and simply continues next time). ``dry_run`` only counts."""
    now = now or utcnow()
    report = PurgeReport(cutoff=now - older_than, dry_run=dry_run)
    conds = [E.deleted_at.is_not(None), E.deleted_at < report.cutoff]
    columns = (E.id, E.uuid, E.workspace_id, E.deleted_at, E.status, Workflow.name, Workspace.name.label("ws"))
    base = select(*columns).join(Workflow, Workflow.id == E.workflow_id).join(Workspace, Workspace.id == E.workspace_id)
    if dry_run:
        async with db.read() as session:
            for r in await session.execute(base.where(*conds)):
                report.by_workspace[r.ws] = report.by_workspace.get(r.ws, 0) + 1
                report.purged += 1
        return report
    while True:
        async with db.write() as session:
            rows = (await session.execute(base.where(*conds).order_by(E.id).limit(batch_size))).all()
            if not rows:
                break
            entries = [
                OperatorActionEntry(
                    r.workspace_id,
                    OperatorActionKind.PURGE,
                    None,  # the row is about to go; the uuid keeps naming it
                    r.uuid,
                    {"deleted_at": iso(r.deleted_at), "status": r.status, "workflow_name": r.name},
                )
                for r in rows
            ]
            days = older_than.total_seconds() / 86400
            reason = f"Retention: in the trash for more than {days:g} days."
            await record_operator_actions(session, entries, actor_id=None, reason=reason, now=now)
            await session.execute(delete(E).where(E.id.in_([r.id for r in rows])))
        for r in rows:
            report.by_workspace[r.ws] = report.by_workspace.get(r.ws, 0) + 1
        report.purged += len(rows)
        report.batches += 1
    return report
