"""A workflow engine in miniature: starts executions and reports their progress node by node.

It only talks to a ``Backend`` (the service layer in-process, or the REST API of a deployment), so
the demo and ``athena simulate`` run the same behaviour and every change writes its events.
Executions it parks on a human review are polled until a decision sets them running again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random
from collections import Counter
from collections.abc import Coroutine
from typing import Any

from app.demo.catalog import FAILURE_WEIGHTS, SIM_SECONDS
from app.demo.content import node_error, node_input, node_output, review_request
from app.demo.graph import Node, nodes_after
from app.demo.retries import RetryRequests
from app.demo.sim_types import (
    Backend,
    BackendConflict,
    BackendNotFound,
    Dropped,
    Parked,
    Run,
    SimConfig,
    SimWorkflow,
    Stopped,
)

__all__ = ["Backend", "BackendConflict", "BackendNotFound", "SimConfig", "SimWorkflow", "Simulator"]
logger = logging.getLogger("athena.demo")
MAX_DEPTH = 1  # children do not start grandchildren


class Simulator:
    def __init__(self, backend: Backend, config: SimConfig | None = None) -> None:
        self.backend = backend
        self.config = config or SimConfig()
        self.rng = random.Random(self.config.seed)
        self.stats: Counter[str] = Counter()
        self.active = 0
        self.workflows: list[SimWorkflow] = []
        self._stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._main: asyncio.Task[None] | None = None
        self._reviews_in_flight: Counter[str] = Counter()
        self._parked: dict[str, Parked] = {}  # by execution uuid
        self._requests = RetryRequests(dt.datetime.now(dt.UTC))

    # ------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Run in the background of the current event loop until ``stop()``."""
        self._main = asyncio.create_task(self.run(), name="athena-simulator")

    async def run(self) -> None:
        try:
            await self._prepare()
            self._spawn(self._watch_parked())
            self._spawn(self._watch_retry_requests())
            await self._spawn_loop()
        except Stopped:
            pass

    async def stop(self, grace: float = 5.0) -> None:
        """Let in-flight writes finish (tasks leave at their next pause), then cancel stragglers."""
        self._stopping.set()
        tasks = [t for t in (self._main, *self._tasks) if t is not None and not t.done()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        logger.info("simulator stopped: %s", self.summary())

    async def run_one(self, workflow_name: str) -> Run | None:
        """One execution of the named workflow, start to end, in the caller's task (tests, manual runs)."""
        if not self.workflows:
            self.workflows = [SimWorkflow.from_payload(item) for item in await self.backend.workflows()]
        matches = [w for w in self.workflows if w.name == workflow_name]
        if not matches:
            raise LookupError(f"no workflow named {workflow_name!r} that this user may run")
        return await self._execute(matches[0])

    @property
    def parked_count(self) -> int:
        """Executions waiting on a human review that this simulator will continue once decided."""
        return len(self._parked)

    def summary(self) -> str:
        keys: tuple[str, ...] = ("started", "completed", "failed", "awaiting_review", "resumed", "retried")
        keys += ("retry_requests", "children", "dropped", "errors")
        return ", ".join(f"{k} {self.stats[k]}" for k in keys) + f", active {self.active}, parked {len(self._parked)}"

    async def _prepare(self) -> None:
        recovered = await self._guarded(self.backend.recover())
        if recovered:
            logger.info("simulator: closed %d execution(s) left running by a previous run", recovered)
        while not self.workflows:
            items = await self._guarded(self.backend.workflows()) or []
            self.workflows = [SimWorkflow.from_payload(item) for item in items]
            if not self.workflows:
                logger.warning("simulator: no active workflow in a workspace you operate yet; retrying in 5 s")
                await self._sleep(5)
        await self._adopt_parked()
        logger.info("simulator: %d workflows, %.1f executions/s", len(self.workflows), self.config.rate)

    async def _spawn_loop(self) -> None:
        loop = asyncio.get_running_loop()
        next_log = loop.time() + self.config.log_every
        weights = [w.weight for w in self.workflows]
        while True:
            await self._sleep(self.rng.expovariate(self.config.rate))
            if self.active < self.config.max_active:
                workflow = self.rng.choices(self.workflows, weights)[0]
                self._spawn(self._execute(workflow))
            if loop.time() >= next_log:
                next_log = loop.time() + self.config.log_every
                logger.info("simulator: %s", self.summary())

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[None]:
        task = asyncio.create_task(self._guard(coro))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _guard(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Nothing one execution does may take the simulator down: log and go on."""
        try:
            await coro
        except (Stopped, asyncio.CancelledError):
            pass
        except (Dropped, BackendConflict, BackendNotFound):
            self.stats["dropped"] += 1
        except Exception as exc:
            self.stats["errors"] += 1
            logger.warning("simulated execution failed: %r", exc)
            logger.debug("details", exc_info=True)

    async def _guarded(self, coro: Coroutine[Any, Any, Any]) -> Any:
        try:
            return await coro
        except Exception as exc:
            logger.warning("simulator: %r", exc)
            return None

    async def _sleep(self, seconds: float) -> None:
        """A pause that ends early (raising Stopped) when the simulator stops."""
        if self._stopping.is_set():
            raise Stopped
        try:
            await asyncio.wait_for(self._stopping.wait(), timeout=max(0.0, seconds))
        except TimeoutError:
            return
        raise Stopped

    # ------------------------------------------------------------ one execution
    async def _execute(
        self, workflow: SimWorkflow, *, parent: Run | None = None, retry_of: str | None = None
    ) -> Run | None:
        """Run one execution to its end; None when it was taken out of our hands."""
        body: dict[str, Any] = {"workflow_uuid": workflow.uuid, "status": "pending"}
        body["mode"] = "retry" if retry_of else ("integrated" if parent else workflow.mode)
        if parent is not None:
            body["parent_execution_uuid"] = parent.uuid
        if retry_of:
            body["retry_of"] = retry_of
        created = await self.backend.create(body)
        depth = parent.depth + 1 if parent else 0
        run = Run(created["uuid"], workflow, created["version"], created["status"], depth, retry_of)
        self.active += 1
        self.stats["started"] += 1
        self.stats["children" if parent else "top_level"] += 1
        try:
            await self._sleep(self.rng.uniform(0.1, 0.8) * self.config.speed)
            await self._patch(run, {"status": "running", "execution_data": {"metadata": {"worker": "simulator"}}})
            await self._walk(run)
        except Dropped:
            self.stats["dropped"] += 1
            return None
        finally:
            self.active -= 1
        return run

    async def _walk(self, run: Run, after: str | None = None, previous: dict[str, Any] | None = None) -> None:
        """Walk the run's path (from the start, or past the node ``after`` when it resumes).
        ``previous`` is the last node's closing report, sent with the next one."""
        if not run.plan:
            run.plan = run.workflow.graph.plan(self.rng)
        plan = run.plan if after is None else nodes_after(run.plan, after)
        executed = {n.id for n in run.plan}
        fail_at = self._failure_node(run, plan)
        handed = previous.get("output") if previous else None  # what the next node receives
        for node in plan:
            received = node_input(node, handed, self.rng)
            report = {"node_id": node.id, "node_name": node.name, "status": "running", "input": received}
            await self._patch(run, {"node_runs": [*([previous] if previous else []), report]})
            await self._sleep(self._duration(node))
            if node is fail_at:
                await self._fail(run, node, node_error(node, self.rng))
                return
            output = await self._node_effect(run, node)
            if output is None:  # paused for review, or failed with its child: this walk ends here
                return
            handed = output
            if node.type == "if":  # it routes its items on, unchanged
                output, handed = {"branch": run.workflow.graph.branch_taken(node.id, executed)}, received
            previous = {"node_id": node.id, "node_name": node.name, "status": "success", "output": output}
        await self._patch(run, {"status": "completed", "node_runs": [previous] if previous else None})
        self.stats["completed"] += 1

    async def _node_effect(self, run: Run, node: Node) -> dict[str, Any] | None:
        """What a node does beyond taking time; its output, or None when the walk must end."""
        if node.type == "sub_workflow" and run.depth < MAX_DEPTH:
            child = self._child_workflow(run.workflow, node)
            if child is not None:
                return await self._run_child(run, node, child)
        if node.type == "approval":
            if run.depth == 0 and await self._pause_for_review(run, node):
                return None
            self.stats["auto_approved"] += 1
            return {"decision": "auto-approved", "reason": "review queue full or nested run"}
        return node_output(node, self.rng)

    async def _run_child(self, run: Run, node: Node, child_workflow: SimWorkflow) -> dict[str, Any] | None:
        """The parent waits while its child runs, then resumes (or fails with it)."""
        await self._patch(run, {"status": "waiting", "node_runs": [_report(node, "waiting")]})
        child = await self._execute(child_workflow, parent=run)
        if child is not None and child.status == "completed":
            await self._patch(run, {"status": "running", "node_runs": [_report(node, "running")]})
            return {"execution_uuid": child.uuid, "status": "completed"}
        reason = f"failed: {child.error}" if child is not None else "was cancelled"
        await self._fail(run, node, f"Sub-workflow '{child_workflow.name}' {reason}")
        return None

    async def _pause_for_review(self, run: Run, node: Node) -> bool:
        workspace = run.workflow.workspace_uuid
        self._reviews_in_flight[workspace] += 1  # so concurrent runs do not all pass the cap together
        try:
            waiting = await self.backend.awaiting_review(workspace)
            if waiting + self._reviews_in_flight[workspace] - 1 >= self.config.max_waiting:
                return False
            await self._patch(run, {"status": "waiting", "node_runs": [_report(node, "waiting")]})
            request = review_request(node, run.workflow.name, self.rng)
            due = dt.datetime.now(dt.UTC) + dt.timedelta(hours=24)
            try:
                body = request | {"execution_uuid": run.uuid, "due_at": due.isoformat()}
                approval = await self.backend.request_approval(body)
            except (BackendConflict, BackendNotFound):
                raise Dropped from None
        finally:
            self._reviews_in_flight[workspace] -= 1
        self._parked[run.uuid] = Parked(run, node, approval["uuid"])
        self.stats["awaiting_review"] += 1
        return True

    # ------------------------------------------------------------ human reviews
    async def _watch_parked(self) -> None:
        while True:
            await self._sleep(self.config.review_poll)
            await self.check_parked()

    async def check_parked(self) -> list[asyncio.Task[None]]:
        """One pass over the parked executions: continue those a human decision set running again
        (returns those tasks), forget those stopped, finished or deleted meanwhile."""
        tasks = []
        for key, parked in list(self._parked.items()):
            try:
                current = await self.backend.get(parked.run.uuid)
                if current["status"] == "waiting":
                    continue
                decision = await self.backend.approval(parked.approval_uuid) if current["status"] == "running" else None
            except BackendNotFound:
                self._parked.pop(key, None)
                continue
            except Exception as exc:  # a backend hiccup: look again next pass
                logger.warning("simulator: checking a parked execution failed: %r", exc)
                continue
            del self._parked[key]
            if decision is not None:
                parked.run.version, parked.run.status = current["version"], current["status"]
                tasks.append(self._spawn(self._resume(parked, decision)))
        return tasks

    async def _resume(self, parked: Parked, decision: dict[str, Any]) -> None:
        """Continue past the review node; a rejection fails the execution with the reviewer's comment."""
        run, node = parked.run, parked.node
        self.active += 1
        self.stats["resumed"] += 1
        try:
            if decision.get("status") == "rejected":
                error = f"Rejected by reviewer: {decision.get('comment') or 'no reason given'}"
                report = {"node_id": node.id, "node_name": node.name, "status": "error", "error": error}
                await self._patch(run, {"status": "failed", "error": error, "node_runs": [report]})
                self.stats["rejected"] += 1
                self.stats["failed"] += 1
                return
            output = {"decision": decision.get("status"), "decided_by": decision.get("decided_by")}
            closing = {"node_id": node.id, "node_name": node.name, "status": "success", "output": output}
            await self._walk(run, after=node.id, previous=closing)
        except Dropped:
            self.stats["dropped"] += 1
        finally:
            self.active -= 1

    async def _adopt_parked(self) -> None:
        """Watch executions parked before this simulator started (the demo seed's, a previous run's)."""
        workflows = {w.uuid: w for w in self.workflows}
        for item in await self._guarded(self.backend.parked()) or []:
            workflow = workflows.get(item["workflow_uuid"])
            if (
                workflow is None
                or item["node_id"] not in workflow.graph.nodes
                or item["execution_uuid"] in self._parked
            ):
                continue
            plan = workflow.graph.plan_through(item["node_id"], self.rng)
            run = Run(item["execution_uuid"], workflow, 0, "waiting", depth=0, plan=plan)
            self._parked[run.uuid] = Parked(run, workflow.graph.nodes[item["node_id"]], item["uuid"])

    async def _fail(self, run: Run, node: Node, error: str) -> None:
        report = {"node_id": node.id, "node_name": node.name, "status": "error", "error": error}
        await self._patch(run, {"status": "failed", "node_runs": [report]})
        self.stats["failed"] += 1
        if run.depth == 0 and run.retry_of is None and self.rng.random() < self.config.retry_rate:
            self._spawn(self._retry(run))

    async def _retry(self, failed: Run) -> None:
        """Someone hits "retry" a little later (without a request: the engine's own retry policy)."""
        await self._sleep(self.rng.uniform(1.0, 4.0) * self.config.speed)
        await self._start_retry(failed.workflow, failed.uuid)

    async def _start_retry(self, workflow: SimWorkflow, failed_uuid: str) -> None:
        """Run the retry; when it succeeds the failed execution points at it."""
        self.stats["retried"] += 1
        retry = await self._execute(workflow, retry_of=failed_uuid)
        if retry is not None and retry.status == "completed":
            await self.backend.update(failed_uuid, {"retry_success_id": retry.uuid})

    async def _watch_retry_requests(self) -> None:
        while True:
            await self._sleep(self.config.review_poll)
            await self.answer_retry_requests()

    async def answer_retry_requests(self) -> list[asyncio.Task[None]]:
        """Start a retry for each new retry request (an operator's Retry); returns those tasks."""
        return await self._requests.answer(self)

    async def _patch(self, run: Run, body: dict[str, Any]) -> None:
        """Update conditionally on the version we last saw, so a human stop is never overwritten.
        A 409 because of an unrelated bump (say a command-room flag) is re-read and retried."""
        fields = {k: v for k, v in body.items() if v is not None}
        for _ in range(3):
            try:
                result = await self.backend.update(run.uuid, fields | {"version": run.version})
            except BackendNotFound:
                raise Dropped from None
            except BackendConflict:
                try:
                    current = await self.backend.get(run.uuid)
                except BackendNotFound:
                    raise Dropped from None
                if current["status"] != run.status:
                    raise Dropped from None
                run.version = current["version"]
                continue
            run.version, run.status, run.error = result["version"], result["status"], result.get("error")
            return
        raise Dropped

    # ------------------------------------------------------------ choices
    def _failure_node(self, run: Run, plan: list[Node]) -> Node | None:
        rate = run.workflow.fail_rate if self.config.fail_rate is None else self.config.fail_rate
        if run.retry_of:
            rate /= 3  # most failures are transient: the retry usually passes
        failable = [n for n in plan if n.type in FAILURE_WEIGHTS]
        if not failable or self.rng.random() >= rate:
            return None
        return self.rng.choices(failable, [FAILURE_WEIGHTS[n.type] for n in failable])[0]

    def _duration(self, node: Node) -> float:
        low, high = SIM_SECONDS.get(node.type, (0.3, 2.0))
        return self.rng.uniform(low, high) * self.config.speed

    def _child_workflow(self, parent: SimWorkflow, node: Node) -> SimWorkflow | None:
        same_workspace = [w for w in self.workflows if w.workspace_uuid == parent.workspace_uuid and w is not parent]
        named = [w for w in same_workspace if w.name == node.params.get("workflow")]
        leaves = [w for w in same_workspace if all(n.type != "sub_workflow" for n in w.graph.nodes.values())]
        if named:
            return named[0]
        return self.rng.choice(leaves) if leaves else None


def _report(node: Node, status: str) -> dict[str, Any]:
    return {"node_id": node.id, "node_name": node.name, "status": status}
