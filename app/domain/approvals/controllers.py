"""Approval requests and command-room tasks."""

from __future__ import annotations

import uuid as uuid_lib
from typing import Annotated, Any, Literal

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT

from app.domain.approvals.queries import ApprovalFilters
from app.domain.approvals.schemas import (
    ApprovalAssignment,
    ApprovalDecision,
    ApprovalRequest,
    CommandRoomTaskCreate,
    GroupDecision,
)
from app.domain.approvals.services import ApprovalService
from app.domain.audit.schemas import ReasonBody, ReasonQuery, pick_reason
from app.domain.executions.services import ExecutionService
from app.lib.errors import FieldValidationError
from app.lib.identity import CurrentUser
from app.lib.pagination import MAX_PER_PAGE, PageRequest, paginated
from app.lib.params import BOOL_PATTERN, comma_list, comma_list_pattern, one_of_pattern, parse_bool, search_term

APPROVAL_STATUSES = {"pending", "approved", "rejected", "cancelled"}
ME = {"pattern": one_of_pattern(("me",))}  # what ``assigned`` and ``decided_by`` take


def _me_flag(field: str, raw: str | None) -> bool:
    if raw is None or raw.strip() == "":
        return False
    if raw.strip().lower() != "me":
        raise FieldValidationError(field, f"The {field} field only accepts 'me'.")
    return True


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
        execution_service: NamedDependency[ExecutionService],
        workspace_uuid: Annotated[uuid_lib.UUID | None, QueryParameter(name="workspace_uuid")] = None,
        organization_multiplai_id: Annotated[
            str | None, QueryParameter(name="organization_multiplai_id", max_length=191)
        ] = None,
        workflow_uuid: Annotated[uuid_lib.UUID | None, QueryParameter(name="workflow_uuid")] = None,
        status: Annotated[
            list[str] | None,
            QueryParameter(name="status", max_items=4, schema_extra={"pattern": comma_list_pattern(APPROVAL_STATUSES)}),
        ] = None,
        assigned: Annotated[str | None, QueryParameter(name="assigned", max_length=10, schema_extra=ME)] = None,
        decided_by: Annotated[str | None, QueryParameter(name="decided_by", max_length=10, schema_extra=ME)] = None,
        overdue: Annotated[
            str | None, QueryParameter(name="overdue", max_length=5, schema_extra={"pattern": BOOL_PATTERN})
        ] = None,
        search: Annotated[str | None, QueryParameter(name="search", max_length=200)] = None,
        sort_by: Annotated[Literal["requested_at", "due_at"], QueryParameter(name="sort_by")] = "requested_at",
        page: Annotated[int, QueryParameter(name="page", ge=1, le=1_000_000)] = 1,
        per_page: Annotated[int, QueryParameter(name="per_page", ge=1, le=MAX_PER_PAGE)] = 20,
    ) -> dict[str, Any]:
        """Approvals of your workspaces (any role), oldest request first; see docs/api.md for the filters."""
        statuses = comma_list(status)
        if unknown := statuses - APPROVAL_STATUSES:
            raise FieldValidationError("status", f"Unknown status(es): {', '.join(sorted(unknown))}.")
        workspace_ids, workflow_ids = await execution_service.resolve_scope(
            request.user,
            workspace_uuid,
            organization_multiplai_id,
            [workflow_uuid] if workflow_uuid else [],
            required=False,
        )
        filters = ApprovalFilters(
            workspace_ids=workspace_ids,
            statuses=sorted(statuses) or None,
            workflow_ids=workflow_ids,
            assigned_to_me=_me_flag("assigned", assigned),
            decided_by_me=_me_flag("decided_by", decided_by),
            overdue=bool(parse_bool("overdue", overdue)),
            search=search_term(search),
            sort_by=sort_by,
        )
        page_req = PageRequest(page, per_page)
        items, total = await approval_service.inbox(request.user, filters, page_req)
        return paginated(request, items, total, page_req)

    @post("/group/approve", summary="Approve a group of reviews", status_code=HTTP_200_OK)
    async def approve_group(
        self,
        request: Request[CurrentUser, Any, Any],
        approval_service: NamedDependency[ApprovalService],
        data: JSONBody[GroupDecision],
    ) -> dict[str, Any]:
        """Approve many reviews (e.g. a group of identical ones) with one comment. Each is decided on
        its own, with its own audit row and event; refusals (four-eyes, already decided...) are
        reported per item in ``items`` and summed up in ``summary``. Always 200 once the body is valid."""
        return {"data": await approval_service.decide_many(request.user, data.approval_uuids, True, data.comment)}

    @post("/group/reject", summary="Reject a group of reviews", status_code=HTTP_200_OK)
    async def reject_group(
        self,
        request: Request[CurrentUser, Any, Any],
        approval_service: NamedDependency[ApprovalService],
        data: JSONBody[GroupDecision],
    ) -> dict[str, Any]:
        """Reject many reviews with one comment (required); reported per item like the group approve."""
        return {"data": await approval_service.decide_many(request.user, data.approval_uuids, False, data.comment)}

    @get("/{approval_uuid:uuid}", summary="Retrieve an approval with its audit trail")
    async def get_approval(
        self,
        request: Request[CurrentUser, Any, Any],
        approval_service: NamedDependency[ApprovalService],
        approval_uuid: FromPath[uuid_lib.UUID],
    ) -> dict[str, Any]:
        """One approval of your workspaces (any role) with ``audit``: every request, assignment,
        decision and cancellation, oldest first."""
        return {"data": await approval_service.get(request.user, approval_uuid)}

    @post("/{approval_uuid:uuid}/approve", summary="Approve", status_code=HTTP_200_OK)
    async def approve(
        self,
        request: Request[CurrentUser, Any, Any],
        approval_service: NamedDependency[ApprovalService],
        approval_uuid: FromPath[uuid_lib.UUID],
        data: JSONBody[ApprovalDecision | None] = None,
    ) -> dict[str, Any]:
        """Approve a pending approval (approvers and admins). 409 names who decided first."""
        comment = data.comment if data else None
        return {"data": await approval_service.decide(request.user, approval_uuid, True, comment)}

    @post("/{approval_uuid:uuid}/reject", summary="Reject", status_code=HTTP_200_OK)
    async def reject(
        self,
        request: Request[CurrentUser, Any, Any],
        approval_service: NamedDependency[ApprovalService],
        approval_uuid: FromPath[uuid_lib.UUID],
        data: JSONBody[ApprovalDecision | None] = None,
    ) -> dict[str, Any]:
        """Reject a pending approval (approvers and admins); ``comment`` is required. 409 names who decided first."""
        comment = data.comment if data else None
        return {"data": await approval_service.decide(request.user, approval_uuid, False, comment)}

    @post("/{approval_uuid:uuid}/assign", summary="Assign or claim", status_code=HTTP_200_OK)
    async def assign(
        self,
        request: Request[CurrentUser, Any, Any],
        approval_service: NamedDependency[ApprovalService],
        approval_uuid: FromPath[uuid_lib.UUID],
        data: JSONBody[ApprovalAssignment | None] = None,
    ) -> dict[str, Any]:
        """Assign a pending approval to an approver or admin of its workspace; no ``user_email``: claim it."""
        email = data.user_email if data else None
        return {"data": await approval_service.assign(request.user, approval_uuid, email)}


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
        """Flag an execution for the ops team, with an optional note and an optional ``reason`` for
        the operator audit log (without one, the note is recorded there)."""
        return {"data": await approval_service.flag(request.user, data)}

    @delete("/{task_uuid:uuid}", summary="Remove a command room task", status_code=HTTP_204_NO_CONTENT)
    async def unflag(
        self,
        request: Request[CurrentUser, Any, Any],
        approval_service: NamedDependency[ApprovalService],
        task_uuid: FromPath[uuid_lib.UUID],
        reason: ReasonQuery = None,
        data: JSONBody[ReasonBody | None] = None,
    ) -> None:
        """Take an execution out of the command room; optional ``reason`` (query or JSON body, at
        most 1,000 characters) for the operator audit log."""
        await approval_service.unflag(request.user, task_uuid, reason=pick_reason(data, reason))
