"""Approvals and command-room flags. Approval writes (request, decide, assign) live in
``decisions``, their queries in ``queries``; flags are changes shown on an execution's row, so each
bumps its version and records an event through the execution service's write path."""

from __future__ import annotations

import uuid as uuid_lib
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import CommandRoomTask, OperatorActionKind, WorkflowApproval, WorkflowExecution
from app.db.models.base import utcnow
from app.domain.approvals import decisions
from app.domain.approvals import queries as q
from app.domain.approvals.audit import audit_trail
from app.domain.approvals.groups import group_decide
from app.domain.approvals.queries import ApprovalFilters, fill_approved_by
from app.domain.approvals.schemas import ApprovalRequest, CommandRoomTaskCreate
from app.domain.audit.records import REASON_MAX_LENGTH, OperatorActionEntry, record_operator_actions
from app.domain.events.recorder import CommittedEvent
from app.domain.executions.services import ExecutionService
from app.domain.executions.summary import ExecutionSummary
from app.lib.errors import ConflictError, NotFoundError
from app.lib.identity import APPROVE_ROLES, OPERATE_ROLES, CurrentUser
from app.lib.pagination import PageRequest
from app.lib.timefmt import iso

__all__ = ["ApprovalFilters", "ApprovalService", "group_key"]


def group_key(item: dict[str, Any]) -> tuple[str, ...]:
    """Identical reviews share workflow, node and payload hash."""
    return (item["workflow_uuid"], item["node_id"], item.get("payload_hash") or "")


A = WorkflowApproval
E = WorkflowExecution


SeqsOf = Callable[[list[int]], dict[int, int] | None]


