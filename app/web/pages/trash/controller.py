"""The trash page (restore, purge) and the delete dialog (with its reason, for the audit log)."""

from __future__ import annotations

import uuid as uuid_lib
from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.response import Template
from markupsafe import Markup

from app.domain.approvals.services import ApprovalService
from app.domain.audit.records import REASON_MAX_LENGTH
from app.domain.audit.schemas import check_reason
from app.domain.executions.services import ExecutionService, Includes
from app.domain.executions.trash import TrashService
from app.lib.errors import AppError, ForbiddenError
from app.lib.identity import OPERATE_ROLES, CurrentUser
from app.lib.pagination import PageRequest
from app.web.errors import error_toast, toast
from app.web.page_context import base_context
from app.web.pages.trash.view import TrashView
from app.web.session import provide_page_user
from app.web.templating import page_environment

PageUser = NamedDependency[CurrentUser]


def toast_with_removal(message: str, row_id: str, also: Markup | None = None) -> Response[Any]:
    """A confirmation toast plus an out-of-band removal of the row the action was about (and ``also``,
    more out-of-band markup)."""
    # The row rides in a <template>, as the stop's answer does (pages/executions/stop_dialog.py): the HTML parser
    # drops a bare <tr> that follows the toast's <div>, and the row then never left the trash. htmx
    # swaps out-of-band elements found in templates and removes the emptied template.
    removal = Markup('<template><tr id="{}" hx-swap-oob="delete"></tr></template>').format(row_id)
    return toast(message, error=False, oob=removal + (also or Markup()))


class TrashPages(Controller):
    include_in_schema = False
    dependencies = {"user": Provide(provide_page_user)}

    @get("/executions/trash", media_type=MediaType.HTML)
    async def trash(
        self, request: Request[Any, Any, Any], user: PageUser, approval_service: NamedDependency[ApprovalService]
    ) -> Template:
        """Soft-deleted executions of the workspaces where the user operates, newest deletion first."""
        if not any(a.role in OPERATE_ROLES for a in user.access.values()):
            raise ForbiddenError("The trash is for operators and admins.")
        view = TrashView.from_query(user, request.query_params)
        workspace, page = view.workspace, view.page
        service = TrashService(request.app.state.services.executions)
        items, total = await service.list(user, workspace, page)
        retention = request.app.state.services.settings.trash_retention_days
        context = {
            "items": items,
            "total": total,
            "page": page,
            "last_page": max(1, -(-total // page.per_page)),
            "workspace": str(workspace) if workspace else None,
            "retention_days": retention,
            "reason_max": REASON_MAX_LENGTH,
        }
        badge = await approval_service.pending_count(user)
        return Template("trash/index.html", context=base_context(user, badge) | context)

    @post("/executions/{execution_uuid:uuid}/restore", media_type=MediaType.HTML)
    async def restore(
        self, request: Request[Any, Any, Any], user: PageUser, execution_uuid: FromPath[uuid_lib.UUID]
    ) -> Response[Any]:
        """Restore from the trash (admins); the row leaves the trash list."""
        form = await request.form()
        service = TrashService(request.app.state.services.executions)
        try:
            reason = check_reason(form.get("reason"))
            await service.restore(user, execution_uuid, reason)
        except AppError as exc:
            return error_toast(exc)
        # The page's count follows its rows (it said "7 deleted executions" over 6 until a reload):
        # counted again for the workspace the page shows, the form's hidden field.
        view = TrashView.from_query(user, form)
        _, total = await service.list(user, view.workspace, PageRequest(page=1, per_page=1))
        count = Markup(page_environment(request).get_template("trash/_total.html").render(total=total, oob=True))
        return toast_with_removal("Restored: the execution is back in its lists.", f"trash-{execution_uuid}", count)

    @get("/executions/{execution_uuid:uuid}/delete-dialog", media_type=MediaType.HTML)
    async def delete_dialog(
        self,
        user: PageUser,
        execution_service: NamedDependency[ExecutionService],
        execution_uuid: FromPath[uuid_lib.UUID],
    ) -> Response[Any]:
        """The delete confirmation, with an optional reason for the audit log."""
        try:
            execution = await execution_service.get(user, execution_uuid, Includes())
        except AppError as exc:
            return error_toast(exc)
        return Template("executions/_delete_dialog.html", context={"e": execution, "reason_max": REASON_MAX_LENGTH})
