"""The command room page and the flag / unflag actions, as operators use them (Jinja2 + htmx)."""

from __future__ import annotations

import uuid as uuid_lib
from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template

from app.domain.approvals.schemas import CommandRoomTaskCreate
from app.domain.approvals.services import ApprovalService
from app.domain.audit.schemas import check_reason
from app.domain.dashboard.command_room import command_room
from app.domain.dashboard.services import DashboardService
from app.lib.errors import AppError
from app.lib.identity import CurrentUser
from app.web.errors import error_toast, toast
from app.web.htmx import hx_target
from app.web.page_context import base_context, detail_body
from app.web.pages.command_room.view import RoomView
from app.web.session import provide_page_user

PageUser = NamedDependency[CurrentUser]
MAX_NOTE = 5_000


class CommandRoomPages(Controller):
    include_in_schema = False
    dependencies = {"user": Provide(provide_page_user)}

    @get("/command-room", media_type=MediaType.HTML)
    async def command_room(self, request: Request[Any, Any, Any], user: PageUser) -> Template:
        """Executions flagged for the ops team in the user's workspaces (``?workspace=`` narrows to one)."""
        view = RoomView.from_query(user, request.query_params)
        room = await command_room(request.app.state.services.db, user, view.scope)
        context = base_context(user) | {"room": room, "scope": view.scope, "socket_query": view.socket_query()}
        if hx_target(request) == "command-room-list":
            return Template("command_room/_list.html", context=context)
        return Template("command_room/index.html", context=context)

    @post("/executions/{execution_uuid:uuid}/flag", media_type=MediaType.HTML)
    async def flag(
        self,
        user: PageUser,
        approval_service: NamedDependency[ApprovalService],
        dashboard_service: NamedDependency[DashboardService],
        execution_uuid: FromPath[uuid_lib.UUID],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response[Any]:
        """Flag an execution for the command room with an optional note; answers its page body."""
        note = (data.get("note") or "").strip()
        if len(note) > MAX_NOTE:
            return toast(f"The note is too long (at most {MAX_NOTE:,} characters).")
        try:
            # A separate reason field is optional: without one the note is what the audit log keeps.
            reason = check_reason(data.get("reason") or None)
            body = CommandRoomTaskCreate(execution_uuid=execution_uuid, note=note or None, reason=reason)
            await approval_service.flag(user, body)
        except AppError as exc:
            return error_toast(exc)
        return await detail_body(user, dashboard_service, execution_uuid)

    @post("/command-room/{task_uuid:uuid}/remove", media_type=MediaType.HTML)
    async def remove(
        self,
        request: Request[Any, Any, Any],
        user: PageUser,
        approval_service: NamedDependency[ApprovalService],
        dashboard_service: NamedDependency[DashboardService],
        task_uuid: FromPath[uuid_lib.UUID],
    ) -> Response[Any]:
        """Take an execution out of the command room. From its page (``?execution=``, hx-target
        ``detail-body``) the answer is the page body; from the list it is empty (the row is deleted)."""
        try:
            reason = check_reason((await request.form()).get("reason") or None)
            await approval_service.unflag(user, task_uuid, reason=reason)
        except AppError as exc:
            return error_toast(exc)
        execution = request.query_params.get("execution")
        if hx_target(request) == "detail-body" and execution:
            try:
                return await detail_body(user, dashboard_service, uuid_lib.UUID(execution))
            except ValueError:
                pass
        return Response("", status_code=200, media_type="text/html")
