"""Metrics API: executions per time bucket, and per workflow (see docs/api.md#metrics)."""

from __future__ import annotations

import uuid as uuid_lib
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from app.domain.executions.time_axis import TimeAxisParam, parse_time_axis
from app.domain.metrics.buckets import STEP, parse_interval
from app.domain.metrics.services import MetricsScope, MetricsService
from app.lib.identity import CurrentUser
from app.lib.params import one_of_pattern
from app.lib.timefmt import DATE_PATTERN

WorkspaceParam = Annotated[uuid_lib.UUID | None, QueryParameter(name="workspace_uuid")]
OrganizationParam = Annotated[str | None, QueryParameter(name="organization_multiplai_id", max_length=191)]
DateFromParam = Annotated[
    str | None,
    QueryParameter(
        name="date_from",
        max_length=40,
        schema_extra={"pattern": DATE_PATTERN},
        description="YYYY-MM-DD or ISO date-time (UTC); default: see docs",
    ),
]
DateToParam = Annotated[
    str | None,
    QueryParameter(
        name="date_to",
        max_length=40,
        schema_extra={"pattern": DATE_PATTERN},
        description="YYYY-MM-DD (whole day) or ISO date-time; default: now",
    ),
]
IntervalParam = Annotated[
    str | None,
    QueryParameter(
        name="interval",
        max_length=10,
        description="hour, day (default) or week",
        schema_extra={"pattern": one_of_pattern(tuple(STEP))},
    ),
]


class MetricsController(Controller):
    path = "/metrics"
    tags = ["Metrics"]

    @get("/workflow-executions", summary="Get workflow executions metrics")
    async def execution_metrics(
        self,
        request: Request[CurrentUser, Any, Any],
        metrics_service: NamedDependency[MetricsService],
        workspace_uuid: WorkspaceParam = None,
        organization_multiplai_id: OrganizationParam = None,
        date_from: DateFromParam = None,
        date_to: DateToParam = None,
        interval: IntervalParam = None,
        time_axis: TimeAxisParam = None,
    ) -> dict[str, Any]:
        """Executions in the range on ``time_axis`` (created by default; started, stopped, or
        active: counted in every bucket it was running in), per UTC bucket: counts by status, failure rate (failed /
        finished), duration p50/p95 and approval wait p50/p95 in milliseconds; ``summary`` covers the
        whole range. At most 744 buckets."""
        scope = MetricsScope.resolve(
            request.user,
            workspace_uuid=workspace_uuid,
            organization_multiplai_id=organization_multiplai_id,
            date_from=date_from,
            date_to=date_to,
            interval=parse_interval(interval),
            time_axis=parse_time_axis(time_axis),
        )
        return await metrics_service.executions(scope)

    @get("/workflows", summary="Get workflows metrics")
    async def workflow_metrics(
        self,
        request: Request[CurrentUser, Any, Any],
        metrics_service: NamedDependency[MetricsService],
        workspace_uuid: WorkspaceParam = None,
        organization_multiplai_id: OrganizationParam = None,
        date_from: DateFromParam = None,
        date_to: DateToParam = None,
        time_axis: TimeAxisParam = None,
    ) -> dict[str, Any]:
        """Per workflow: executions in the range (on ``time_axis``) by status, failure rate, duration p50/p95 and the
        last run; ``nodes``: runs, errors and duration percentiles per node, from the latest 1,000
        finished executions of the range. The default range is the last 30 days."""
        scope = MetricsScope.resolve(
            request.user,
            workspace_uuid=workspace_uuid,
            organization_multiplai_id=organization_multiplai_id,
            date_from=date_from,
            date_to=date_to,
            interval="day",
            time_axis=parse_time_axis(time_axis),
        )
        return await metrics_service.workflows(scope)
