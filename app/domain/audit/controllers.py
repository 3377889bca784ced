"""Operator audit log API (see docs/api.md#operator-audit-log)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import QueryParameter
from litestar.response import Stream

from app.domain.audit.log import ACTIONS, AuditFilters, AuditLogService
from app.lib.identity import CurrentUser
from app.lib.pagination import MAX_PER_PAGE, PageRequest, paginated
from app.lib.params import one_of_pattern
from app.lib.timefmt import DATE_PATTERN

Text = Annotated[str | None, QueryParameter(max_length=320)]
UuidText = Annotated[str | None, QueryParameter(max_length=36, format="uuid")]
ActionParam = Annotated[
    str | None,
    QueryParameter(max_length=30, description=", ".join(ACTIONS), schema_extra={"pattern": one_of_pattern(ACTIONS)}),
]


def audit_service(request: Request[Any, Any, Any]) -> AuditLogService:
    return AuditLogService(request.app.state.services.db)


def csv_download(service: AuditLogService, filters: AuditFilters, name: str = "athena-audit.csv") -> Stream:
    return Stream(
        service.csv_chunks(filters),
        media_type="text/csv",  # Litestar adds "; charset=utf-8" to text types
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


class AuditController(Controller):
    path = "/audit"
    tags = ["Operator audit log"]

    @get("/", summary="List operator actions")
    async def list_actions(
        self,
        request: Request[CurrentUser, Any, Any],
        workspace_uuid: UuidText = None,
        action: ActionParam = None,
        actor: Annotated[str | None, QueryParameter(max_length=320, description="Actor's email")] = None,
        execution_uuid: UuidText = None,
        date_from: Annotated[str | None, QueryParameter(max_length=40, schema_extra={"pattern": DATE_PATTERN})] = None,
        date_to: Annotated[str | None, QueryParameter(max_length=40, schema_extra={"pattern": DATE_PATTERN})] = None,
        page: Annotated[int, QueryParameter(ge=1, le=1_000_000)] = 1,
        per_page: Annotated[int, QueryParameter(ge=1, le=MAX_PER_PAGE)] = 50,
    ) -> dict[str, Any]:
        """Who did what to which execution, when and why (stop, delete, restore, purge, flag,
        unflag...), newest first, in the workspaces where you operate or administer (403 if none).
        Filters: ``workspace_uuid``, ``action``, ``actor`` (email), ``execution_uuid``,
        ``date_from`` / ``date_to`` (UTC, inclusive)."""
        filters = AuditFilters.parse(request.user, request.query_params)
        page_req = PageRequest(page=page, per_page=per_page)
        items, total = await audit_service(request).page(filters, page_req.offset, page_req.per_page)
        return paginated(request, items, total, page_req)

    @get("/export", summary="Export operator actions as CSV", media_type="text/csv")
    async def export(
        self,
        request: Request[CurrentUser, Any, Any],
        workspace_uuid: UuidText = None,
        action: ActionParam = None,
        actor: Annotated[str | None, QueryParameter(max_length=320)] = None,
        execution_uuid: UuidText = None,
        date_from: Annotated[str | None, QueryParameter(max_length=40, schema_extra={"pattern": DATE_PATTERN})] = None,
        date_to: Annotated[str | None, QueryParameter(max_length=40, schema_extra={"pattern": DATE_PATTERN})] = None,
    ) -> Stream:
        """The whole filtered log (same filters as the list) as a streamed CSV, newest first."""
        filters = AuditFilters.parse(request.user, request.query_params)
        return csv_download(audit_service(request), filters)
