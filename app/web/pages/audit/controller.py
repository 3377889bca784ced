"""``/audit``: the operator audit log of the user's workspaces, filters in the URL, and its CSV
export. Thin: parse the view (view.py), ask the audit log service, render."""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, get
from litestar.di import NamedDependency, Provide
from litestar.response import Stream, Template

from app.domain.approvals.services import ApprovalService
from app.domain.audit.controllers import csv_download
from app.domain.audit.log import ACTIONS, AuditLogService
from app.lib.identity import CurrentUser
from app.web.page_context import base_context
from app.web.pages.audit.view import AuditView
from app.web.session import provide_page_user

PageUser = NamedDependency[CurrentUser]


class AuditPages(Controller):
    include_in_schema = False
    dependencies = {"user": Provide(provide_page_user)}

    @get("/audit", media_type=MediaType.HTML)
    async def audit(
        self, request: Request[Any, Any, Any], user: PageUser, approval_service: NamedDependency[ApprovalService]
    ) -> Template:
        """The operator audit log of the user's workspaces, newest first, filters in the URL."""
        view = AuditView.from_query(user, request.query_params)
        service = AuditLogService(request.app.state.services.db)
        items, total = await service.page(view.filters, view.page.offset, view.page.per_page)
        context = {
            "items": items,
            "total": total,
            "page": view.page,
            "last_page": view.last_page(total),
            "filters": view.filters,
            "raw": view.typed,
            "actions": ACTIONS,
            "error": view.error,
            "nav": "audit",
        }
        badge = await approval_service.pending_count(user)
        return Template("audit/index.html", context=base_context(user, badge) | context)

    @get("/audit/export.csv", media_type="text/csv")
    async def export(self, request: Request[Any, Any, Any], user: PageUser) -> Stream:
        """The filtered log as CSV, streamed."""
        filters = AuditView.export_filters(user, request.query_params)
        return csv_download(AuditLogService(request.app.state.services.db), filters)