class ApprovalService:
    def __init__(self, executions: ExecutionService) -> None:
        self.executions = executions
        self.db = executions.db
        self._pending_counts: dict[tuple[Any, ...], int] = {}

    # ------------------------------------------------------------------ approvals: reads
    @staticmethod
    def approver_workspace_ids(user: CurrentUser) -> list[int]:
        """Workspaces where the user may decide approvals (approver or admin)."""
        return sorted(a.workspace_id for a in user.access.values() if a.role in APPROVE_ROLES)

    async def inbox(
        self, user: CurrentUser, filters: ApprovalFilters, page: PageRequest
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of approval items and the total matching. ``filters.workspace_ids=None`` means the
        workspaces where the user may approve; explicit ids are narrowed to the user's workspaces."""
        if filters.workspace_ids is None:
            workspace_ids = self.approver_workspace_ids(user)
        else:
            workspace_ids = sorted(set(filters.workspace_ids) & set(user.access))
        if not workspace_ids:
            return [], 0
        now = utcnow()
        conds = q.filter_conditions(filters, workspace_ids, user.id, now)
        async with self.db.read() as session:
            total = (
                await session.execute(select(func.count()).select_from(q.item_select().where(*conds).subquery()))
            ).scalar_one()
            rows = await session.execute(
                q.item_select()
                .where(*conds)
                .order_by(*q.order_by(filters.sort_by))
                .limit(page.per_page)
                .offset(page.offset)
            )
            items = [q.serialize_item(r, now) | {"_id": r.id} for r in rows]
            await fill_approved_by(session, items)
            return items, int(total)

    async def get(self, user: CurrentUser, approval_uuid: uuid_lib.UUID) -> dict[str, Any]:
        """One approval of the user's workspaces (any role), with its ``audit`` trail, oldest first.
        Unknown, foreign, or of a deleted execution: 404."""
        now = utcnow()
        async with self.db.read() as session:
            row = (
                await session.execute(
                    q.item_select().where(
                        A.uuid == approval_uuid, A.workspace_id.in_(user.workspace_ids), E.deleted_at.is_(None)
                    )
                )
            ).one_or_none()
            if row is None:
                raise NotFoundError(decisions.RESOURCE)
            item = q.serialize_item(row, now) | {"_id": row.id}
            await fill_approved_by(session, [item])
            return item | {"audit": await audit_trail(session, row.id)}

    async def identical_pending(
        self, user: CurrentUser, items: list[dict[str, Any]]
    ) -> dict[tuple[str, ...], list[dict[str, Any]]]:
        """For the pending items given, every pending review identical to one of them (same workflow,
        node and payload hash) in the workspaces where the user approves, soonest due first; only
        keys with two or more reviews are returned (at most 500 reviews per key)."""
        keys = {group_key(i) for i in items if i["status"] == q.PENDING and i.get("payload_hash")}
        workspace_ids = self.approver_workspace_ids(user)
        if not keys or not workspace_ids:
            return {}
        now = utcnow()
        stmt = (
            q.item_select()
            .where(
                A.workspace_id.in_(workspace_ids),
                A.status == q.PENDING,
                E.deleted_at.is_(None),
                A.payload_hash.in_({k[2] for k in keys}),
                A.node_id.in_({k[1] for k in keys}),
            )
            .order_by(*q.order_by("due_at"))
            .limit(500 * len(keys))
        )
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        async with self.db.read() as session:
            for row in await session.execute(stmt):
                item = q.serialize_item(row, now) | {"_id": row.id}
                if group_key(item) in keys and len(groups.setdefault(group_key(item), [])) < 500:
                    groups[group_key(item)].append(item)
            members = [i for g in groups.values() for i in g]
            await fill_approved_by(session, members)
        return {k: g for k, g in groups.items() if len(g) > 1}

    async def overdue_count(self, user: CurrentUser, filters: ApprovalFilters | None = None) -> int:
        """Pending reviews past their due time among those ``filters`` select (workflow, search,
        assigned to me...; by default every workspace where the user approves)."""
        f = replace(filters or ApprovalFilters(), statuses=[q.PENDING], overdue=True, decided_by_me=False)
        mine = set(self.approver_workspace_ids(user))
        ids = sorted(set(f.workspace_ids or mine) & mine)
        if not ids:
            return 0
        conds = q.filter_conditions(f, ids, user.id, utcnow())
        async with self.db.read() as session:
            stmt = select(func.count()).select_from(q.item_select().where(*conds).subquery())
            return int((await session.execute(stmt)).scalar_one())

    async def pending_count(self, user: CurrentUser, seqs_of: SeqsOf | None = None) -> int:
        """Pending approvals of live executions in the workspaces where the user may approve (0 for
        others): one COUNT on the (workspace_id, status, requested_at) index. With ``seqs_of`` (the
        hub's ``known_seqs``), a count is reused while those workspaces have no new event: every
        change of what is pending (a review requested or decided, its execution ended, deleted or
        restored) is one."""
        workspace_ids = self.approver_workspace_ids(user)
        if not workspace_ids:
            return 0
        seqs = seqs_of(workspace_ids) if seqs_of is not None else None
        key = (tuple(workspace_ids), tuple(sorted(seqs.items()))) if seqs is not None else None
        if key is not None and (known := self._pending_counts.get(key)) is not None:
            return known
        stmt = (
            select(func.count())
            .select_from(A)
            .join(E, E.id == A.execution_id)
            .where(A.workspace_id.in_(workspace_ids), A.status == q.PENDING, E.deleted_at.is_(None))
        )
        async with self.db.quick_read() as session:
            count = int((await session.execute(stmt)).scalar_one())
        if key is not None:
            if len(self._pending_counts) >= 1024:
                self._pending_counts.clear()
            self._pending_counts[key] = count
        return count

    # ------------------------------------------------------------------ approvals: writes
    async def request(self, user: CurrentUser, body: ApprovalRequest) -> dict[str, Any]:
        """An engine asks for a review of a node's output; the execution must be waiting (409 otherwise)."""
        return await decisions.request(self.executions, user, body)

    async def decide(
        self, user: CurrentUser, approval_uuid: uuid_lib.UUID, approve: bool, comment: str | None
    ) -> dict[str, Any]:
        """Approve or reject (a rejection needs a comment); returns the decided approval item.

        404 foreign, 403 not an approver/admin, 409 already decided (naming who and when) or execution
        finished/deleted. The last pending decision of a waiting execution resumes it to running."""
        return await decisions.decide(self.executions, user, approval_uuid, approve, comment)

    async def decide_many(
        self, user: CurrentUser, approval_uuids: list[uuid_lib.UUID], approve: bool, comment: str | None
    ) -> dict[str, Any]:
        """Decide a group of reviews with one comment. Each is decided on its own, exactly as
        ``decide`` would (its own transaction, audit row and event); refusals are reported per item
        and summed up (``summary``: "5 approved, 2 refused: you triggered them")."""
        return await group_decide(self.executions, user, approval_uuids, approve, comment)

    async def assign(
        self, user: CurrentUser, approval_uuid: uuid_lib.UUID, assignee_email: str | None
    ) -> dict[str, Any]:
        """Assign a pending approval to an approver/admin of its workspace (``None``: claim it for yourself)."""
        return await decisions.assign(self.executions, user, approval_uuid, assignee_email)

    # ------------------------------------------------------------------ command room
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
            entry = OperatorActionEntry(
                row.workspace_id, OperatorActionKind.FLAG, row.id, body.execution_uuid, {"task_uuid": str(task.uuid)}
            )
            reason = body.reason if body.reason is not None else (body.note or "")[:REASON_MAX_LENGTH]
            await record_operator_actions(session, [entry], actor_id=user.id, reason=reason, now=now)
            return self._task_payload(task, summaries[row.id], user.email), events

        return await self.executions.run_write(work)

    async def unflag(self, user: CurrentUser, task_uuid: uuid_lib.UUID, reason: str | None = None) -> None:
        """Take an execution out of the command room, with an optional ``reason`` for the audit log."""

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
            entry = OperatorActionEntry(
                row.workspace_id, OperatorActionKind.UNFLAG, row.id, execution_uuid, {"task_uuid": str(task_uuid)}
            )
            await record_operator_actions(session, [entry], actor_id=user.id, reason=reason, now=now)
            return None, events

        await self.executions.run_write(work)

    @staticmethod
    def _task_payload(task: CommandRoomTask, execution: ExecutionSummary, created_by: str) -> dict[str, Any]:
        return {
            "uuid": str(task.uuid),
            "execution_uuid": execution["uuid"],
            "workspace_uuid": execution["workspace_uuid"],
            "note": task.note,
            "created_by": created_by,
            "created_at": iso(task.created_at),
            "removed_at": iso(task.removed_at),
        }
