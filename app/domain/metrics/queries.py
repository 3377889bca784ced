"""Aggregate queries: counts grouped in SQL, percentiles with ``percentile_cont`` on PostgreSQL or
from one bounded column query on SQLite (which has no ordered-set aggregates).

Every query filters ``workspace_id IN (...)`` and a ``created_at`` (or ``requested_at``) range and
leaves soft-deleted executions out, so on PostgreSQL it reads the range of a workspace index and
never scans the table (``tests/test_metrics_api.py`` checks the plans).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Float, SQLColumnExpression, and_, func, literal, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Workflow, WorkflowApproval, WorkflowExecution
from app.domain.executions.state import STATUS_VALUES
from app.domain.executions.time_axis import axis_conditions
from app.domain.metrics.buckets import bucket_expr, bucket_key, millis_between, percentile_cont

E = WorkflowExecution
A = WorkflowApproval
FINISHED = ("completed", "failed", "cancelled")
DECIDED = ("approved", "rejected")
ALL = "__all__"  # the key of the whole range's percentiles


@dataclass(frozen=True)
class Spread:
    """p50 / p95 of a set of durations in milliseconds, and how many there were."""

    p50: float | None = None
    p95: float | None = None
    n: int = 0


def execution_range(
    workspace_ids: Sequence[int], date_from: Any, date_to: Any, time_axis: str = "created"
) -> list[ColumnElement[bool]]:
    """The scope's live executions in the range on ``time_axis`` (see executions/time_axis.py)."""
    return [
        E.workspace_id.in_(list(workspace_ids)),
        *axis_conditions(time_axis, date_from, date_to),
        E.deleted_at.is_(None),
    ]


def approval_range(workspace_ids: Sequence[int], date_from: Any, date_to: Any) -> list[ColumnElement[bool]]:
    return [
        A.workspace_id.in_(list(workspace_ids)),
        A.status.in_(DECIDED),
        A.requested_at >= date_from,
        A.requested_at <= date_to,
        A.decided_at.is_not(None),
    ]


def duration(is_sqlite: bool) -> ColumnElement[Any]:
    return millis_between(E.started_at, E.stopped_at, is_sqlite=is_sqlite)


def finished_with_times() -> list[ColumnElement[bool]]:
    return [E.status.in_(FINISHED), E.started_at.is_not(None), E.stopped_at.is_not(None)]


def both_percentiles(value: ColumnElement[Any]) -> Any:
    """``percentile_cont(ARRAY[0.5, 0.95])``: both percentiles from one sort (PostgreSQL)."""
    fractions = postgresql.array([literal(0.5, Float), literal(0.95, Float)])
    return func.percentile_cont(fractions).within_group(value)


async def counts_by(
    session: AsyncSession, key: SQLColumnExpression[Any], where: Sequence[ColumnElement[bool]]
) -> dict[Hashable, dict[str, int]]:
    """``{key: {status: count}}`` for the executions matching ``where``."""
    rows = await session.execute(select(key, E.status, func.count()).where(*where).group_by(key, E.status))
    out: dict[Hashable, dict[str, int]] = defaultdict(dict)
    for k, status, n in rows:
        out[k][status] = int(n)
    return out


async def spreads_by(
    session: AsyncSession,
    key: SQLColumnExpression[Any],
    value: ColumnElement[Any],
    where: Sequence[ColumnElement[bool]],
    *,
    is_sqlite: bool,
    overall: bool = False,
) -> dict[Hashable, Spread]:
    """p50/p95 of ``value`` per ``key`` (and over everything under ``ALL`` when ``overall``)."""
    if not is_sqlite:
        group = func.rollup(key) if overall else key
        stmt = (
            select(
                key,
                both_percentiles(value),
                func.count(value),
                func.grouping(key) if overall else func.count(value),
            )
            .where(*where)
            .group_by(group)
        )
        result: dict[Hashable, Spread] = {}
        for k, pair, n, grouped in await session.execute(stmt):
            p50, p95 = pair or (None, None)
            result[ALL if overall and grouped == 1 else k] = Spread(p50, p95, int(n))
        if overall:
            result.setdefault(ALL, Spread())
        return result
    values: dict[Hashable, list[float]] = defaultdict(list)
    for k, v in await session.execute(select(key, value).where(*where)):
        if v is not None:
            values[k].append(float(v))
    if overall:
        values[ALL] = [v for vs in list(values.values()) for v in vs]
    return {k: _spread(sorted(vs)) for k, vs in values.items()}


