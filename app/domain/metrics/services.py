"""Metrics of workflow executions for the API and the insights page (plain dicts, UTC buckets)."""

from __future__ import annotations

import datetime as dt
import uuid as uuid_lib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import Database
from app.db.models import Workflow, Workspace
from app.domain.executions.state import STATUS_VALUES
from app.domain.executions.time_axis import axis_column
from app.domain.metrics import queries as mq
from app.domain.metrics.active import active_stats
from app.domain.metrics.buckets import (
    DEFAULT_SPAN,
    STEP,
    bucket_expr,
    bucket_key,
    bucket_starts,
    millis_between,
    ms,
    rate,
    truncate,
)
from app.domain.metrics.nodes import node_metrics
from app.lib.errors import FieldValidationError, NotFoundError
from app.lib.identity import CurrentUser
from app.lib.timefmt import iso, parse_date_param

E, A = mq.E, mq.A


@dataclass(frozen=True)
class MetricsScope:
    """Which workspaces, which range (inclusive, UTC) and which bucket size."""

    workspace_ids: list[int]
    date_from: dt.datetime
    date_to: dt.datetime
    interval: str
    time_axis: str = "created"

    @classmethod
    def resolve(
        cls,
        user: CurrentUser,
        *,
        workspace_uuid: uuid_lib.UUID | None,
        organization_multiplai_id: str | None,
        date_from: str | None,
        date_to: str | None,
        interval: str,
        now: dt.datetime | None = None,
        time_axis: str = "created",
    ) -> MetricsScope:
        """Tenant rules as for the executions list: a workspace of yours (else 404), or your
        workspaces of an organization (none: 404); the workspace wins over the organization."""
        if workspace_uuid is not None:
            workspace_ids = [user.workspace_by_uuid(workspace_uuid).workspace_id]
        elif organization_multiplai_id:
            workspace_ids = user.workspace_ids_of_organization(organization_multiplai_id)
            if not workspace_ids:
                raise NotFoundError("Organization")
        else:
            raise FieldValidationError(
                "workspace_uuid", "One of workspace_uuid or organization_multiplai_id is required."
            )
        now = now or dt.datetime.now(dt.UTC)
        end = parse_date_param("date_to", date_to, end_of_day=True) if date_to else now
        start = (
            parse_date_param("date_from", date_from)
            if date_from
            else truncate(end - DEFAULT_SPAN[interval] + STEP[interval], interval)
        )
        if start > end:
            raise FieldValidationError("date_to", "The date_to field must be a date after or equal to date_from.")
        bucket_starts(start, end, interval)  # 422 when the range holds too many buckets
        return cls(workspace_ids, start, end, interval, time_axis)

    def current(self, now: dt.datetime | None = None) -> MetricsScope:
        """The same scope narrowed to the bucket holding ``now`` (the live part of the page)."""
        now = now or dt.datetime.now(dt.UTC)
        return MetricsScope(self.workspace_ids, truncate(now, self.interval), now, self.interval, self.time_axis)


def status_counts(counts: dict[str, int]) -> dict[str, Any]:
    by_status = {s: counts.get(s, 0) for s in STATUS_VALUES}
    total = sum(by_status.values())
    finished = sum(by_status[s] for s in mq.FINISHED)
    return {"total": total, "by_status": by_status, "failure_rate": rate(by_status["failed"], finished)}


def spread_json(spread: mq.Spread | None) -> dict[str, Any]:
    spread = spread or mq.Spread()
    return {"p50": ms(spread.p50), "p95": ms(spread.p95), "count": spread.n}


# Percentiles sort a month of durations (~5 MB at 125k executions): keep that sort in memory.
PG_WORK_MEM = "64MB"
# Node metrics read the node runs (JSON) of this many of the range's latest finished executions.
NODE_SAMPLE = 1000


