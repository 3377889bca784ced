"""Node metrics from the node runs (``workflow_data``) of a bounded sample of executions.

Node runs live in a JSON column, so aggregating every run of a month would read every execution's
data. Instead: the latest ``limit`` finished executions of the range (one index range read, newest
first), their node runs grouped per workflow and node in Python.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import WorkflowExecution, WorkflowExecutionData
from app.domain.metrics.buckets import ms, percentile_cont, rate
from app.domain.metrics.queries import FINISHED

E, D = WorkflowExecution, WorkflowExecutionData


def _moment(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


async def node_metrics(
    session: AsyncSession, where: Sequence[ColumnElement[bool]], limit: int
) -> tuple[list[dict[str, Any]], int]:
    """Per (workflow, node): runs, errors, error rate and duration p50/p95; and the sample size."""
    rows = (
        await session.execute(
            select(E.workflow_id, D.workflow_data)
            .join(D, D.execution_id == E.id)
            .where(*where, E.status.in_(FINISHED), D.deleted_at.is_(None))
            .order_by(E.created_at.desc())
            .limit(limit)
        )
    ).all()
    runs: dict[tuple[int, str], int] = defaultdict(int)
    errors: dict[tuple[int, str], int] = defaultdict(int)
    durations: dict[tuple[int, str], list[float]] = defaultdict(list)
    names: dict[tuple[int, str], str] = {}
    for workflow_id, node_runs in rows:
        for run in node_runs or []:
            if not isinstance(run, dict) or not run.get("node_id"):
                continue
            key = (workflow_id, str(run["node_id"]))
            names.setdefault(key, str(run.get("node_name") or run["node_id"]))
            runs[key] += 1
            errors[key] += run.get("status") == "error"
            start, stop = _moment(run.get("started_at")), _moment(run.get("stopped_at"))
            if start and stop and stop >= start:
                durations[key].append((stop - start).total_seconds() * 1000)
    nodes: list[dict[str, Any]] = []
    for key, n in runs.items():
        ordered = sorted(durations[key])
        nodes.append(
            {
                "workflow_id": key[0],
                "node_id": key[1],
                "node_name": names[key],
                "runs": n,
                "errors": errors[key],
                "error_rate": rate(errors[key], n),
                "duration_ms": {
                    "p50": ms(percentile_cont(ordered, 0.5)),
                    "p95": ms(percentile_cont(ordered, 0.95)),
                    "count": len(ordered),
                },
            }
        )
    nodes.sort(key=lambda node: (-node["errors"], -(node["duration_ms"]["p95"] or 0), node["node_id"]))
    return nodes, len(rows)
