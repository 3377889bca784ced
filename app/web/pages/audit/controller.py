"""``/audit``: the operator audit log of the user's workspaces, filters in the URL, and its CSV
export. Thin: parse the filters, ask the audit log service, render."""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, get
from litestar.di import NamedDependency, Provide
from litestar.response import Stream, Template

from app.domain.approvals.services import ApprovalService
from app.domain.audit.controllers import csv_download
from app.domain.audit.log import ACTIONS, AuditFilters, AuditLogService
from app.lib.errors import FieldValidationError
from app.lib.identity import CurrentUser
from app.lib.pagination import PageRequest
from app.web.page_context import base_context, page_number
from app.web.session import provide_page_user

PageUser = NamedDependency[CurrentUser]
AUDIT_PER_PAGE = 50


class AuditPages(Controller):
    include_in_schema = False
    dependencies = {"user": Provide(provide_page_user)}

    @get("/audit", media_type=MediaType.HTML)
    async def audit(
        self, request: Request[Any, Any, Any], user: PageUser, approval_service: NamedDependency[ApprovalService]
    ) -> Template:
        """The operator audit log of the user's workspaces, newest first, filters in the URL."""
        params = request.query_params
        error = None
        try:
            filters = AuditFilters.parse(user, params)
        except FieldValidationError as exc:
            # A bad filter shows its message above an empty list rather than an error page.
            error, filters = exc.message, AuditFilters([-1])
        page = PageRequest(page=page_number(params.get("page")), per_page=AUDIT_PER_PAGE)
        items, total = await AuditLogService(request.app.state.services.db).page(filters, page.offset, page.per_page)
        context = {
            "items": items,
            "total": total,
            "page": page,
            "last_page": max(1, -(-total // page.per_page)),
            "filters": filters,
            "raw": {k: params.get(k) or "" for k in ("actor", "execution_uuid", "date_from", "date_to")},
            "actions": ACTIONS,
            "error": error,
            "nav": "audit",
        }
        badge = await approval_service.pending_count(user)
        return Template("audit/index.html", context=base_context(user, badge) | context)

    @get("/audit/export.csv", media_type="text/csv")
    async def export(self, request: Request[Any, Any, Any], user: PageUser) -> Stream:
        """The filtered log as CSV, streamed."""
        filters = AuditFilters.parse(user, request.query_params)
        return csv_download(AuditLogService(request.app.state.services.db), filters)
