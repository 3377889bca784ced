"""Bulk actions on the executions page: select all matching, preview (the dry run), confirm, and
the operation's progress bar and report (polled every second; shown again after a reload)."""

from __future__ import annotations

import datetime as dt
import uuid as uuid_lib
from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Template

from app.domain.dashboard.services import DashboardService
from app.domain.operations.services import OperationService
from app.lib.errors import AppError
from app.lib.identity import CurrentUser
from app.web.errors import error_toast, toast
from app.web.pages.operations.view import BulkForm, OperationsView
from app.web.session import provide_page_user

PageUser = NamedDependency[CurrentUser]
REPORT_KEPT = dt.timedelta(minutes=10)
VERBS = {"stop": "Stop", "delete": "Delete", "retry_request": "Request a retry of"}
PAST = {"stop": "stopped", "delete": "deleted", "retry_request": "asked to retry"}


async def _snapshot(bulk: BulkForm, user: CurrentUser, operations: OperationService) -> list[str]:
    """The selection the form names: a saved "all matching" snapshot, else the ticked rows."""
    if bulk.selection_uuid is not None:
        return await operations.selection(user, bulk.selection_uuid)
    return await operations.snapshot(user, list(bulk.ids), None)


def progress(operation: dict[str, Any]) -> Template:
    context = {"o": operation, "verb": VERBS.get(operation["action"], operation["action"]), "past": PAST}
    return Template("executions/_operation_progress.html", context=context)


class OperationPages(Controller):
    include_in_schema = False
    dependencies = {"user": Provide(provide_page_user)}

    @post("/executions/bulk/select-matching", media_type=MediaType.HTML)
    async def select_matching(
        self,
        request: Request[Any, Any, Any],
        user: PageUser,
        dashboard_service: NamedDependency[DashboardService],
        operation_service: NamedDependency[OperationService],
    ) -> Response[Any]:
        """Snapshot the ids of every execution matching the page's filter (its query string)."""
        view = OperationsView.from_query(user, request.query_params)
        try:
            uuids = await operation_service.matching_uuids(await dashboard_service.list_filters(view.matching))
            selection, count = await operation_service.save_selection(user, uuids)
        except AppError as exc:
            return error_toast(exc)
        context = {"selection": selection, "count": count, "query": view.query()}
        return Template("executions/_selection.html", context=context)

    @post("/executions/bulk/preview", media_type=MediaType.HTML)
    async def preview(
        self, request: Request[Any, Any, Any], user: PageUser, operation_service: NamedDependency[OperationService]
    ) -> Response[Any]:
        """The dry run in a dialog: what would change, what would be skipped and why."""
        try:
            bulk = BulkForm.parse(await request.form())
            uuids = await _snapshot(bulk, user, operation_service)
            if not uuids:
                return toast("Select executions first.")
            plan = await operation_service.dry_run(user, bulk.action, uuids)
            selection = bulk.selection or (await operation_service.save_selection(user, uuids))[0]
        except AppError as exc:
            return error_toast(exc)
        context = {
            "p": plan,
            "action": bulk.action,
            "verb": VERBS[bulk.action],
            "past": PAST[bulk.action],
            "reason": bulk.reason or "",
            "selection": selection,
        }
        return Template("executions/_bulk_preview.html", context=context)

    @post("/executions/bulk/run", media_type=MediaType.HTML)
    async def run(
        self, request: Request[Any, Any, Any], user: PageUser, operation_service: NamedDependency[OperationService]
    ) -> Response[Any]:
        """Start the tracked operation on the previewed snapshot; answers its progress bar."""
        try:
            bulk = BulkForm.parse(await request.form())
            uuids = await _snapshot(bulk, user, operation_service)
            operation = await operation_service.start(user, bulk.action, uuids, bulk.reason, bulk.confirm_count)
        except AppError as exc:
            return error_toast(exc)
        return progress(operation)

    @get("/executions/operations/current", media_type=MediaType.HTML)
    async def current(self, user: PageUser, operation_service: NamedDependency[OperationService]) -> Response[Any]:
        """Your running operation (or the report of one that just finished), so a reload keeps it."""
        operation = await operation_service.latest(user, REPORT_KEPT)
        if operation is None:
            return Response("", media_type=MediaType.HTML)
        return progress(operation)

    @get("/executions/operations/{operation_uuid:uuid}", media_type=MediaType.HTML)
    async def poll(
        self,
        user: PageUser,
        operation_service: NamedDependency[OperationService],
        operation_uuid: FromPath[uuid_lib.UUID],
    ) -> Response[Any]:
        try:
            operation = await operation_service.get(user, operation_uuid)
        except AppError as exc:
            return error_toast(exc)
        return progress(operation)
