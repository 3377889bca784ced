"""Approval requests and command-room flags: changes shown on an execution's row, so each bumps its
version and records an event through the execution service's write path."""

from __future__ import annotations

import uuid as uuid_lib
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import CommandRoomTask, ExecutionStatus, User, WorkflowApproval, WorkflowExecution
from app.db.models.base import new_uuid, utcnow
from app.domain.approvals.schemas import ApprovalRequest, CommandRoomTaskCreate
from app.domain.events.recorder import CommittedEvent
from app.domain.executions.services import ExecutionService
from app.lib.errors import ConflictError, NotFoundError
from app.lib.identity import OPERATE_ROLES, CurrentUser
from app.lib.pagination import PageRequest
from app.lib.timefmt import iso

A = WorkflowApproval
E = WorkflowExecution


def approval_payload(row: Any) -> dict[str, Any]:
    return {
        "uuid": str(row.uuid),
        "execution_uuid": str(row.execution_uuid),
        "workspace_uuid": str(row.workspace_uuid),
        "node_id": row.node_id,
        "title": row.title,
        "description": row.description,
        "payload": row.payload,
        "high_risk": row.high_risk,
        "status": row.status,
        "requested_at": iso(row.requested_at),
        "due_at": iso(row.due_at),
        "decided_by": row.decided_by_email,
        "decided_at": iso(row.decided_at),
        "comment": row.comment,
    }


class ApprovalService:
    def __init__(self, executions: ExecutionService) -> None:
        self.executions = executions
        self.db = executions.db

    def _select(self) -> Any:
        from app.db.models import Workspace

        Decider = User.__table__.alias("decider")
        return (
            select(
                A.uuid,
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
                Workspace.uuid.label("workspace_uuid"),
                Decider.c.email.label("decided_by_email"),
            )
            .join(E, E.id == A.execution_id)
            .join(Workspace, Workspace.id == A.workspace_id)
            .outerjoin(Decider, Decider.c.id == A.decided_by_id)
        )

    async def request(self, user: CurrentUser, body: ApprovalRequest) -> dict[str, Any]:
        async def work(session: AsyncSession) -> tuple[dict[str, Any], list[CommittedEvent]]:
            row = await self.executions.load_for_write(session, user, body.execution_uuid)
            if row.status != ExecutionStatus.WAITING.value:
                raise ConflictError(
                    f"An approval can only be requested while the execution is 'waiting'; it is '{row.status}'.",
                    current_status=row.status,
                )
            now = utcnow()
            await self.executions.conditional_update(session, row, {}, now)
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
                        status="pending",
                        requested_at=now,
                        due_at=body.due_at,
                        requested_by_id=user.id,
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(A.id)
                )
            ).scalar_one()
            _, events = await self.executions.record_changes(
                session, row.workspace_id, [("approval.requested", row.id)]
            )
            created = (await session.execute(self._select().where(A.id == approval_id))).one()
            return approval_payload(created), events

        return await self.executions.run_write(work)

    async def list(
        self,
        user: CurrentUser,
        workspace_uuid: uuid_lib.UUID | None,
        statuses: list[str] | None,
        page: PageRequest,
    ) -> tuple[list[dict[str, Any]], int]:
        ids = [user.workspace_by_uuid(workspace_uuid).workspace_id] if workspace_uuid else user.workspace_ids
        conds = [A.workspace_id.in_(ids), E.deleted_at.is_(None)]
        if statuses:
            conds.append(A.status.in_(statuses))
        async with self.db.read() as session:
            total = (
                await session.execute(select(func.count()).select_from(A).join(E, E.id == A.execution_id).where(*conds))
            ).scalar_one()
            rows = await session.execute(
                self._select().where(*conds).order_by(A.requested_at, A.id).limit(page.per_page).offset(page.offset)
            )
            return [approval_payload(r) for r in rows], total

    async def flag(self, user: CurrentUser, body: CommandRoomTaskCreate) -> dict[str, Any]:
        """Flag an execution for the ops team (one active task per execution; a second answers 409)."""

        async def work(session: AsyncSession) -> tuple[dict[str, Any], list[CommittedEvent]]:
            row = await self.executions.load_for_write(session, user, body.execution_uuid, OPERATE_ROLES)
            now = utcnow()
            await self.executions.conditional_update(session, row, {}, now)
            active = (
                await session.execute(
                    select(CommandRoomTask.uuid).where(
                        CommandRoomTask.execution_id == row.id, CommandRoomTask.removed_at.is_(None)
                    )
                )
            ).scalar_one_or_none()
            if active is not None:
                raise ConflictError(
                    "This execution is already in the command room.", command_room_task_uuid=str(active)
                )
            task = CommandRoomTask(
                execution_id=row.id, workspace_id=row.workspace_id, note=body.note, created_by_id=user.id
            )
            session.add(task)
            await session.flush()
            summaries, events = await self.executions.record_changes(
                session, row.workspace_id, [("command_room.flagged", row.id)]
            )
            return self._task_payload(task, summaries[row.id], user.email), events

        return await self.executions.run_write(work)

    async def unflag(self, user: CurrentUser, task_uuid: uuid_lib.UUID) -> None:
        async def work(session: AsyncSession) -> tuple[None, list[CommittedEvent]]:
            task = (
                await session.execute(
                    select(CommandRoomTask).where(
                        CommandRoomTask.uuid == task_uuid,
                        CommandRoomTask.removed_at.is_(None),
                        CommandRoomTask.workspace_id.in_(user.workspace_ids),
                    )
                )
            ).scalar_one_or_none()
            if task is None:
                raise NotFoundError("Command room task")
            execution_uuid = (await session.execute(select(E.uuid).where(E.id == task.execution_id))).scalar_one()
            row = await self.executions.load_for_write(session, user, execution_uuid, OPERATE_ROLES)
            now = utcnow()
            await self.executions.conditional_update(session, row, {}, now)
            await session.execute(
                update(CommandRoomTask)
                .where(CommandRoomTask.id == task.id)
                .values(removed_at=now, removed_by_id=user.id, updated_at=now)
            )
            _, events = await self.executions.record_changes(
                session, row.workspace_id, [("command_room.unflagged", row.id)]
            )
            return None, events

        await self.executions.run_write(work)

    @staticmethod
    def _task_payload(task: CommandRoomTask, execution: dict[str, Any], created_by: str) -> dict[str, Any]:
        return {
            "uuid": str(task.uuid),
            "execution_uuid": execution["uuid"],
            "workspace_uuid": execution["workspace_uuid"],
            "note": task.note,
            "created_by": created_by,
            "created_at": iso(task.created_at),
            "removed_at": iso(task.removed_at),
        }
