"""One timeline of an execution for machine and human events, as plain dicts for the detail page.

Machine: node runs, one lane per loop iteration (``run_index``). Human: approval audit rows
(requested, claimed/assigned, approved, rejected, cancelled, with comments), command-room flags
and removals, and operator actions with their reasons. Everything is ordered by time.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.db.models import ApprovalAudit, CommandRoomTask, User, WorkflowApproval
from app.domain.audit.records import execution_operator_actions
from app.domain.executions.summary import ExecutionSummary
from app.lib.timefmt import iso

MAX_EVENTS = 500


async def approval_events(session: AsyncSession, execution_id: int) -> list[dict[str, Any]]:
    """Every approval audit row of the execution, with the review's title."""
    Actor = aliased(User, name="actor")
    Assignee = aliased(User, name="assignee")
    rows = await session.execute(
        select(
            ApprovalAudit.action,
            ApprovalAudit.comment,
            ApprovalAudit.created_at,
            ApprovalAudit.actor_id,
            Actor.email.label("actor"),
            Assignee.email.label("assignee"),
            WorkflowApproval.uuid,
            WorkflowApproval.title,
            WorkflowApproval.node_id,
            WorkflowApproval.required_approvals,
        )
        .join(WorkflowApproval, WorkflowApproval.id == ApprovalAudit.approval_id)
        .outerjoin(Actor, Actor.id == ApprovalAudit.actor_id)
        .outerjoin(Assignee, Assignee.id == ApprovalAudit.assignee_id)
        .where(ApprovalAudit.execution_id == execution_id)
        .order_by(ApprovalAudit.created_at, ApprovalAudit.id)
        .limit(MAX_EVENTS)
    )
    events = []
    for r in rows:
        action = r.action
        if action == "assigned":
            action = "claimed" if r.assignee == r.actor else f"assigned to {r.assignee}"
        events.append(
            {
                "at": iso(r.created_at),
                "kind": "approval",
                "action": action,
                "text": f"Review {action}: {r.title}",
                "actor": r.actor,
                "comment": r.comment,
                "ref": str(r.uuid),
                "node_id": r.node_id,
            }
        )
    return events


async def room_events(session: AsyncSession, execution_id: int) -> list[dict[str, Any]]:
    Remover = aliased(User, name="remover")
    rows = await session.execute(
        select(CommandRoomTask.note, CommandRoomTask.created_at, CommandRoomTask.removed_at, User.email, Remover.email)
        .outerjoin(User, User.id == CommandRoomTask.created_by_id)
        .outerjoin(Remover, Remover.id == CommandRoomTask.removed_by_id)
        .where(CommandRoomTask.execution_id == execution_id)
    )
    events = []
    for note, created_at, removed_at, by, removed_by in rows:
        events.append(
            {
                "at": iso(created_at),
                "kind": "room",
                "action": "flagged",
                "text": "Flagged for the command room",
                "actor": by,
                "comment": note,
            }
        )
        if removed_at is not None:
            events.append(
                {
                    "at": iso(removed_at),
                    "kind": "room",
                    "action": "unflagged",
                    "text": "Removed from the command room",
                    "actor": removed_by,
                    "comment": None,
                }
            )
    return events


def _operator_event(row: dict[str, Any]) -> dict[str, Any]:
    action = str(row.get("action") or "action")
    return {
        "at": row.get("created_at"),
        "kind": "operator",
        "action": action,
        "text": f"Operator: {action.replace('_', ' ')}",
        "actor": row.get("actor"),
        "comment": row.get("reason"),
    }


def node_lanes(runs: list[dict[str, Any]], start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """One lane per loop iteration (``run_index``), its runs placed in % of the execution's span."""
    total = max((end - start).total_seconds(), 0.001)
    lanes: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for run in runs:
        if not run.get("started_at"):
            continue
        rs = dt.datetime.fromisoformat(str(run["started_at"]).replace("Z", "+00:00"))
        re_ = dt.datetime.fromisoformat(str(run["stopped_at"]).replace("Z", "+00:00")) if run.get("stopped_at") else end
        left = max(0.0, (rs - start).total_seconds() / total * 100)
        width = max(0.6, (re_ - rs).total_seconds() / total * 100)
        lanes[int(run.get("run_index") or 0)].append(
            {
                "node": run.get("node_name") or run.get("node_id"),
                "status": run.get("status"),
                "left": round(min(left, 99.4), 2),
                "width": round(min(width, 100 - min(left, 99.4)), 2),
                "seconds": max((re_ - rs).total_seconds(), 0),
            }
        )
    return [{"iteration": i, "runs": lanes[i]} for i in sorted(lanes)]


def _marks(events: list[dict[str, Any]], start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    total = max((end - start).total_seconds(), 0.001)
    marks = []
    for e in events:
        at = dt.datetime.fromisoformat(str(e["at"]).replace("Z", "+00:00"))
        left = min(max((at - start).total_seconds() / total * 100, 0.0), 99.5)
        marks.append({"left": round(left, 2), "kind": e["kind"], "action": e["action"], "title": e["text"]})
    return marks


async def execution_timeline(
    session: AsyncSession, execution: ExecutionSummary, execution_id: int, runs: list[dict[str, Any]]
) -> dict[str, Any]:
    """Lanes of node runs, marks for human events on the same axis, and every event (node runs
    started and finished, reviews, flags, operator actions) in one list ordered by time."""
    human = await approval_events(session, execution_id)
    human += await room_events(session, execution_id)
    # Flags are on the timeline as command-room events already (with their note).
    human += [
        _operator_event(r)
        for r in await execution_operator_actions(session, execution_id)
        if r["action"] not in ("flag", "unflag")
    ]
    human = [e for e in human if e["at"]]
    machine = []
    for run in runs:
        name = run.get("node_name") or run.get("node_id")
        suffix = f" (iteration {run['run_index']})" if run.get("run_index") else ""
        if run.get("started_at"):
            machine.append(
                {
                    "at": run["started_at"],
                    "kind": "node",
                    "action": "started",
                    "text": f"{name} started{suffix}",
                    "actor": None,
                    "comment": None,
                }
            )
        if run.get("stopped_at"):
            machine.append(
                {
                    "at": run["stopped_at"],
                    "kind": "node",
                    "action": run.get("status") or "finished",
                    "text": f"{name} {run.get('status') or 'finished'}{suffix}",
                    "actor": None,
                    "comment": run.get("error"),
                }
            )
    events = sorted(human + machine, key=lambda e: str(e["at"]))[-MAX_EVENTS:]
    times = [dt.datetime.fromisoformat(str(e["at"]).replace("Z", "+00:00")) for e in events]
    first = execution.get("started_at") or execution.get("created_at")
    start = (
        dt.datetime.fromisoformat(str(first).replace("Z", "+00:00"))
        if first
        else (min(times) if times else dt.datetime.now(dt.UTC))
    )
    start = min([start, *times])
    stop = execution.get("stopped_at")
    end = dt.datetime.fromisoformat(str(stop).replace("Z", "+00:00")) if stop else dt.datetime.now(dt.UTC)
    end = max([end, *times, start + dt.timedelta(milliseconds=1)])
    return {"lanes": node_lanes(runs, start, end), "marks": _marks(human, start, end), "events": events}
