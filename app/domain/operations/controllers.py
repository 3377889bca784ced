"""Bulk actions and tracked operations API (docs/api.md, "Bulk actions and operations")."""

from __future__ import annotations

import uuid as uuid_lib
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED

from app.domain.operations.schemas import BulkRequest
from app.domain.operations.services import OperationService
from app.lib.identity import CurrentUser


class BulkActionController(Controller):
    path = "/workflow-executions"
    tags = ["Workflow Executions"]

    @post(
        "/bulk",
        summary="Bulk stop, delete or retry request (with a dry run)",
        status_code=HTTP_200_OK,
        responses={
            HTTP_202_ACCEPTED: ResponseSpec(
                data_container=dict[str, Any], description="The operation, started in the background"
            )
        },
    )
    async def bulk(
        self,
        request: Request[CurrentUser, Any, Any],
        operation_service: NamedDependency[OperationService],
        data: JSONBody[BulkRequest],
    ) -> Response[Any]:
        """Act on ``ids`` or on every execution matching ``filter`` (snapshotted now).

        ``dry_run: true`` answers what would happen (affected executions, cascade reach, approvals
        and command-room tasks cancelled, skipped items with reasons) and changes nothing. Otherwise
        the action becomes a tracked operation (answer 202 with it) applied in the background; over
        100 executions it needs ``confirm_count`` equal to their number (422 otherwise). One open
        operation per user and workspace (409 naming it)."""
        user = request.user
        uuids = await operation_service.snapshot(user, data.ids, data.filter)
        if data.dry_run:
            return Response({"data": await operation_service.dry_run(user, data.action, uuids)}, status_code=200)
        operation = await operation_service.start(user, data.action, uuids, data.reason, data.confirm_count)
        return Response({"data": operation}, status_code=202)


class OperationController(Controller):
    path = "/operations"
    tags = ["Operations"]

    @get("/", summary="Your recent bulk operations")
    async def list_operations(
        self,
        request: Request[CurrentUser, Any, Any],
        operation_service: NamedDependency[OperationService],
        limit: Annotated[int, QueryParameter(name="limit", ge=1, le=100)] = 20,
    ) -> dict[str, Any]:
        """Your latest bulk operations, newest first (progress and counts, no per-execution report)."""
        return {"data": await operation_service.recent(request.user, limit)}

    @get("/{operation_uuid:uuid}", summary="An operation's progress and report")
    async def get_operation(
        self,
        request: Request[CurrentUser, Any, Any],
        operation_service: NamedDependency[OperationService],
        operation_uuid: FromPath[uuid_lib.UUID],
    ) -> dict[str, Any]:
        """Status (queued, running, done, failed), counts, and each execution's outcome and reason."""
        return {"data": await operation_service.get(request.user, operation_uuid)}
