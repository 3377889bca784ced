"""Server-rendered pages (Jinja2 + htmx). Handlers stay thin: services build plain view models."""

from __future__ import annotations

import datetime as dt
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
from app.domain.dashboard.views import PER_PAGE, ExecutionView
from app.domain.executions.services import ExecutionService, Includes
from app.domain.operations.services import OperationService
from app.lib.errors import AppError, FieldValidationError, NotFoundError
from app.lib.identity import APPROVE_ROLES, OPERATE_ROLES, CurrentUser
from app.lib.ratelimit import RateLimited
from app.lib.security import HashingBusy
from app.web.errors import error_toast, toast
from app.web.graph import layout_graph
from app.web.htmx import hx_target
from app.web.landing import landing_path
from app.web.list_page import ListPageBodies, page_response
from app.web.session import (
    SESSION_LIFETIME,
    cleared_session_cookie,
    provide_page_user,
    safe_next,
    session_cookie,
    session_user,
)

PageUser = NamedDependency[CurrentUser]


def _secure(request: Request[Any, Any, Any]) -> bool:
    return request.app.state.services.settings.session_cookie_secure


def base_context(user: CurrentUser, approvals_pending: int | None = None) -> dict[str, Any]:
    """What every page needs. ``approvals_pending`` is the nav badge's count (from
    ``ApprovalService.pending_count``, one COUNT per full page); pages that leave it out load the
    badge after render, and users who may approve nowhere get 0 without a query."""
    operable = sorted(str(a.workspace_uuid) for a in user.access.values() if a.role in OPERATE_ROLES)
    if approvals_pending is None and not any(a.role in APPROVE_ROLES for a in user.access.values()):
        approvals_pending = 0
    return {
        "user": user,
        "approvals_pending": approvals_pending,
        "can_operate": bool(operable),
        "operable": operable,
        "workspaces": sorted(user.access.values(), key=lambda a: (a.organization_multiplai_id, a.workspace_name)),
        "now": dt.datetime.now(dt.UTC),
    }


def detail_context(detail: dict[str, Any]) -> dict[str, Any]:
    return {"d": detail, "graph": layout_graph(detail["nodes"], detail["edges"], detail["data"])}


async def detail_body(user: CurrentUser, dashboard: DashboardService, execution_uuid: uuid_lib.UUID) -> Response[Any]:
    """The execution page's body after an action on it, so the change shows at once."""
    try:
        detail = await dashboard.execution_detail(user, execution_uuid)
    except AppError as exc:
        return error_toast(exc)
    return Template("executions/_detail_body.html", context=base_context(user) | detail_context(detail))


class AuthPages(Controller):
    include_in_schema = False

    @get("/sign-in", media_type=MediaType.HTML)
    async def sign_in_form(self, request: Request[Any, Any, Any]) -> Any:
        asked = request.query_params.get("next")
        user = await session_user(request)
        if user is not None:
            return Redirect(safe_next(asked) if asked else landing_path(user), status_code=303)
        # No next asked: the form sends none, and the user lands by role (app/web/landing.py).
        return Template("sign_in.html", context={"next": safe_next(asked) if asked else "", "error": None})

    @post("/sign-in", media_type=MediaType.HTML)
    async def sign_in(self, request: Request[Any, Any, Any], data: URLEncodedBody[dict[str, str]]) -> Any:
        services = request.app.state.services
        target = safe_next(data.get("next")) if data.get("next") else ""
        email, address = data.get("email", ""), request.client.host if request.client else None
        try:
            await services.sign_in_guard.attempt(email, address)
        except RateLimited as exc:
            context = {"next": target, "error": exc.message, "email": email}
            return Template("sign_in.html", context=context, status_code=429, headers=exc.headers)
        try:
            user_id = await services.accounts.check_password(email, data.get("password", ""))
        except HashingBusy as exc:
            context = {"next": target, "error": exc.message, "email": email}
            return Template("sign_in.html", context=context, status_code=503, headers=exc.headers)
        except AppError:
            context = {"next": target, "error": "Wrong email or password.", "email": email}
            return Template("sign_in.html", context=context, status_code=422)
        await services.sign_in_guard.succeeded(email, address)
        target = target or landing_path(await services.accounts.load_user(user_id))
        token = await services.accounts.create_token(
            user_id, name="web session", expires_at=dt.datetime.now(dt.UTC) + SESSION_LIFETIME
        )
        return Redirect(target, status_code=303, cookies=[session_cookie(token, secure=_secure(request))])

    @post("/sign-out", media_type=MediaType.HTML)
    async def sign_out(self, request: Request[Any, Any, Any]) -> Redirect:
        services = request.app.state.services
        user = await session_user(request)
        if user is not None and user.token_id is not None:
            await services.accounts.revoke_token(user.token_id)
        return Redirect("/sign-in", status_code=303, cookies=[cleared_session_cookie(secure=_secure(request))])


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
        env = request.app.template_engine.engine
        return page_response(request, env, chrome, bodies.body(env, user, view, page, chrome | context))

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
        found = await dashboard_service.lookup(user, execution_ref)
        if not found.matches:
            raise NotFoundError("Workflow execution")
        if found.single is None:
            badge = await approval_service.pending_count(user)
            context = {"matches": found.matches, "ref": execution_ref}
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

    @get("/executions/{execution_uuid:uuid}/stop-preview", media_type=MediaType.HTML)
    async def stop_preview(
        self,
        user: PageUser,
        execution_service: NamedDependency[ExecutionService],
        operation_service: NamedDependency[OperationService],
        execution_uuid: FromPath[uuid_lib.UUID],
    ) -> Response[Any]:
        """The confirmation dialog: names what the cascade would cancel before anything happens."""
        try:
            preview = await execution_service.preview_stop(user, execution_uuid)
            execution = await execution_service.get(user, execution_uuid, Includes())
            plan = await operation_service.dry_run(user, "stop", [str(execution_uuid)])
        except AppError as exc:
            return error_toast(exc)
        return Template("executions/_stop_dialog.html", context={"p": preview, "e": execution, "plan": plan})

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
        reason = (await request.form()).get("reason") or None
        try:
            if reason is not None and len(reason) > REASON_MAX_LENGTH:
                raise FieldValidationError("reason", f"Keep the reason under {REASON_MAX_LENGTH} characters.")
            result = await execution_service.stop(user, execution_uuid, reason)
        except AppError as exc:
            return error_toast(exc)
        return Template("executions/_row.html", context={"row": result.execution, "now": dt.datetime.now(dt.UTC)})

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
