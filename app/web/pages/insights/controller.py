"""The insights page (``/insights``) and its live part (``/insights/current``).

The current interval refreshes by polling (``hx-trigger="every 10s"``), not over the page socket:
its numbers are an aggregate that changes with every event (several a second under load), so a
socket would have to throttle anyway, and a poll of one bucket costs one small indexed query per
open page per 10 s whatever the event rate (measured in docs/benchmarks.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, MediaType, Request, Response, get
from litestar.di import NamedDependency, Provide
from litestar.plugins.htmx import ClientRefresh
from litestar.response import Template

from app.domain.approvals.services import ApprovalService
from app.domain.executions.time_axis import AXIS_LABELS
from app.domain.metrics.buckets import truncate
from app.domain.metrics.services import MetricsService
from app.lib.identity import CurrentUser
from app.lib.timefmt import iso
from app.web.page_context import base_context
from app.web.pages.insights.board import bucket_label, build_insights, current_bar
from app.web.pages.insights.view import RANGES, InsightsView
from app.web.session import provide_page_user

PageUser = NamedDependency[CurrentUser]
POLL_SECONDS = 10
# "Executions <phrase> <range>" above the cards.
AXIS_PHRASES = {
    "created": "created",
    "started": "started",
    "stopped": "stopped",
    "active": "running at some point (counted in every interval they ran in)",
}


def _int(raw: str | None, default: int, low: int, high: int) -> int:
    try:
        return max(low, min(high, int(raw or default)))
    except ValueError:
        return default


def current_context(
    view: InsightsView, bucket: dict[str, Any], bars: int, y_max: int, *, oob: bool = False
) -> dict[str, Any]:
    """The live panel: the current interval's numbers, the poll URL and the bar on the page's scale."""
    return {
        "view": view,
        "current": bucket | {"label": bucket_label(bucket["bucket"], view.interval)},
        "poll_url": f"/insights/current?{view.query(bars=bars, ymax=y_max, bucket=bucket['bucket'])}",
        "poll_seconds": POLL_SECONDS,
        "bar": current_bar(bucket, view.interval, bars, y_max, oob=oob),
    }


class InsightsPages(Controller):
    include_in_schema = False
    dependencies = {"user": Provide(provide_page_user)}

    @get("/insights", media_type=MediaType.HTML)
    async def insights(
        self,
        request: Request[Any, Any, Any],
        user: PageUser,
        metrics_service: NamedDependency[MetricsService],
        approval_service: NamedDependency[ApprovalService],
    ) -> Template:
        """Charts of the executions of a workspace or organization over a range (all in the URL)."""
        view = InsightsView.from_query(user, request.query_params)
        scope = view.scope()
        executions = await metrics_service.executions(scope)
        workflows = await metrics_service.workflows(scope)
        page = build_insights(view, executions, workflows)
        live = None
        if page["current"] is not None:
            live = current_context(view, page["current"], page["bars"], int(page["y_max"]))
        badge = await approval_service.pending_count(user)
        context = {
            "view": view,
            "page": page,
            "live": live,
            "ranges": RANGES,
            "axis_labels": AXIS_LABELS,
            "axis_phrases": AXIS_PHRASES,
        }
        return Template("insights/index.html", context=base_context(user, badge) | context)

    @get("/insights/current", media_type=MediaType.HTML)
    async def current(
        self, request: Request[Any, Any, Any], user: PageUser, metrics_service: NamedDependency[MetricsService]
    ) -> Response[Any]:
        """The current interval, re-counted: the live panel, its table row and its bar (out of band).
        When a new interval has begun since the page was drawn, the page reloads instead."""
        view = InsightsView.from_query(user, request.query_params)
        now = dt.datetime.now(dt.UTC)
        if not view.is_live or request.query_params.get("bucket") != iso(truncate(now, view.interval)):
            return ClientRefresh()
        result = await metrics_service.executions(view.scope().current(now))
        bars = _int(request.query_params.get("bars"), 1, 1, 1000)
        y_max = _int(request.query_params.get("ymax"), 1, 1, 10**12)
        context = current_context(view, result["data"][-1], bars, y_max, oob=True)
        return Template("insights/_current.html", context=context | {"oob": True})
