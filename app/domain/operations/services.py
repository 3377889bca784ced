"""OperationService: bulk actions over executions (dry run, tracked run) and their progress."""

from __future__ import annotations

import datetime as dt
import uuid as uuid_lib
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import OPEN_OPERATION_STATUSES, Operation, OperationStatus, User, WorkflowExecution
from app.db.models.base import new_uuid, utcnow
from app.domain.audit.records import clean_reason
from app.domain.executions import queries as q
from app.domain.operations.intents import KIND_BULK, KIND_SELECTION
from app.domain.operations.items import load_targets
from app.domain.operations.planning import CONFIRM_ABOVE, plan_bulk
from app.domain.operations.runner import OperationRunner
from app.domain.operations.schemas import MAX_BULK, BulkFilter
from app.lib.errors import ConflictError, FieldValidationError, ForbiddenError, NotFoundError
from app.lib.identity import OPERATE_ROLES, CurrentUser
from app.lib.timefmt import iso, parse_date_param

if TYPE_CHECKING:
    from app.domain.accounts.services import AccountService
    from app.domain.executions.services import ExecutionService

E = WorkflowExecution
RECENT = 20


def require_operator(user: CurrentUser, workspace_ids: list[int] | None = None) -> None:
    """403 unless the user operates (operator/admin) at least one workspace of the scope."""
    scope = user.access if workspace_ids is None else {w: user.access[w] for w in workspace_ids if w in user.access}
    if not any(a.role in OPERATE_ROLES for a in scope.values()):
        raise ForbiddenError("Bulk actions need the operator or admin role in a workspace of the selection.")


def _dedupe(uuids: list[str]) -> list[str]:
    return list(dict.fromkeys(uuids))


