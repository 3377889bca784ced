"""ExecutionService: the workflow-executions use cases, tenant-scoped, each write with its events."""

from __future__ import annotations

import builtins
import uuid as uuid_lib
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import (
    ExecutionStatus,
    Workflow,
    WorkflowExecution,
    WorkflowExecutionData,
)
from app.db.models.base import new_uuid, utcnow
from app.domain.approvals.cancellation import cancel_pending_approvals
from app.domain.events.recorder import CommittedEvent
from app.domain.executions import day_counts
from app.domain.executions import queries as q
from app.domain.executions.deletion import soft_delete_in_session
from app.domain.executions.id_search import parse_id_ref
from app.domain.executions.listing import Cursor, ExecutionPage, list_page
from app.domain.executions.lookup import Lookup, elsewhere, lookup_ref
from app.domain.executions.progress import close_node_runs, derived_fields, merged_data
from app.domain.executions.schemas import ExecutionCreate, ExecutionUpdate
from app.domain.executions.state import TERMINAL, check_transition
from app.domain.executions.stopping import StopPreview, StopResult, preview_stop, stop_execution
from app.domain.executions.summary import ExecutionSummary
from app.domain.executions.writes import ExecutionWrites, LostRace
from app.lib.errors import ConflictError, FieldValidationError, NotFoundError
from app.lib.identity import OPERATE_ROLES, CurrentUser
from app.lib.pagination import PageRequest
from app.lib.sql import AnyRow

E = WorkflowExecution


@dataclass(frozen=True)
class Includes:
    workflow: bool = False
    execution_data: bool = False
    approval_counts: bool = False


