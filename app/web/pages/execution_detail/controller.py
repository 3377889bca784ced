"""``GET /executions/{ref}``: an execution's page, found by its uuid or an id fragment. Thin: look
the reference up, ask the dashboard service for the detail, render (live updates: live.py)."""

from __future__ import annotations

import uuid as uuid_lib
from typing import Any

from litestar import Controller, MediaType, Request, Response, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.domain.approvals.services import ApprovalService
from app.domain.dashboard.services import DashboardService
from app.lib.errors import NotFoundError
from app.lib.identity import CurrentUser
from app.web.htmx import hx_target
from app.web.page_context import base_context, detail_context
from app.web.pages.execution_detail.view import DetailView
from app.web.session import provide_page_user

PageUser = NamedDependency[CurrentUser]


class ExecutionDetailPages(Controller):
    include_in_schema = False
    dependencies = {"user": Provide(provide_page_user)}

    @get("/executions/{execution_ref:str}", media_type=MediaType.HTML)
    async def execution_detail(
        self,
        request: Request[Any, Any, Any],
        user: PageUser,
        dashboard_service: NamedDependency[DashboardService],
        approval_service: NamedDependency[ApprovalService],
        execution_ref: FromPath[str],
    ) -> Response[Any]:
        """An execution's page. ``execution_ref``: its uuid, or any id fragment the lists show (see
        ``id_search``): one match redirects to its canonical page, several list the matches."""
        view = DetailView.from_path(user, execution_ref, request.query_params)
        found = await dashboard_service.lookup(user, view.ref)
        if not found.matches:
            raise NotFoundError("Workflow execution")
        if found.single is None:
            badge = await approval_service.pending_count(user)
            context = {"matches": found.matches, "ref": view.ref}
            return Template("executions/matches.html", context=base_context(user, badge) | context)
        if not found.exact:
            return Redirect(f"/executions/{found.single['uuid']}", status_code=302)
        execution_uuid = uuid_lib.UUID(found.single["uuid"])
        detail = await dashboard_service.execution_detail(user, execution_uuid)
        context = detail_context(detail)
        if hx_target(request) == "detail-body":
            return Template("executions/_detail_body.html", context=base_context(user) | context)
        badge = await approval_service.pending_count(user)
        return Template("executions/detail.html", context=base_context(user, badge) | context)
