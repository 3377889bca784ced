"""The simulator's in-process backend: the service layer, as one user (every change writes its events)."""

from __future__ import annotations

import logging
import uuid as uuid_lib
from collections.abc import Awaitable
from typing import Any, TypeVar

import msgspec
from sqlalchemy import or_

from app.db.models import WorkflowExecution as E
from app.demo.history import STUCK_MODE
from app.demo.simulator import BackendConflict, BackendNotFound
from app.domain.approvals.queries import ApprovalFilters
from app.domain.approvals.schemas import ApprovalRequest
from app.domain.audit.log import AuditFilters, AuditLogService
from app.domain.executions.queries import ExecutionFilters
from app.domain.executions.schemas import ExecutionCreate, ExecutionUpdate
from app.domain.executions.services import Includes
from app.lib.errors import ConflictError, NotFoundError
from app.lib.identity import OPERATE_ROLES, CurrentUser
from app.lib.pagination import MAX_PER_PAGE, PageRequest
from app.services import Services

logger = logging.getLogger("athena.demo")
T = TypeVar("T")
ABANDONED = "Worker restarted: the execution was abandoned while it ran (demo simulator restart)."


async def _mapped(call: Awaitable[T]) -> T:
    try:
        return await call
    except ConflictError as exc:
        raise BackendConflict(exc.message) from None
    except NotFoundError as exc:
        raise BackendNotFound(exc.message) from None


class ServiceBackend:
    def __init__(self, services: Services, user: CurrentUser) -> None:
        self.services = services
        self.user = user

    @classmethod
    async def for_email(cls, services: Services, email: str) -> ServiceBackend:
        user = await services.accounts.load_user(await services.accounts.user_id_by_email(email))
        if user is None:
            raise NotFoundError(f"Active user {email}")
        return cls(services, user)

    @property
    def workspace_ids(self) -> list[int]:
        return sorted(a.workspace_id for a in self.user.access.values() if a.role in OPERATE_ROLES)

    async def workflows(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for access in self.user.access.values():
            if access.role not in OPERATE_ROLES:
                continue
            page = 1
            while True:
                batch, total = await self.services.workflows.list_workflows(
                    self.user, access.workspace_uuid, None, PageRequest(page, MAX_PER_PAGE)
                )
                items.extend(w for w in batch if w["is_active"])
                if page * MAX_PER_PAGE >= total:
                    break
                page += 1
        return items

    async def create(self, body: dict[str, Any]) -> dict[str, Any]:
        # A plain dict, as the remote backend's JSON gives it.
        created = await _mapped(self.services.executions.create(self.user, msgspec.convert(body, ExecutionCreate)))
        return created.to_dict()

    async def update(self, execution_uuid: str, body: dict[str, Any]) -> dict[str, Any]:
        change = msgspec.convert(body, ExecutionUpdate)
        updated = await _mapped(self.services.executions.update(self.user, uuid_lib.UUID(execution_uuid), change))
        return updated.to_dict()

    async def get(self, execution_uuid: str) -> dict[str, Any]:
        return await _mapped(self.services.executions.get(self.user, uuid_lib.UUID(execution_uuid), Includes()))

    async def request_approval(self, body: dict[str, Any]) -> dict[str, Any]:
        return await _mapped(self.services.approvals.request(self.user, msgspec.convert(body, ApprovalRequest)))

    async def approval(self, approval_uuid: str) -> dict[str, Any]:
        return await _mapped(self.services.approvals.get(self.user, uuid_lib.UUID(approval_uuid)))

    async def parked(self) -> list[dict[str, Any]]:
        """Pending approvals of waiting executions in the workspaces this user operates (the demo
        seed's, or those a previous simulator run parked), one per execution."""
        filters = ApprovalFilters(workspace_ids=self.workspace_ids, statuses=["pending"])
        found: dict[str, dict[str, Any]] = {}
        page, total = 1, 1
        while (page - 1) * MAX_PER_PAGE < total:
            items, total = await self.services.approvals.inbox(self.user, filters, PageRequest(page, MAX_PER_PAGE))
            for item in items:
                if item["execution_status"] == "waiting":
                    found.setdefault(item["execution_uuid"], item)
            page += 1
        return list(found.values())

    async def awaiting_review(self, workspace_uuid: str) -> int:
        access = self.user.workspace_by_uuid(uuid_lib.UUID(workspace_uuid))
        filters = ExecutionFilters(
            workspace_ids=[access.workspace_id], statuses=["waiting"], requires_human_review=True
        )
        return int((await self.services.executions.count(self.user, filters))["count"])

    async def retry_requests(self) -> list[dict[str, Any]]:
        """The latest retry requests in the workspaces this user operates (audit log, newest first)."""
        filters = AuditFilters.parse(self.user, {"action": "retry_request"})
        items, _ = await AuditLogService(self.services.db).page(filters, 0, 50)
        return items

    async def recover(self) -> int:
        """Close what a previous demo run left active (the process was stopped mid-run): running ones
        and waiting ones with no review pending fail, pending ones are cancelled. Executions waiting
        for a human review stay. Only ever used on the embedded demo database."""
        closed = 0
        for statuses, review in ((["running"], None), (["waiting"], False), (["pending"], None)):
            filters = ExecutionFilters(
                workspace_ids=self.workspace_ids,
                statuses=statuses,
                requires_human_review=review,
                # the seeded "needs attention" examples are meant to stay stuck
                extra={"conditions": [or_(E.mode.is_(None), E.mode != STUCK_MODE)]},
            )
            for _ in range(100):  # re-read page 1: each pass removes what it closed from the filter
                items, _ = await self.services.executions.list(
                    self.user, filters, PageRequest(1, MAX_PER_PAGE), Includes()
                )
                if not items:
                    break
                closed += await self._close_all(items)
        return closed

    async def _close_all(self, items: list[dict[str, Any]]) -> int:
        closed = 0
        for item in items:
            execution_uuid = uuid_lib.UUID(item["uuid"])
            try:
                if item["status"] == "pending":
                    await self.services.executions.stop(self.user, execution_uuid)
                else:
                    change = ExecutionUpdate(status="failed", error=ABANDONED)
                    await self.services.executions.update(self.user, execution_uuid, change)
                closed += 1
            except (ConflictError, NotFoundError):
                continue  # someone else closed it meanwhile
        if not closed:
            raise RuntimeError("could not close any leftover execution")  # never loop on the same page
        return closed