class OperationService:
    def __init__(self, executions: ExecutionService, accounts: AccountService) -> None:
        self.executions = executions
        self.db = executions.db
        self.runner = OperationRunner(executions, accounts)

    # ----------------------------------------------------------- snapshots
    async def filters_of(self, user: CurrentUser, f: BulkFilter) -> q.ExecutionFilters:
        workspace_ids, workflow_ids = await self.executions.resolve_scope(
            user, f.workspace_uuid, f.organization_multiplai_id, list(f.workflow_uuids or [])
        )
        filters = q.ExecutionFilters(
            workspace_ids=workspace_ids,
            workflow_ids=workflow_ids,
            statuses=sorted(set(f.status)) if f.status else None,
            date_from=parse_date_param("filter.date_from", f.date_from) if f.date_from else None,
            date_to=parse_date_param("filter.date_to", f.date_to, end_of_day=True) if f.date_to else None,
            search=(f.search or "").replace("\x00", "").strip() or None,
            requires_human_review=f.requires_human_review,
            has_command_room_task=f.has_command_room_task,
        )
        return filters

    async def matching_uuids(self, filters: q.ExecutionFilters) -> list[str]:
        """The uuids matching ``filters`` now, in list order (a snapshot: later changes do not move it)."""
        if not filters.workspace_ids:
            return []
        async with self.db.read() as session:
            filters = await q.resolve_search(session, filters)
            rows = await session.execute(
                select(E.uuid).where(*q.filter_conditions(filters)).order_by(*q.order_by(filters)).limit(MAX_BULK + 1)
            )
            uuids = [str(r[0]) for r in rows]
        if len(uuids) > MAX_BULK:
            raise FieldValidationError("filter", f"More than {MAX_BULK:,} executions match; narrow the filter.")
        return uuids

    async def snapshot(self, user: CurrentUser, ids: list[uuid_lib.UUID] | None, f: BulkFilter | None) -> list[str]:
        if (ids is None) == (f is None):
            raise FieldValidationError("ids", "Send either ids or filter (exactly one).")
        if ids is not None:
            if not ids:
                raise FieldValidationError("ids", "Select at least one execution.")
            require_operator(user)
            return _dedupe([str(i) for i in ids])
        assert f is not None
        filters = await self.filters_of(user, f)
        require_operator(user, filters.workspace_ids)
        return await self.matching_uuids(filters)

    async def save_selection(self, user: CurrentUser, uuids: list[str]) -> tuple[str, int]:
        """Keep a page's snapshot of ids server-side (a draft row); the form then carries its uuid only.
        Drafts older than a day are dropped on the way."""
        now = utcnow()
        async with self.db.write() as session:
            await session.execute(
                delete(Operation).where(
                    Operation.kind == KIND_SELECTION, Operation.created_at < now - dt.timedelta(days=1)
                )
            )
            workspace_ids = await self._workspaces_of(session, user, uuids)
            selection = (
                await session.execute(
                    insert(Operation)
                    .values(
                        uuid=new_uuid(), workspace_id=workspace_ids[0], user_id=user.id, kind=KIND_SELECTION,
                        action="select", status=OperationStatus.DRAFT.value, total=len(uuids), position=0,
                        done=0, skipped=0, workspace_ids=workspace_ids, execution_uuids=uuids, report={},
                        created_at=now, updated_at=now,
                    )
                    .returning(Operation.uuid)
                )
            ).scalar_one()  # fmt: skip
        return str(selection), len(uuids)

    async def selection(self, user: CurrentUser, selection_uuid: uuid_lib.UUID) -> list[str]:
        """The ids of one of your saved selections (404 for anyone else's)."""
        async with self.db.read() as session:
            uuids = (
                await session.execute(
                    select(Operation.execution_uuids).where(
                        Operation.uuid == selection_uuid,
                        Operation.user_id == user.id,
                        Operation.kind == KIND_SELECTION,
                    )
                )
            ).scalar_one_or_none()
        if uuids is None:
            raise NotFoundError("Selection")
        return list(uuids)

    async def latest(self, user: CurrentUser, finished_within: dt.timedelta) -> dict[str, Any] | None:
        """Your open bulk operation, else the one that finished within ``finished_within`` (its report
        stays on the page across a reload for a while)."""
        if (operation := await self.running(user)) is not None:
            return operation
        async with self.db.read() as session:
            row = (
                await session.execute(
                    self._select()
                    .where(
                        Operation.user_id == user.id,
                        Operation.kind == KIND_BULK,
                        Operation.finished_at >= utcnow() - finished_within,
                    )
                    .order_by(Operation.id.desc())
                    .limit(1)
                )
            ).one_or_none()
        return self._as_dict(row, with_report=False) if row else None

    # ------------------------------------------------------------- dry run
    async def dry_run(self, user: CurrentUser, action: str, uuids: list[str]) -> dict[str, Any]:
        """What the action would do to these executions, in this order, changing nothing."""
        async with self.db.read() as session:
            plan = await plan_bulk(session, user, action, uuids, is_sqlite=self.db.is_sqlite)
        return plan.as_dict()

    # ----------------------------------------------------------------- run
    async def start(
        self, user: CurrentUser, action: str, uuids: list[str], reason: str | None, confirm_count: int | None
    ) -> dict[str, Any]:
        """Record the operation (queued) and hand it to the runner; 409 while another one of yours runs
        in one of the same workspaces."""
        if len(uuids) > CONFIRM_ABOVE and confirm_count != len(uuids):
            raise FieldValidationError(
                "confirm_count",
                f"This action covers {len(uuids):,} executions; send confirm_count equal to that number.",
            )
        async with self.db.write() as session:
            workspace_ids = await self._workspaces_of(session, user, uuids)
            await self._refuse_if_running(session, user, workspace_ids)
            now = utcnow()
            created = (
                await session.execute(
                    insert(Operation)
                    .values(
                        uuid=new_uuid(),
                        workspace_id=workspace_ids[0],
                        user_id=user.id,
                        kind=KIND_BULK,
                        action=action,
                        status=OperationStatus.QUEUED.value,
                        total=len(uuids),
                        position=0,
                        done=0,
                        skipped=0,
                        reason=clean_reason(reason),
                        workspace_ids=workspace_ids,
                        execution_uuids=uuids,
                        report={"items": []},
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(Operation.id, Operation.uuid)
                )
            ).one()
        self.runner.submit(created.id)
        return await self.get(user, created.uuid)

    @staticmethod
    async def _workspaces_of(session: AsyncSession, user: CurrentUser, uuids: list[str]) -> list[int]:
        rows = await load_targets(session, uuids)
        found = sorted({r.workspace_id for r in rows.values() if r.workspace_id in user.access})
        if found:
            return found
        operable = sorted(w for w, a in user.access.items() if a.role in OPERATE_ROLES)
        return operable[:1]

    @staticmethod
    async def _refuse_if_running(session: AsyncSession, user: CurrentUser, workspace_ids: list[int]) -> None:
        rows = await session.execute(
            select(Operation.uuid, Operation.workspace_ids, Operation.action, Operation.total, Operation.done).where(
                Operation.user_id == user.id,
                Operation.kind == KIND_BULK,
                Operation.status.in_(OPEN_OPERATION_STATUSES),
            )
        )
        for row in rows:
            if set(row.workspace_ids) & set(workspace_ids):
                raise ConflictError(
                    f"Your {row.action} operation {row.uuid} is still running in this workspace; "
                    "wait for it to finish.",
                    operation_uuid=str(row.uuid),
                )

    # --------------------------------------------------------------- reads
    async def get(self, user: CurrentUser, operation_uuid: uuid_lib.UUID) -> dict[str, Any]:
        """One of your operations (another user's, even in your workspace, answers 404)."""
        async with self.db.read() as session:
            row = (
                await session.execute(
                    self._select().where(Operation.uuid == operation_uuid, Operation.user_id == user.id)
                )
            ).one_or_none()
        if row is None:
            raise NotFoundError("Operation")
        return self._as_dict(row, with_report=True)

    async def recent(self, user: CurrentUser, limit: int = RECENT) -> list[dict[str, Any]]:
        """Your latest bulk operations, newest first, without their per-execution report."""
        async with self.db.read() as session:
            rows = await session.execute(
                self._select()
                .where(Operation.user_id == user.id, Operation.kind == KIND_BULK)
                .order_by(Operation.created_at.desc(), Operation.id.desc())
                .limit(limit)
            )
            return [self._as_dict(r, with_report=False) for r in rows]

    async def running(self, user: CurrentUser) -> dict[str, Any] | None:
        """Your open bulk operation, if any (the executions page shows its progress on load)."""
        async with self.db.read() as session:
            row = (
                await session.execute(
                    self._select()
                    .where(
                        Operation.user_id == user.id,
                        Operation.kind == KIND_BULK,
                        Operation.status.in_(OPEN_OPERATION_STATUSES),
                    )
                    .order_by(Operation.id.desc())
                    .limit(1)
                )
            ).one_or_none()
        return self._as_dict(row, with_report=False) if row else None

    @staticmethod
    def _select() -> Any:
        return select(
            Operation.uuid,
            Operation.kind,
            Operation.action,
            Operation.status,
            Operation.total,
            Operation.done,
            Operation.skipped,
            Operation.position,
            Operation.reason,
            Operation.report,
            Operation.error,
            Operation.created_at,
            Operation.finished_at,
            User.email.label("user_email"),
        ).outerjoin(User, User.id == Operation.user_id)

    @staticmethod
    def _as_dict(row: Any, *, with_report: bool) -> dict[str, Any]:
        report = row.report or {}
        items = report.get("items", [])
        skipped: dict[str, int] = {}
        for item in items:
            if item["outcome"] == "skipped":
                skipped[item["reason"]] = skipped.get(item["reason"], 0) + 1
        out: dict[str, Any] = {
            "uuid": str(row.uuid),
            "kind": row.kind,
            "action": row.action,
            "status": row.status,
            "total": row.total,
            "processed": row.position,
            "done": row.done,
            "skipped": row.skipped,
            "percent": 100 if not row.total else round(100 * row.position / row.total),
            "reason": row.reason,
            "user": row.user_email,
            "executions_affected": len(report.get("reached", [])),
            "approvals_cancelled": report.get("approvals_cancelled", 0),
            "command_room_tasks_closed": report.get("command_room_tasks_closed", 0),
            "skipped_reasons": dict(sorted(skipped.items(), key=lambda kv: -kv[1])),
            "error": row.error,
            "created_at": iso(row.created_at),
            "finished_at": iso(row.finished_at),
        }
        if with_report:
            out["items"] = items
        return out
