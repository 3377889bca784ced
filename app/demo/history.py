"""Thirty days of past executions of one workspace, as plain row dicts for batched inserts.

No database here: ``seed.py`` inserts what this builds. Every execution walks its workflow's graph
like the simulator does, so node runs, durations, children, approvals and errors agree.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid as uuid_lib
from dataclasses import dataclass, field
from typing import Any

from app.db.models.base import new_uuid
from app.demo.catalog import FAILURE_WEIGHTS, PAST_SECONDS, WorkflowSpec
from app.demo.content import NOTES, node_error, node_input, node_output, review_request
from app.demo.graph import Graph, Node
from app.lib.timefmt import iso

RETRY_SHARE = 0.35  # failed executions someone retried
RETRY_AGAIN_SHARE = 0.7  # failed retries someone retried again
MAX_ATTEMPTS = 4
OVERDUE = dt.timedelta(hours=3)
STUCK_MODE = "batch"  # the seeded "needs attention" examples: the simulator never closes these
CANCEL_SHARE = 0.03
REJECT_SHARE = 0.07
RECENT_NO_REVIEW = dt.timedelta(hours=21)  # a human review can take 20 h: keep it in the past
REJECTIONS = ["Amount does not match the PO, please resubmit.", "Missing cost center.", "Duplicate of last week's."]


@dataclass(frozen=True)
class SeedWorkflow:
    id: int
    spec: WorkflowSpec
    graph: Graph


@dataclass
class Step:
    end: dt.datetime
    status: str = "success"  # node run status: success, error or cancelled
    error: str | None = None
    output: dict[str, Any] | None = None


@dataclass
class Walk:
    status: str
    runs: list[dict[str, Any]] = field(default_factory=list)
    clock: dt.datetime | None = None
    error: str | None = None
    running_node: str | None = None


def node_run(node: Node, status: str, start: dt.datetime, stop: dt.datetime | None, **extra: Any) -> dict[str, Any]:
    run = {"node_id": node.id, "run_index": 0, "status": status, "node_name": node.name, "started_at": iso(start)}
    run["stopped_at"] = iso(stop)
    return run | {k: v for k, v in extra.items() if v is not None}


class History:
    def __init__(
        self,
        rng: random.Random,
        now: dt.datetime,
        workspace_id: int,
        workflows: list[SeedWorkflow],
        users: dict[str, int],
    ) -> None:
        self.rng, self.now, self.workspace_id, self.workflows = rng, now, workspace_id, workflows
        self.operator_id, self.approver_id = users["operator@demo.local"], users["approver@demo.local"]
        self.by_name = {w.spec.name: w for w in workflows}
        self.executions: list[dict[str, Any]] = []
        self.data: dict[uuid_lib.UUID, dict[str, Any]] = {}
        self.parent_of: dict[uuid_lib.UUID, uuid_lib.UUID] = {}
        self.approvals: list[dict[str, Any]] = []
        self.tasks: list[dict[str, Any]] = []

    # ------------------------------------------------------------ scenarios
    def add_past(self, count: int, days: int) -> None:
        weights = [w.spec.weight for w in self.workflows]
        for _ in range(count):
            wf = self.rng.choices(self.workflows, weights)[0]
            created = self._start_time(wf.spec, days)
            row = self._execution(wf, created, mode=wf.spec.mode, avoid_review=created > self.now - RECENT_NO_REVIEW)
            if row["status"] == "failed" and self.rng.random() < RETRY_SHARE:
                self._retry(wf, row)

    def add_waiting(self, count: int) -> None:
        """Recent executions paused on an approval node with a pending approval."""
        candidates = [w for w in self.workflows if any(n.type == "approval" for n in w.graph.nodes.values())]
        for _ in range(count if candidates else 0):
            wf = self.rng.choice(candidates)
            created = self.now - dt.timedelta(hours=self.rng.uniform(0.3, 30))
            self._execution(wf, created, mode=wf.spec.mode, fail_rate=0.0, until_review=True)

    def add_flags(self, count: int) -> None:
        """Command-room tasks on recent failures nobody fixed yet."""
        failed = [r for r in self.executions if r["status"] == "failed" and r["uuid"] not in self.parent_of]
        failed = [r for r in failed if not r["retry_success_id"] and r["stopped_at"] > self.now - dt.timedelta(days=4)]
        for row in self.rng.sample(failed, min(count, len(failed))):
            at = min(self.now, row["stopped_at"] + dt.timedelta(minutes=self.rng.uniform(5, 90)))
            self.tasks.append(
                {
                    "uuid": new_uuid(),
                    "execution_uuid": row["uuid"],
                    "workspace_id": self.workspace_id,
                    "note": self.rng.choice(NOTES),
                    "created_by_id": self.operator_id,
                    "removed_at": None,
                    "removed_by_id": None,
                    "created_at": at,
                    "updated_at": at,
                }
            )

    # ------------------------------------------------------------ one execution
    def _execution(
        self,
        wf: SeedWorkflow,
        created: dt.datetime,
        *,
        mode: str,
        depth: int = 0,
        parent: uuid_lib.UUID | None = None,
        retry_of: str | None = None,
        fail_rate: float | None = None,
        until_review: bool = False,
        avoid_review: bool = False,
    ) -> dict[str, Any]:
        uuid = new_uuid()
        started = created + dt.timedelta(seconds=self.rng.uniform(0.05, 2.5))
        plan = self._plan(wf.graph, want_review=until_review, avoid_review=avoid_review)
        rate = wf.spec.fail_rate if fail_rate is None else fail_rate
        walk = self._walk(wf, plan, started, uuid, depth, rate, until_review)
        stopped = None if walk.status == "waiting" else min(self.now, walk.clock or started)
        row = {
            "uuid": uuid,
            "workspace_id": self.workspace_id,
            "workflow_id": wf.id,
            "user_id": self.operator_id,
            "parent_execution_id": None,
            "mode": mode,
            "retry_of": retry_of,
            "retry_success_id": None,
            "status": walk.status,
            "started_at": started,
            "stopped_at": stopped,
            "wait_till": None,
            "running_node": walk.running_node,
            "error": walk.error,
            "version": 2 + 2 * len(walk.runs),
            "created_at": created,
            "updated_at": stopped or walk.clock or started,
            "deleted_at": None,
        }
        metadata = {"running_node": walk.running_node, "error_count": int(walk.status == "failed"), "worker": "w-2"}
        self.executions.append(row)
        self.data[uuid] = {"workflow_data": walk.runs, "metadata": metadata}
        if parent is not None:
            self.parent_of[uuid] = parent
        return row

    def _walk(
        self,
        wf: SeedWorkflow,
        plan: list[Node],
        clock: dt.datetime,
        uuid: uuid_lib.UUID,
        depth: int,
        rate: float,
        until_review: bool,
    ) -> Walk:
        stop_node, outcome = self._stop_node(plan, rate)
        walk = Walk("completed", clock=clock)
        handed: dict[str, Any] | None = None  # what the next node receives (the last one's output)
        for node in plan:
            start = walk.clock or clock
            received = node_input(node, handed, self.rng)
            if until_review and node.type == "approval":
                walk.runs.append(node_run(node, "waiting", start, None, input=received))
                self._approval(wf, node, uuid, start, None)
                return Walk("waiting", walk.runs, start, running_node=node.id)
            if node is stop_node and outcome == "cancelled":
                stop = start + dt.timedelta(seconds=self.rng.uniform(0.2, 3))
                walk.runs.append(node_run(node, "cancelled", start, stop, input=received))
                return Walk("cancelled", walk.runs, stop)
            step = self._step(wf, node, start, uuid, depth, rate if until_review else None)
            if node is stop_node:
                step.status, step.error, step.output = "error", node_error(node, self.rng), None
            elif node.type == "if":
                step.output = {"branch": wf.graph.branch_taken(node.id, {n.id for n in plan})}
            extra = {"input": received, "output": step.output, "error": step.error}
            walk.runs.append(node_run(node, step.status, start, step.end, **extra))
            walk.clock = step.end
            handed = received if node.type == "if" else step.output  # an if node routes its items on
            if step.status != "success":
                status = "cancelled" if step.status == "cancelled" else "failed"
                return Walk(status, walk.runs, step.end, error=f"{node.name}: {step.error}" if step.error else None)
        return walk

    def _step(
        self, wf: SeedWorkflow, node: Node, start: dt.datetime, uuid: uuid_lib.UUID, depth: int, rate: float | None
    ) -> Step:
        low, high = PAST_SECONDS.get(node.type, (0.3, 2.0))
        end = start + dt.timedelta(seconds=self.rng.uniform(low, high))
        child_wf = self.by_name.get(str(node.params.get("workflow")))
        if node.type == "sub_workflow" and child_wf is not None and depth == 0:
            child = self._execution(child_wf, start, mode="integrated", depth=1, parent=uuid, fail_rate=rate)
            end = (child["stopped_at"] or start) + dt.timedelta(seconds=self.rng.uniform(0.1, 0.6))
            if child["status"] == "cancelled":
                return Step(end, "cancelled")
            if child["status"] == "failed":
                return Step(end, "error", f"Sub-workflow '{child_wf.spec.name}' failed: {child['error']}")
            return Step(end, output={"execution_uuid": str(child["uuid"]), "status": "completed"})
        if node.type == "approval":
            rejected = self.rng.random() < REJECT_SHARE
            self._approval(wf, node, uuid, start, (end, rejected))
            if rejected:
                return Step(end, "error", "rejected by approver@demo.local")
            return Step(end, output={"decision": "approved", "by": "approver@demo.local"})
        return Step(end, output=node_output(node, self.rng))

    # ------------------------------------------------------------ helpers
    def _plan(self, graph: Graph, *, want_review: bool, avoid_review: bool) -> list[Node]:
        plan = graph.plan(self.rng)
        for _ in range(30):  # resample the branches until the path has (or lacks) a review
            has_review = any(n.type == "approval" for n in plan)
            if (want_review and has_review) or (not want_review and not (avoid_review and has_review)):
                break
            plan = graph.plan(self.rng)
        return plan

    def _stop_node(self, plan: list[Node], fail_rate: float) -> tuple[Node | None, str]:
        roll = self.rng.random()
        if roll < fail_rate:
            failable = [n for n in plan if n.type in FAILURE_WEIGHTS]
            if failable:
                weights = [FAILURE_WEIGHTS[n.type] for n in failable]
                return self.rng.choices(failable, weights)[0], "failed"
        elif roll < fail_rate + CANCEL_SHARE and fail_rate > 0:
            return self.rng.choice(plan), "cancelled"
        return None, "completed"

    def _approval(
        self,
        wf: SeedWorkflow,
        node: Node,
        uuid: uuid_lib.UUID,
        requested: dt.datetime,
        decision: tuple[dt.datetime, bool] | None,
    ) -> None:
        request = review_request(node, wf.spec.name, self.rng)
        decided_at, rejected = decision or (None, False)
        status = "pending" if decision is None else ("rejected" if rejected else "approved")
        comment = self.rng.choice(REJECTIONS) if rejected else ("Looks good." if decision else None)
        self.approvals.append(
            request
            | {
                "uuid": new_uuid(),
                "execution_uuid": uuid,
                "workspace_id": self.workspace_id,
                "status": status,
                "requested_at": requested,
                "due_at": requested + dt.timedelta(hours=24),
                "requested_by_id": self.operator_id,
                "decided_by_id": None if decision is None else self.approver_id,
                "decided_at": decided_at,
                "comment": comment,
                "created_at": requested,
                "updated_at": decided_at or requested,
            }
        )

    def _retry(self, wf: SeedWorkflow, failed: dict[str, Any], attempt: int = 2) -> None:
        created = failed["stopped_at"] + dt.timedelta(minutes=self.rng.uniform(2, 120))
        if created > self.now - RECENT_NO_REVIEW:
            return
        retry = self._execution(wf, created, mode="retry", retry_of=str(failed["uuid"]), fail_rate=0.3)
        self.data[retry["uuid"]]["metadata"]["retry_count"] = attempt - 1
        if retry["status"] == "completed":
            failed["retry_success_id"] = str(retry["uuid"])
        elif retry["status"] == "failed" and attempt < MAX_ATTEMPTS and self.rng.random() < RETRY_AGAIN_SHARE:
            self._retry(wf, retry, attempt + 1)  # a chain: attempt 1 → 2 → 3

    def add_attention(self, long_running: int, stuck_parents: int, overdue_waits: int) -> None:
        """Recent executions an operator should look at: running far longer than their workflow
        usually takes, parents waiting on a child that failed, and waits whose time has passed."""
        for _ in range(long_running):
            wf = self.rng.choice(self.workflows)
            started = self.now - dt.timedelta(hours=self.rng.uniform(2, 6))
            row = self._execution(wf, started, mode=STUCK_MODE, fail_rate=0.0, avoid_review=True)
            node = next(iter(wf.graph.nodes.values()))
            row.update(status="running", stopped_at=None, running_node=node.id, updated_at=started, error=None)
            self.data[row["uuid"]]["metadata"].update(running_node=node.id, loop_index=self.rng.randint(3, 40))
        parents = [w for w in self.workflows if any(n.type == "sub_workflow" for n in w.graph.nodes.values())]
        for _ in range(stuck_parents if parents else 0):
            wf = self.rng.choice(parents)
            created = self.now - dt.timedelta(hours=self.rng.uniform(0.5, 8))
            parent = self._execution(wf, created, mode=STUCK_MODE, fail_rate=0.0, avoid_review=True)
            child = self._execution(self.rng.choice(self.workflows), created, mode="integrated", depth=1, fail_rate=1.0)
            if child["status"] != "failed":
                child.update(status="failed", error="HTTP 502 from the upstream API")
            self.parent_of[child["uuid"]] = parent["uuid"]
            node = next(n for n in wf.graph.nodes.values() if n.type == "sub_workflow")
            parent.update(status="waiting", stopped_at=None, running_node=node.id, error=None)
        pending = [a for a in self.approvals if a["status"] == "pending" and a["requested_at"] < self.now - OVERDUE]
        for approval in pending[:overdue_waits]:
            approval["due_at"] = approval["requested_at"] + OVERDUE / 2  # an approval overdue
        waiting = [r for r in self.executions if r["status"] == "waiting" and r["uuid"] not in self.parent_of]
        for row in self.rng.sample(waiting, min(overdue_waits, len(waiting))):
            row["wait_till"] = row["created_at"] + dt.timedelta(minutes=self.rng.uniform(10, 30))

    def _start_time(self, spec: WorkflowSpec, days: int) -> dt.datetime:
        """Scheduled workflows at their hour; the rest mostly in office hours on weekdays."""
        latest = self.now - dt.timedelta(minutes=10)
        earliest = self.now - dt.timedelta(days=days)
        while True:
            moment = latest - dt.timedelta(seconds=self.rng.uniform(0, days * 86400))
            if spec.schedule_hours:
                hour = self.rng.choice(spec.schedule_hours)
                moment = moment.replace(hour=hour, minute=self.rng.randint(0, 2), second=self.rng.randint(0, 59))
                # Moving to the scheduled hour can leave the window at either end (just after midnight
                # UTC, the oldest day's early hours lie more than `days` back).
                if earliest <= moment <= latest:
                    return moment
                continue
            weight = 1.0 if 8 <= moment.hour < 19 else (0.35 if 6 <= moment.hour < 23 else 0.12)
            if moment.weekday() >= 5:
                weight *= 0.4
            if self.rng.random() < weight:
                return moment