class ExecutionService(ExecutionWrites):
    """Reads and writes of workflow executions, tenant-scoped; the write core is ``ExecutionWrites``."""

    # ----------------------------------------------------------------- reads
    async def resolve_scope(
        self,
        user: CurrentUser,
        workspace_uuid: uuid_lib.UUID | None,
        organization_multiplai_id: str | None,
        workflow_uuids: list[uuid_lib.UUID],
        *,
        required: bool = True,
    ) -> tuple[list[int], list[int] | None]:
        """Workspace ids and workflow ids the request may see. The workspace wins over the organization."""
        if workspace_uuid is not None:
            workspace_ids = [user.workspace_by_uuid(workspace_uuid).workspace_id]
        elif organization_multiplai_id:
            workspace_ids = user.workspace_ids_of_organization(organization_multiplai_id)
        elif workflow_uuids or not required:
            workspace_ids = user.workspace_ids
        else:
            raise FieldValidationError(
                "workspace_uuid",
                "One of workspace_uuid, organization_multiplai_id or workflow_uuid(s) is required.",
            )
        if not workflow_uuids:
            return workspace_ids, None
        async with self.db.read() as session:
            rows = (
                await session.execute(
                    select(Workflow.id, Workflow.uuid).where(
                        Workflow.uuid.in_(set(workflow_uuids)),
                        Workflow.deleted_at.is_(None),
                        Workflow.workspace_id.in_(user.workspace_ids),
                    )
                )
            ).all()
        if len(rows) != len(set(workflow_uuids)):
            raise NotFoundError("Workflow")
        return workspace_ids, [r.id for r in rows]

    async def list(
        self, user: CurrentUser, filters: q.ExecutionFilters, page: PageRequest, includes: Includes
    ) -> tuple[builtins.list[dict[str, Any]], int]:
        items, result = await self.page(user, filters, page, includes)
        return items, result.total

    async def page(
        self,
        user: CurrentUser,
        filters: q.ExecutionFilters,
        page: PageRequest,
        includes: Includes,
        cursor: str | None = None,
    ) -> tuple[builtins.list[dict[str, Any]], ExecutionPage]:
        """One page (by number, or after ``cursor`` from ``links.next``) with its exact total."""
        if not filters.workspace_ids:
            return [], ExecutionPage([], 0, False, False, None)
        after = Cursor.decode(cursor, filters) if cursor else None
        async with self._page_read(filters) as session:
            result = await list_page(session, filters, page.per_page, page.offset, after)
            items = await self._decorate(session, user, result.rows, includes)
        return items, result

    async def count(self, user: CurrentUser, filters: q.ExecutionFilters) -> dict[str, Any]:
        by_status = {s.value: 0 for s in ExecutionStatus}
        if filters.workspace_ids:
            # One statement (two with a search): no snapshot to share, so no BEGIN / ROLLBACK.
            async with self._page_read(filters) as session:
                filters = await q.resolve_search(session, filters)
                statement = day_counts.count_by_status_statement(filters)
                if statement is None:
                    statement = select(E.status, func.count()).where(*q.filter_conditions(filters)).group_by(E.status)
                rows = await session.execute(statement)
                for status, n in rows:
                    by_status[status] = int(n)
        return {"count": sum(by_status.values()), "by_status": by_status}

    def _page_read(self, filters: q.ExecutionFilters) -> AbstractAsyncContextManager[AsyncSession]:
        """Reads without a transaction, or without parallel workers when the total sums day rows."""
        return self.db.serial_read() if day_counts.reads_day_rows(filters) else self.db.quick_read()

    async def get(self, user: CurrentUser, execution_uuid: uuid_lib.UUID, includes: Includes) -> dict[str, Any]:
        async with self.db.read() as session:
            row = (
                await session.execute(
                    q.summary_select().where(
                        E.uuid == execution_uuid,
                        E.deleted_at.is_(None),
                        E.workspace_id.in_(user.workspace_ids),
                    )
                )
            ).one_or_none()
            if row is None:
                raise NotFoundError("Workflow execution")
            return (await self._decorate(session, user, [row], includes))[0]

    async def lookup(self, user: CurrentUser, text: str) -> Lookup:
        """The executions a whole id or an id fragment names, in any of the user's workspaces."""
        async with self.db.read() as session:
            return await lookup_ref(session, user, text)

    async def found_elsewhere(
        self, user: CurrentUser, search: str | None, shown_workspace_ids: builtins.list[int]
    ) -> builtins.list[dict[str, Any]]:
        """For a search that found nothing: where in the user's other workspaces its id is."""
        if parse_id_ref(search or "") is None:
            return []
        async with self.db.quick_read() as session:
            return await elsewhere(session, user, search, shown_workspace_ids)

    async def _decorate(
        self, session: AsyncSession, user: CurrentUser, rows: Sequence[AnyRow], inc: Includes
    ) -> builtins.list[dict[str, Any]]:
        items = [q.serialize_execution(r).to_dict() for r in rows]
        ids = [r.id for r in rows]
        if inc.workflow:
            workflows = await q.workflow_objects(session, {r.workflow_id for r in rows}, user.id)
            for item, r in zip(items, rows, strict=True):
                item["workflow"] = workflows.get(r.workflow_id)
        if inc.execution_data:
            data = await q.execution_data_for(session, ids)
            for item, r in zip(items, rows, strict=True):
                item["workflow_execution_data"] = data.get(r.id, [])
        if inc.approval_counts:
            counts = await q.approval_counts(session, ids)
            for item, r in zip(items, rows, strict=True):
                total, pending = counts.get(r.id, (0, 0))
                item["workflow_approvals_count"] = total
                item["pending_workflow_approvals_count"] = pending
        return items

    # ---------------------------------------------------------------- writes
    async def create(self, user: CurrentUser, body: ExecutionCreate) -> ExecutionSummary:
        """Record a new execution of a workflow the user may operate, with its data row and event."""

        async def work(session: AsyncSession) -> tuple[ExecutionSummary, builtins.list[CommittedEvent]]:
            wf = (
                await session.execute(
                    select(Workflow.id, Workflow.workspace_id).where(
                        Workflow.uuid == body.workflow_uuid,
                        Workflow.deleted_at.is_(None),
                        Workflow.workspace_id.in_(user.workspace_ids),
                    )
                )
            ).one_or_none()
            if wf is None:
                raise NotFoundError("Workflow")
            user.require(wf.workspace_id, OPERATE_ROLES, "Workflow")
            parent_id = await self._parent_id(session, body, wf.workspace_id)
            now = utcnow()
            execution_id = await self._insert(session, user, body, wf, parent_id, now)
            await session.execute(
                update(Workflow)
                .where(Workflow.id == wf.id)
                .values(trigger_count=Workflow.trigger_count + 1, last_used_at=now)
            )
            await session.flush()
            summaries, events = await self.record_changes(
                session, wf.workspace_id, [("execution.created", execution_id)]
            )
            return summaries[execution_id], events

        return await self.run_write(work)

    @staticmethod
    async def _parent_id(session: AsyncSession, body: ExecutionCreate, workspace_id: int) -> int | None:
        """Parents live in the same workspace, so a stop cascade never crosses tenants."""
        if body.parent_execution_uuid is None:
            return None
        parent_id = (
            await session.execute(
                select(E.id).where(
                    E.uuid == body.parent_execution_uuid, E.workspace_id == workspace_id, E.deleted_at.is_(None)
                )
            )
        ).scalar_one_or_none()
        if parent_id is None:
            raise FieldValidationError(
                "parent_execution_uuid", "No execution with this uuid exists in the workflow's workspace."
            )
        return parent_id

    @staticmethod
    async def _insert(
        session: AsyncSession, user: CurrentUser, body: ExecutionCreate, wf: Any, parent_id: int | None, now: Any
    ) -> int:
        status = ExecutionStatus(body.status)
        execution_id = (
            await session.execute(
                insert(E)
                .values(
                    uuid=new_uuid(),
                    workspace_id=wf.workspace_id,
                    workflow_id=wf.id,
                    user_id=user.id,
                    parent_execution_id=parent_id,
                    mode=body.mode,
                    retry_of=body.retry_of,
                    status=status.value,
                    started_at=now if status != ExecutionStatus.PENDING else None,
                    stopped_at=now if status in TERMINAL else None,
                    wait_till=body.wait_till,
                    error=body.error,
                    version=1,
                    created_at=now,
                    updated_at=now,
                )
                .returning(E.id)
            )
        ).scalar_one()
        data = body.execution_data
        session.add(
            WorkflowExecutionData(
                execution_id=execution_id,
                workflow_data=(data.workflow_data if data and data.workflow_data else []),
                metadata_=(data.metadata if data and data.metadata else {}),
                data=data.data if data else None,
            )
        )
        return execution_id

    async def update(self, user: CurrentUser, execution_uuid: uuid_lib.UUID, body: ExecutionUpdate) -> ExecutionSummary:
        async def work(session: AsyncSession) -> tuple[ExecutionSummary, builtins.list[CommittedEvent]]:
            row = await self.load_for_write(session, user, execution_uuid)
            if body.version is not None and body.version != row.version:
                raise ConflictError(
                    f"The execution is at version {row.version}, not {body.version}; reload it and retry.",
                    current_version=row.version,
                )
            now = utcnow()
            values: dict[str, Any] = {}
            event_type = "execution.progress"
            if body.status is not None and body.status != row.status:
                check_transition(row.status, body.status)
                values["status"] = body.status
                if body.status == ExecutionStatus.RUNNING.value:
                    values["started_at"] = func.coalesce(E.started_at, now)
                if ExecutionStatus(body.status) in TERMINAL:
                    values["stopped_at"] = now
                    values["running_node"] = None
                event_type = "execution.status_changed"
            for name in ("wait_till", "mode", "retry_success_id", "error", "running_node"):
                value = getattr(body, name)
                # Re-sending a current value is not a change: no new version, no event.
                if value is not msgspec.UNSET and value != getattr(row, name):
                    values[name] = value
                    event_type = "execution.status_changed" if "status" in values else "execution.updated"
            data = None
            if body.node_runs or body.execution_data is not None:
                data = await merged_data(session, row.id, body, now)
            # A finished execution runs no node: a late "running" report from the engine does not
            # reopen one (its node runs are closed below, in this transaction).
            finished = ExecutionStatus(values.get("status", row.status)) in TERMINAL
            if data is not None and body.node_runs:
                still_running = {e.get("node_id") for e in data.workflow_data if e.get("status") == "running"}
                derived = derived_fields(row.running_node, body.node_runs, still_running)
                if finished:
                    derived.pop("running_node", None)
                values = derived | values
            if not values and data is None:
                # A repeat of the current state answers that state, as it was judged: another writer
                # may have committed since the row was read (READ COMMITTED), and the answer must not
                # report its status as this request's (asked "paused", answered 200 "cancelled").
                current = await self.current(session, row.id)
                if current["version"] != row.version:
                    raise LostRace
                return current, []
            await self.conditional_update(session, row, values, now)
            if "status" in values and ExecutionStatus(values["status"]) in TERMINAL:
                why = f"the execution became {values['status']}"
                await cancel_pending_approvals(session, [row.id], now, why, user.id)
            if data is not None:
                if body.node_runs:
                    data.metadata["running_node"] = values.get("running_node", row.running_node)
                data.record.workflow_data = data.workflow_data
                data.record.metadata_ = data.metadata
                if data.text is not None:
                    data.record.data = data.text
                await session.flush()
            if finished and ("status" in values or data is not None):
                await close_node_runs(session, [row.id], now)
            summaries, events = await self.record_changes(session, row.workspace_id, [(event_type, row.id)])
            return summaries[row.id], events

        return await self.run_write(work)

    async def delete(self, user: CurrentUser, execution_uuid: uuid_lib.UUID, reason: str | None = None) -> None:
        """Soft delete: the row and its data stay (in the trash), but vanish from every list, count
        and lookup; an audit row keeps who did it and ``reason``. See ``deletion.soft_delete_in_session``."""

        async def work(session: AsyncSession) -> tuple[None, builtins.list[CommittedEvent]]:
            return None, await soft_delete_in_session(self, session, user, execution_uuid, reason=reason)

        await self.run_write(work)

    async def stop(self, user: CurrentUser, execution_uuid: uuid_lib.UUID, reason: str | None = None) -> StopResult:
        """Cancel the execution, its stoppable descendants and the ancestors waiting on it, atomically
        (after committing the stop's intent, which a restart resumes)."""
        return await stop_execution(self, user, execution_uuid, reason)

    async def preview_stop(self, user: CurrentUser, execution_uuid: uuid_lib.UUID) -> StopPreview:
        """What a stop would cancel right now, without changing anything (for confirmations)."""
        return await preview_stop(self, user, execution_uuid)
