"""What several pages share: the page chrome's context and an execution's detail body (the
execution page renders it, and the approvals and command room pages after an action on one)."""

from __future__ import annotations

import datetime as dt
import uuid as uuid_lib
from typing import Any

from litestar import Response
from litestar.response import Template

from app.domain.dashboard.services import DashboardService
from app.lib.errors import AppError
from app.lib.identity import APPROVE_ROLES, OPERATE_ROLES, CurrentUser
from app.web.errors import error_toast
from app.web.graph import layout_graph
from app.web.review_confirm import approve_question


def page_number(raw: str | None) -> int:
    """A ``page`` query parameter: a page number from 1 to 100,000, else 1 (never an error page)."""
    return int(raw) if raw and raw.isdigit() and 0 < int(raw) <= 100_000 else 1


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
    """The execution page's body: the detail, its graph's layout, and the confirmation each
    high-risk review's Approve asks (by review uuid; None where none is asked)."""
    questions = {a["uuid"]: approve_question(a) for a in detail["approvals"]}
    graph = layout_graph(detail["nodes"], detail["edges"], detail["data"])
    return {"d": detail, "graph": graph, "approve_questions": questions}


async def detail_body(user: CurrentUser, dashboard: DashboardService, execution_uuid: uuid_lib.UUID) -> Response[Any]:
    """The execution page's body after an action on it, so the change shows at once."""
    try:
        detail = await dashboard.execution_detail(user, execution_uuid)
    except AppError as exc:
        return error_toast(exc)
    return Template("executions/_detail_body.html", context=base_context(user) | detail_context(detail))