async def stats_by(
    session: AsyncSession,
    key: SQLColumnExpression[Any],
    where: Sequence[ColumnElement[bool]],
    *,
    is_sqlite: bool,
    overall: bool = False,
) -> tuple[dict[Hashable, dict[str, int]], dict[Hashable, Spread]]:
    """Counts by status and the duration spread of finished executions, per ``key``.

    PostgreSQL does it in one pass over the index (filtered counts and filtered ``percentile_cont``,
    ``ROLLUP`` for the whole range); SQLite groups the counts and sorts durations in Python."""
    if is_sqlite:
        finished = [*where, *finished_with_times()]
        return (
            await counts_by(session, key, where),
            await spreads_by(session, key, duration(True), finished, is_sqlite=True, overall=overall),
        )
    finished_cond = and_(*finished_with_times())
    value = duration(False)
    stmt = (
        select(
            key,
            both_percentiles(value).filter(finished_cond),
            func.count(value).filter(finished_cond),
            func.grouping(key) if overall else literal(0),
            *(func.count().filter(E.status == status) for status in STATUS_VALUES),
        )
        .where(*where)
        .group_by(func.rollup(key) if overall else key)
    )
    counts: dict[Hashable, dict[str, int]] = {}
    spreads: dict[Hashable, Spread] = {ALL: Spread()} if overall else {}
    for k, pair, n, grouped, *per_status in await session.execute(stmt):
        p50, p95 = pair or (None, None)
        spread = Spread(p50, p95, int(n))
        if overall and grouped == 1:
            spreads[ALL] = spread
            continue
        counts[k] = {status: int(c) for status, c in zip(STATUS_VALUES, per_status, strict=True) if c}
        if n:
            spreads[k] = spread
    return counts, spreads


def _spread(ordered: list[float]) -> Spread:
    return Spread(percentile_cont(ordered, 0.5), percentile_cont(ordered, 0.95), len(ordered))


async def last_runs(session: AsyncSession, workflow_ids: Sequence[int]) -> dict[int, Any]:
    """The newest execution of each workflow, at any time. A correlated ``max`` per workflow is one
    backward probe of ``ix_wfe_wf_ws_created`` each (a grouped max would read every execution): the
    workflow's own workspace is named so the index's (workflow_id, workspace_id) prefix is fixed."""
    if not workflow_ids:
        return {}
    newest = (
        select(func.max(E.created_at))
        .where(E.workflow_id == Workflow.id, E.workspace_id == Workflow.workspace_id, E.deleted_at.is_(None))
        .correlate(Workflow)
        .scalar_subquery()
    )
    rows = await session.execute(select(Workflow.id, newest).where(Workflow.id.in_(list(workflow_ids))))
    return dict(rows.all())  # Rows are tuples (Result.tuples() is deprecated in SQLAlchemy 2.1)


async def hourly_by_status(
    session: AsyncSession, where: Sequence[ColumnElement[bool]], start: Any, hours: int, *, is_sqlite: bool
) -> dict[str, list[int]]:
    """Counts per status for each of ``hours`` hours from ``start`` (oldest first): one grouped query."""
    bucket = bucket_expr(E.created_at, "hour", is_sqlite=is_sqlite)
    counts = await counts_by(session, bucket, [*where, E.created_at >= start])
    series: dict[str, list[int]] = defaultdict(lambda: [0] * hours)
    for key, per_status in counts.items():
        slot = int((bucket_key(key) - start).total_seconds() // 3600)
        if 0 <= slot < hours:
            for status, n in per_status.items():
                series[status][slot] = n
    return series
