"""The approver inbox page, the nav badge and the decide / claim actions (Jinja2 + htmx).

Reviews are read and decided through ``ApprovalService``; this module only parses the URL into an
``InboxView``, shapes items for the templates and answers htmx with fragments or toasts.
"""

from __future__ import annotations

import json
import math
import uuid as uuid_lib
from dataclasses import replace
from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template

from app.domain.approvals.services import ApprovalService
from app.domain.dashboard.services import DashboardService
from app.lib.errors import AppError
from app.lib.identity import CurrentUser
from app.lib.pagination import PageRequest
from app.web.errors import error_toast, toast
from app.web.htmx import hx_target
from app.web.page_context import base_context, detail_body
from app.web.pages.approvals.groups import group_entries, group_note
from app.web.pages.approvals.view import PER_PAGE, TABS, InboxView, approvable, valid_uuid
from app.web.review_confirm import approve_question
from app.web.session import provide_page_user

PageUser = NamedDependency[CurrentUser]
MAX_COMMENT = 20_000


def _scalar(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 1000 or value != int(value) else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    return str(value)


def payload_view(payload: Any) -> dict[str, Any] | None:
    """Flat objects read as a definition list; anything nested as pretty JSON (open when short)."""
    if payload is None or payload == {} or payload == []:
        return None
    if isinstance(payload, dict) and all(v is None or isinstance(v, (str, int, float, bool)) for v in payload.values()):
        return {"flat": [(str(k), _scalar(v)) for k, v in payload.items()]}
    text = json.dumps(payload, indent=2, sort_keys=True, default=str, ensure_ascii=False)
    return {"json": text, "lines": text.count("\n") + 1}


def shape(item: dict[str, Any], user: CurrentUser) -> dict[str, Any]:
    """An inbox item as the template wants it: readable payload, workspace name, whether it is mine,
    and why I may not approve it (``approve_blocked``: the four-eyes rule, or I already approved)."""
    names = {str(a.workspace_uuid): a.workspace_name for a in user.access.values()}
    blocked = None
    if item.get("four_eyes") and item.get("triggered_by") == user.email:
        blocked = "You triggered this execution: under the four-eyes rule another approver must approve it."
    elif user.email in (item.get("approved_by") or []):
        blocked = "You already approved it: a second approver must complete it."
    return item | {
        "payload_view": payload_view(item.get("payload")),
        "workspace_name": names.get(item["workspace_uuid"], ""),
        "mine": item.get("assigned_to") == user.email,
        "approve_blocked": blocked,
        "approve_question": approve_question(item),
    }


def _badge(count: int) -> Response[str]:
    hidden = "" if count else " hidden"
    label = f"{count} approval{'s' if count != 1 else ''} waiting for you"
    html = f'<span id="approvals-badge" class="nav-badge" title="{label}"{hidden}>{count}</span>'
    return Response(html, media_type="text/html", headers={"Cache-Control": "no-store"})


class ApprovalPages(Controller):
    include_in_schema = False
    dependencies = {"user": Provide(provide_page_user)}

    @get("/approvals", media_type=MediaType.HTML)
    async def inbox(
        self, request: Request[Any, Any, Any], user: PageUser, approval_service: NamedDependency[ApprovalService]
    ) -> Template:
        """Reviews of the workspaces where I may approve: pending (overdue first, then oldest),
        decided by me, or all decided; filters in the URL."""
        dashboard: DashboardService = request.app.state.services.dashboard
        view = InboxView.from_query(user, request.query_params)
        workflows = await dashboard.workflow_choices(view.workspace_ids)
        picked = next((w for w in workflows if w["uuid"] == view.workflow_uuid), None)
        if picked is None:
            view = replace(view, workflow_uuid=None)
        items: list[dict[str, Any]] = []
        entries: list[dict[str, Any]] = []
        total, overdue, cursor = 0, 0, {}
        if view.workspace_ids:
            cursor = await dashboard.cursor(user, view.workspace_ids)  # first: replay from it covers anything newer
            filters = view.filters([picked["id"]] if picked else None)
            raw, total = await approval_service.inbox(user, filters, PageRequest(view.page, PER_PAGE))
            items = [shape(i, user) for i in raw]
            if view.pending_tab and view.sort == "requested":  # overdue first, then oldest (stable)
                items.sort(key=lambda i: not i["overdue"])
            if view.pending_tab:
                groups = await approval_service.identical_pending(user, raw)
                entries = group_entries(items, groups, lambda i: shape(i, user))
                overdue = await approval_service.overdue_count(
                    user, filters
                )  # the reminder counts what the filters show
        context = {
            "view": view,
            "items": items,
            "entries": entries or [{"item": i} for i in items],
            "overdue_total": overdue,
            "total": total,
            "pages": max(1, math.ceil(total / PER_PAGE)),
            "tabs": TABS,
            "approver_workspaces": approvable(user),
            "workflows": workflows,
            "cursor": cursor,
            "socket_query": "&".join(q for q in ("page=approvals", view.query(page=view.page)) if q),
        }
        count = await approval_service.pending_count(user)  # the nav badge, from the same request as the list
        if hx_target(request) == "approvals-list":
            return Template("approvals/_list.html", context=base_context(user, count) | context | {"badge_oob": True})
        return Template("approvals/index.html", context=base_context(user, count) | context)

    @get("/approvals/badge", media_type=MediaType.HTML)
    async def badge(self, user: PageUser, approval_service: NamedDependency[ApprovalService]) -> Response[str]:
        """The nav badge: how many reviews wait for me (hidden at 0)."""
        return _badge(await approval_service.pending_count(user))

    async def _decide(
        self,
        request: Request[Any, Any, Any],
        user: CurrentUser,
        approvals: ApprovalService,
        dashboard: DashboardService,
        approval_uuid: uuid_lib.UUID,
        approve: bool,
        data: dict[str, str],
    ) -> Response[Any]:
        comment = (data.get("comment") or "").strip()
        if len(comment) > MAX_COMMENT:
            return toast(f"The comment is too long (at most {MAX_COMMENT:,} characters).", status=422)
        try:
            item = await approvals.decide(user, approval_uuid, approve, comment or None)
        except AppError as exc:
            return error_toast(exc)
        if hx_target(request) == "detail-body":
            return await detail_body(user, dashboard, uuid_lib.UUID(item["execution_uuid"]))
        verb = "Approved" if approve else "Rejected"
        note = f"{verb} by you."
        if item["status"] == "pending":  # the first of two approvals: it waits for a second approver
            count = f"{item['approvals_count']} of {item['required_approvals']}"
            note = f"You gave approval {count}: a second approver must complete it."
        html = f'<p class="approval-done approval-{item["status"]}" role="status">{note}</p>'
        return Response(html, media_type="text/html")

    @post("/approvals/{approval_uuid:uuid}/approve", media_type=MediaType.HTML, status_code=200)
    async def approve(
        self,
        request: Request[Any, Any, Any],
        user: PageUser,
        approval_service: NamedDependency[ApprovalService],
        dashboard_service: NamedDependency[DashboardService],
        approval_uuid: FromPath[uuid_lib.UUID],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response[Any]:
        """Approve (the comment is optional). From the inbox the answer is the item's note; from an
        execution page (hx-target ``detail-body``) it is the page body."""
        return await self._decide(request, user, approval_service, dashboard_service, approval_uuid, True, data)

    @post("/approvals/{approval_uuid:uuid}/reject", media_type=MediaType.HTML, status_code=200)
    async def reject(
        self,
        request: Request[Any, Any, Any],
        user: PageUser,
        approval_service: NamedDependency[ApprovalService],
        dashboard_service: NamedDependency[DashboardService],
        approval_uuid: FromPath[uuid_lib.UUID],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response[Any]:
        """Reject; without a comment the service answers 422 and the page shows it as a toast."""
        return await self._decide(request, user, approval_service, dashboard_service, approval_uuid, False, data)

    async def _decide_group(
        self, request: Request[Any, Any, Any], user: CurrentUser, approvals: ApprovalService, approve: bool
    ) -> Response[Any]:
        form = await request.form()
        comment = (form.get("comment") or "").strip()
        if len(comment) > MAX_COMMENT:
            return toast(f"The comment is too long (at most {MAX_COMMENT:,} characters).", status=422)
        uuids = [uuid_lib.UUID(u) for u in (valid_uuid(v) for v in form.getall("approval_uuid", [])) if u]
        try:
            result = await approvals.decide_many(user, uuids, approve, comment or None)
        except AppError as exc:
            return error_toast(exc)
        return Response(group_note(result), media_type="text/html")

    @post("/approvals/group/approve", media_type=MediaType.HTML, status_code=200)
    async def approve_group(
        self, request: Request[Any, Any, Any], user: PageUser, approval_service: NamedDependency[ApprovalService]
    ) -> Response[Any]:
        """Approve a group of identical reviews (``approval_uuid`` repeated) with one comment;
        answers the group's note: what was decided and what was refused, and why."""
        return await self._decide_group(request, user, approval_service, True)

    @post("/approvals/group/reject", media_type=MediaType.HTML, status_code=200)
    async def reject_group(
        self, request: Request[Any, Any, Any], user: PageUser, approval_service: NamedDependency[ApprovalService]
    ) -> Response[Any]:
        """Reject a group of identical reviews with one (required) comment."""
        return await self._decide_group(request, user, approval_service, False)

    @post("/approvals/{approval_uuid:uuid}/claim", media_type=MediaType.HTML, status_code=200)
    async def claim(
        self,
        user: PageUser,
        approval_service: NamedDependency[ApprovalService],
        approval_uuid: FromPath[uuid_lib.UUID],
    ) -> Response[Any]:
        """Assign a pending review to myself; answers the item, re-rendered."""
        try:
            item = await approval_service.assign(user, approval_uuid, None)
        except AppError as exc:
            return error_toast(exc)
        return Template("approvals/_item.html", context=base_context(user) | {"a": shape(item, user)})
