"""Trash API: soft-deleted executions and their restore (see docs/api.md#trash)."""

from __future__ import annotations

import uuid as uuid_lib
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK

from app.domain.audit.schemas import ReasonBody, ReasonQuery, pick_reason
from app.domain.executions.trash import TrashService
from app.lib.identity import CurrentUser
from app.lib.pagination import MAX_PER_PAGE, PageRequest, paginated


def trash_service(request: Request[Any, Any, Any]) -> TrashService:
    return TrashService(request.app.state.services.executions)


class TrashController(Controller):
    path = "/workflow-executions"
    tags = ["Workflow Executions"]

    @get("/trash", summary="List deleted workflow executions (the trash)")
    async def list_trash(
        self,
        request: Request[CurrentUser, Any, Any],
        workspace_uuid: Annotated[uuid_lib.UUID | None, QueryParameter(name="workspace_uuid")] = None,
        page: Annotated[int, QueryParameter(name="page", ge=1, le=1_000_000)] = 1,
        per_page: Annotated[int, QueryParameter(name="per_page", ge=1, le=MAX_PER_PAGE)] = 20,
    ) -> dict[str, Any]:
        """Soft-deleted executions of the workspaces where you operate or administer (or one of
        them), most recently deleted first, with ``deleted_at``, ``deleted_by``, ``deletion_reason``
        and ``can_restore``. They stay here until ``athena purge`` removes them after
        ``TRASH_RETENTION_DAYS``."""
        page_req = PageRequest(page=page, per_page=per_page)
        items, total = await trash_service(request).list(request.user, workspace_uuid, page_req)
        return paginated(request, items, total, page_req)

    @post("/{execution_uuid:uuid}/restore", summary="Restore a deleted workflow execution", status_code=HTTP_200_OK)
    async def restore(
        self,
        request: Request[CurrentUser, Any, Any],
        execution_uuid: FromPath[uuid_lib.UUID],
        reason: ReasonQuery = None,
        data: JSONBody[ReasonBody | None] = None,
    ) -> dict[str, Any]:
        """Bring a soft-deleted execution back with its data, approvals and flags as they were
        (admins; 403 otherwise, 404 foreign or purged, 409 when it is not deleted). Records an
        ``execution.restored`` event and a RESTORE audit row with the optional ``reason``."""
        execution = await trash_service(request).restore(request.user, execution_uuid, pick_reason(data, reason))
        return {"data": execution}
