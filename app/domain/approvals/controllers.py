"""Approval requests and command-room tasks."""

from __future__ import annotations

import uuid as uuid_lib
from typing import Annotated, Any

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT

from app.domain.approvals.schemas import ApprovalRequest, CommandRoomTaskCreate
from app.domain.approvals.services import ApprovalService
from app.lib.errors import FieldValidationError
from app.lib.identity import CurrentUser
from app.lib.pagination import MAX_PER_PAGE, PageRequest, paginated
from app.lib.params import comma_list

APPROVAL_STATUSES = {"pending", "approved", "rejected", "cancelled"}


class ApprovalController(Controller):
    path = "/workflow-approvals"
    tags = ["Workflow Approvals"]

    @post("/", summary="Request a human review", status_code=HTTP_201_CREATED)
    async def request_approval(
        self,
        request: Request[CurrentUser, Any, Any],
        approval_service: NamedDependency[ApprovalService],
        data: JSONBody[ApprovalRequest],
    ) -> dict[str, Any]:
        """An engine asks for a review of a node's output; the execution must be waiting (409 otherwise)."""
        return {"data": await approval_service.request(request.user, data)}

    @get("/", summary="List approvals")
    async def list_approvals(
        self,
        request: Request[CurrentUser, Any, Any],
        approval_service: NamedDependency[ApprovalService],
        workspace_uuid: Annotated[uuid_lib.UUID | None, QueryParameter(name="workspace_uuid")] = None,
        status: Annotated[list[str] | None, QueryParameter(name="status", max_items=4)] = None,
        page: Annotated[int, QueryParameter(name="page", ge=1, le=1_000_000)] = 1,
        per_page: Annotated[int, QueryParameter(name="per_page", ge=1, le=MAX_PER_PAGE)] = 20,
    ) -> dict[str, Any]:
        """Approvals of your workspaces, oldest request first."""
        statuses = comma_list(status)
        if unknown := statuses - APPROVAL_STATUSES:
            raise FieldValidationError("status", f"Unknown status(es): {', '.join(sorted(unknown))}.")
        page_req = PageRequest(page, per_page)
        items, total = await approval_service.list(request.user, workspace_uuid, sorted(statuses) or None, page_req)
        return paginated(request, items, total, page_req)


class CommandRoomController(Controller):
    path = "/command-room-tasks"
    tags = ["Command Room"]

    @post("/", summary="Store a command room task", status_code=HTTP_201_CREATED)
    async def flag(
        self,
        request: Request[CurrentUser, Any, Any],
        approval_service: NamedDependency[ApprovalService],
        data: JSONBody[CommandRoomTaskCreate],
    ) -> dict[str, Any]:
        """Flag an execution for the ops team, with an optional note."""
        return {"data": await approval_service.flag(request.user, data)}

    @delete("/{task_uuid:uuid}", summary="Remove a command room task", status_code=HTTP_204_NO_CONTENT)
    async def unflag(
        self,
        request: Request[CurrentUser, Any, Any],
        approval_service: NamedDependency[ApprovalService],
        task_uuid: FromPath[uuid_lib.UUID],
    ) -> None:
        """Take an execution out of the command room."""
        await approval_service.unflag(request.user, task_uuid)