class MetricsService:
    def __init__(self, db: Database) -> None:
        self.db = db

    @asynccontextmanager
    async def _read(self) -> AsyncIterator[AsyncSession]:
        async with self.db.read() as session:
            if not self.db.is_sqlite:
                await session.execute(text(f"SET LOCAL work_mem = '{PG_WORK_MEM}'"))
            yield session

    async def _meta(self, session: AsyncSession, scope: MetricsScope) -> dict[str, Any]:
        uuids = await session.execute(select(Workspace.uuid).where(Workspace.id.in_(scope.workspace_ids)))
        return {
            "interval": scope.interval,
            "date_from": iso(scope.date_from),
            "date_to": iso(scope.date_to),
            "timezone": "UTC",
            "time_axis": scope.time_axis,
            "workspace_uuids": sorted(str(u) for u in uuids.scalars()),
        }

    async def executions(self, scope: MetricsScope) -> dict[str, Any]:
        """Per bucket of ``time_axis`` (``created_at`` by default; on ``active``, every bucket an
        execution was running in): counts by status, failure rate (failed / finished), duration
        p50/p95 of finished executions, and approval wait p50/p95 (requested → decided, by request
        time); ``summary`` has the same over the whole range, each execution counted once."""
        is_sqlite = self.db.is_sqlite
        starts = bucket_starts(scope.date_from, scope.date_to, scope.interval)
        where = mq.execution_range(scope.workspace_ids, scope.date_from, scope.date_to, scope.time_axis)
        wait_bucket = bucket_expr(A.requested_at, scope.interval, is_sqlite=is_sqlite).label("bucket")
        wait = millis_between(A.requested_at, A.decided_at, is_sqlite=is_sqlite)
        async with self._read() as session:
            if scope.time_axis == "active":
                counts, durations = await active_stats(session, scope, starts, where, is_sqlite=is_sqlite)
            else:
                column = axis_column(scope.time_axis)
                bucket = bucket_expr(column, scope.interval, is_sqlite=is_sqlite).label("bucket")
                counts, durations = await mq.stats_by(session, bucket, where, is_sqlite=is_sqlite, overall=True)
            waits = await mq.spreads_by(
                session, wait_bucket, wait, mq.approval_range(scope.workspace_ids, scope.date_from, scope.date_to),
                is_sqlite=is_sqlite, overall=True,
            )  # fmt: skip
            meta = await self._meta(session, scope)
        total = counts.pop(mq.ALL, None)
        counts = {bucket_key(k): v for k, v in counts.items()}
        durations = {k if k == mq.ALL else bucket_key(k): v for k, v in durations.items()}
        waits = {k if k == mq.ALL else bucket_key(k): v for k, v in waits.items()}
        data = [
            {"bucket": iso(start)}
            | status_counts(counts.get(start, {}))
            | {"duration_ms": spread_json(durations.get(start)), "approval_wait_ms": spread_json(waits.get(start))}
            for start in starts
        ]
        if total is None:  # one bucket per execution: the range's total is the buckets' sum
            total = {}
            for per_status in counts.values():
                for status, n in per_status.items():
                    total[status] = total.get(status, 0) + n
        summary = status_counts(total) | {
            "duration_ms": spread_json(durations.get(mq.ALL)),
            "approval_wait_ms": spread_json(waits.get(mq.ALL)),
        }
        return {"data": data, "summary": summary, "meta": meta | {"buckets": len(starts)}}

    async def workflows(self, scope: MetricsScope, *, node_sample: int = NODE_SAMPLE) -> dict[str, Any]:
        """Per workflow of the scope: totals by status, failure rate, duration p50/p95 in the range,
        and its last run at any time; ``nodes``: per node, runs, errors and duration p50/p95 in the
        latest ``node_sample`` finished executions of the range."""
        is_sqlite = self.db.is_sqlite
        where = mq.execution_range(scope.workspace_ids, scope.date_from, scope.date_to, scope.time_axis)
        async with self._read() as session:
            workflows = (
                await session.execute(
                    select(Workflow.id, Workflow.uuid, Workflow.name, Workspace.uuid)
                    .join(Workspace, Workspace.id == Workflow.workspace_id)
                    .where(Workflow.workspace_id.in_(scope.workspace_ids), Workflow.deleted_at.is_(None))
                )
            ).all()
            counts, durations = await mq.stats_by(session, E.workflow_id, where, is_sqlite=is_sqlite)
            last = await mq.last_runs(session, [w[0] for w in workflows])
            nodes, sampled = await node_metrics(session, where, node_sample)
            meta = await self._meta(session, scope)
        names = {w[0]: (str(w[1]), w[2]) for w in workflows}
        data = [
            {"workflow_uuid": str(wf_uuid), "workflow_name": name, "workspace_uuid": str(ws_uuid)}
            | status_counts(counts.get(wf_id, {}))
            | {"duration_ms": spread_json(durations.get(wf_id)), "last_run_at": iso(last.get(wf_id))}
            for wf_id, wf_uuid, name, ws_uuid in workflows
        ]
        data.sort(key=lambda row: (-row["total"], row["workflow_name"], row["workflow_uuid"]))
        for node in nodes:
            node["workflow_uuid"], node["workflow_name"] = names.get(node.pop("workflow_id"), ("", ""))
        meta.pop("interval")  # no buckets here
        return {"data": data, "nodes": nodes, "meta": meta | {"nodes_sample": sampled}}
