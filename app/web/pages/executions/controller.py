"""The executions list (``/executions``) and the actions on its rows: stop (with its preview
dialog), delete, bulk. Thin: parse the view, call the services, render (live updates: live.py)."""

from __future__ import annotations

import uuid as uuid_lib
from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from app.domain.approvals.services import ApprovalService
from app.domain.audit.records import REASON_MAX_LENGTH
from app.domain.audit.schemas import check_reason
from app.domain.dashboard.services import DashboardService
from app.domain.executions.services import ExecutionService
from app.lib.errors import AppError, ConflictError, FieldValidationError
from app.lib.identity import CurrentUser
from app.web.errors import error_toast, toast
from app.web.htmx import hx_target
from app.web.landing import landing_path
from app.web.page_context import base_context
from app.web.pages.executions.list_page import ListPageBodies, page_response
from app.web.pages.executions.stop_dialog import confirmed_counts_changed, stop_dialog, stopped_answer
from app.web.pages.executions.view import PER_PAGE, ExecutionView
from app.web.session import provide_page_user
from app.web.templating import page_environment

PageUser = NamedDependency[CurrentUser]


class ExecutionPages(Controller):
    include_in_schema = False
    dependencies = {"user": Provide(provide_page_user)}

    @get("/", media_type=MediaType.HTML)
    async def home(self, user: PageUser) -> Redirect:
        """Where the user lands: their approvals inbox for approvers, else the executions list."""
        return Redirect(landing_path(user), status_code=302)

    @get("/executions", media_type=MediaType.HTML)
    async def executions(self, request: Request[Any, Any, Any], user: PageUser) -> Response[Any]:
        """The list. Its services come from the app state, not as dependencies: Litestar resolves
        two or more dependencies in a task group, a tenth of a cached page's CPU."""
        services = request.app.state.services
        dashboard: DashboardService = services.dashboard
        if not request.query_params and (default := await dashboard.saved_views.default_query(user)):
            return Redirect(f"/executions?{default}", status_code=303)  # the URL carries the whole state
        view = ExecutionView.from_query(user, request.query_params)
        # The hub's sequence numbers, when it watches the view's workspaces, spare the query for them.
        page = await dashboard.execution_page(
            view, services.hub.known_seqs(view.workspace_ids), services.hub.written_here
        )
        page = await dashboard.with_elsewhere(user, view, page)  # an id searched here that lives elsewhere
        context = {"view": view, "page": page, "per_page": PER_PAGE}
        if (target := hx_target(request)) in ("results", "live"):
            # "live": the results with a fresh socket, so the server learns the rows now shown
            partial = "_live.html" if target == "live" else "_results.html"
            return Template(f"executions/{partial}", context=base_context(user) | context)
        approvals: ApprovalService = services.approvals
        chrome = base_context(user, await approvals.pending_count(user, services.hub.known_seqs))
        bodies: ListPageBodies = request.app.state.list_bodies
        env = page_environment(request)
        return page_response(request, env, chrome, bodies.body(env, user, view, page, chrome | context))

    @get("/executions/{execution_uuid:uuid}/stop-preview", media_type=MediaType.HTML)
    async def stop_preview(
        self,
        user: PageUser,
        execution_service: NamedDependency[ExecutionService],
        execution_uuid: FromPath[uuid_lib.UUID],
    ) -> Response[Any]:
        """The confirmation dialog: names what the cascade would cancel before anything happens."""
        try:
            return await stop_dialog(user, execution_uuid, execution_service)
        except AppError as exc:
            return error_toast(exc)

    @post("/executions/bulk", media_type=MediaType.HTML)
    async def bulk(
        self,
        user: PageUser,
        execution_service: NamedDependency[ExecutionService],
        data: URLEncodedBody[dict[str, Any]],
    ) -> Response[Any]:
        """Stop or delete the selected rows; each one is checked and reported on its own."""
        action = data.get("action")
        raw_ids = data.get("ids") or []
        ids = raw_ids if isinstance(raw_ids, list) else [raw_ids]
        if action not in ("stop", "delete") or not ids:
            return toast("Select executions and an action first.")
        done, skipped = 0, []
        for raw in ids[:500]:
            try:
                target = uuid_lib.UUID(str(raw))
                if action == "stop":
                    done += (await execution_service.stop(user, target)).stopped
                else:
                    await execution_service.delete(user, target)
                    done += 1
            except (ValueError, AppError) as exc:
                skipped.append(getattr(exc, "message", "not a valid id"))
        verb = "Stopped" if action == "stop" else "Deleted"
        note = f"{verb} {done} execution{'s' if done != 1 else ''}."
        if skipped:
            note += f" Skipped {len(skipped)}: {skipped[0]}"
        return toast(note, error=not done and bool(skipped))

    @post("/executions/{execution_uuid:uuid}/stop", media_type=MediaType.HTML)
    async def stop(
        self,
        request: Request[Any, Any, Any],
        user: PageUser,
        execution_service: NamedDependency[ExecutionService],
        execution_uuid: FromPath[uuid_lib.UUID],
    ) -> Response[Any]:
        """The stop dialog's confirm. Its answer shows the outcome by itself: what stopped, and the
        execution's new status where the page shows it; a refusal answers the dialog again, saying
        why (the counts changed, or it finished meanwhile)."""
        form = await request.form()
        reason = form.get("reason") or None
        try:
            if reason is not None and len(reason) > REASON_MAX_LENGTH:
                raise FieldValidationError("reason", f"Keep the reason under {REASON_MAX_LENGTH} characters.")
            preview = await execution_service.preview_stop(user, execution_uuid)
            # The user confirmed other numbers: show them. (Finished meanwhile: the stop says so.)
            if preview.stoppable and confirmed_counts_changed(preview, form):
                return await stop_dialog(user, execution_uuid, execution_service, changed=True)
            result = await execution_service.stop(user, execution_uuid, reason)
        except ConflictError as exc:  # finished meanwhile: the dialog shows it as it is now, and why
            return await _refused(user, execution_uuid, execution_service, exc)
        except AppError as exc:
            return error_toast(exc)
        return stopped_answer(request, page_environment(request), user, result)

    @post("/executions/{execution_uuid:uuid}/delete", media_type=MediaType.HTML)
    async def delete(
        self,
        request: Request[Any, Any, Any],
        user: PageUser,
        execution_service: NamedDependency[ExecutionService],
        execution_uuid: FromPath[uuid_lib.UUID],
    ) -> Response[Any]:
        """Soft delete from the delete dialog, with its optional reason (for the audit log)."""
        try:
            reason = check_reason((await request.form()).get("reason"))
            await execution_service.delete(user, execution_uuid, reason=reason)
        except AppError as exc:
            return error_toast(exc)
        return Response("", status_code=200, media_type="text/html")


async def _refused(
    user: CurrentUser, execution_uuid: uuid_lib.UUID, executions: ExecutionService, refusal: AppError
) -> Response[Any]:
    try:
        return await stop_dialog(user, execution_uuid, executions, note=refusal.message)
    except AppError as exc:  # gone meanwhile (deleted, access revoked)
        return error_toast(exc)
