""" "Needs attention" chips: executions an operator should look at, each a filter of the list
(``attention=`` in the URL) with a live count.

- ``slow``: running longer than the 95th percentile duration of its workflow's recent completed runs;
- ``wait_overdue``: waiting, and its ``wait_till`` has passed;
- ``child_failed``: a parent waiting on a child that failed;
- ``approval_overdue``: a pending approval past its due time;
- ``failed_unretried``: failed and not yet successfully retried (``retry_success_id`` empty).

Every condition starts from an indexed column (status, the approvals' workspace and status, the
children's parent id), so counting them reads index ranges, never the whole table.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.db.models import WorkflowApproval, WorkflowExecution
from app.domain.executions.summary import SummaryLike

E = WorkflowExecution
A = WorkflowApproval
Child = aliased(WorkflowExecution, name="child_execution")

ATTENTION: dict[str, str] = {
    "slow": "Running longer than usual",
    "wait_overdue": "Wait time passed",
    "child_failed": "Waiting on a failed child",
    "approval_overdue": "Approval overdue",
    "failed_unretried": "Failed, not retried",
}
# Chips whose live twin is exact (the event's summary says everything they need).
EXACT_ATTENTION = frozenset({"wait_overdue", "failed_unretried"})
P95_SAMPLE = 200  # latest completed runs per workflow behind its p95
P95_TTL_SECONDS = 60.0
MIN_SAMPLE = 5  # fewer completed runs than this: no threshold, never "slow"


def parse_attention(raw: Sequence[str]) -> list[str]:
    return sorted({key for part in raw for key in part.split(",") if key in ATTENTION})


def condition(key: str, workspace_ids: list[int], now: dt.datetime, p95: Mapping[int, float]) -> Any:
    """The SQL condition of one chip (added to the view's other filters)."""
    if key == "slow":
        arms = [
            and_(E.workflow_id == wf, E.started_at < now - dt.timedelta(seconds=seconds)) for wf, seconds in p95.items()
        ]
        # No workflow has a threshold yet: nothing is slow (a condition an index answers at once).
        return and_(E.status == "running", or_(*arms) if arms else E.workflow_id == -1)
    if key == "wait_overdue":
        return and_(E.status == "waiting", E.wait_till < now)
    if key == "child_failed":
        failed_child = exists().where(
            Child.parent_execution_id == E.id, Child.status == "failed", Child.deleted_at.is_(None)
        )
        return and_(E.status == "waiting", failed_child)
    if key == "approval_overdue":
        overdue = select(A.execution_id).where(A.workspace_id.in_(workspace_ids), A.status == "pending", A.due_at < now)
        return E.id.in_(overdue)
    if key == "failed_unretried":
        return and_(E.status == "failed", or_(E.retry_success_id.is_(None), E.retry_success_id == ""))
    raise ValueError(key)


def may_match(key: str, execution: SummaryLike, now: dt.datetime) -> bool:
    """Python twin for live events, from the event's execution summary. Exact where the summary
    says enough (failed not retried, wait passed); otherwise the necessary part (running, waiting,
    a pending approval): a row that stops qualifying leaves, and the page's apply re-reads the rest."""
    status = execution.get("status")
    if key == "slow":
        return status == "running"
    if key == "wait_overdue":
        wait_till = str(execution.get("wait_till") or "")
        return status == "waiting" and bool(wait_till) and dt.datetime.fromisoformat(wait_till) < now
    if key == "child_failed":
        return status == "waiting"
    if key == "approval_overdue":
        return bool(execution.get("pending_workflow_approvals_count"))
    if key == "failed_unretried":
        return status == "failed" and not execution.get("retry_success_id")
    return False


class DurationThresholds:
    """Per workflow, the p95 duration (seconds) of its latest completed runs, cached a minute:
    thresholds move slowly, and the tiles ask for them every second."""

    def __init__(self) -> None:
        self._cache: dict[int, tuple[float, float | None]] = {}

    async def for_workflows(self, session: AsyncSession, workflow_ids: Sequence[int]) -> dict[int, float]:
        now = time.monotonic()
        out: dict[int, float] = {}
        for wf in workflow_ids:
            cached = self._cache.get(wf)
            if cached is None or now - cached[0] > P95_TTL_SECONDS:
                cached = (now, await _p95(session, wf))
                self._cache[wf] = cached
            if cached[1] is not None:
                out[wf] = cached[1]
        return out


async def _p95(session: AsyncSession, workflow_id: int) -> float | None:
    rows = await session.execute(
        select(E.started_at, E.stopped_at)
        .where(
            E.workflow_id == workflow_id,
            E.status == "completed",
            E.deleted_at.is_(None),
            E.started_at.is_not(None),
            E.stopped_at.is_not(None),
        )
        .order_by(E.created_at.desc(), E.id.desc())
        .limit(P95_SAMPLE)
    )
    durations: list[float] = sorted((r.stopped_at - r.started_at).total_seconds() for r in rows)
    if len(durations) < MIN_SAMPLE:
        return None
    # percentile_cont(0.95): linear interpolation between the closest ranks
    rank = 0.95 * (len(durations) - 1)
    low = int(rank)
    high = min(low + 1, len(durations) - 1)
    return durations[low] + (durations[high] - durations[low]) * (rank - low)


async def workflow_ids_of(session: AsyncSession, workspace_ids: list[int]) -> list[int]:
    from app.db.models import Workflow

    rows = await session.execute(select(Workflow.id).where(Workflow.workspace_id.in_(workspace_ids)))
    return [r[0] for r in rows]


def count_query(conditions: list[Any]) -> Any:
    return select(func.count()).select_from(E).where(*conditions)
