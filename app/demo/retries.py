"""The engine's side of a Retry click: an operator's retry request (``execution.retry_requested``,
one ``retry_request`` row in the operator audit log) is answered by starting the retry, an
execution with ``retry_of`` set, as docs/api.md asks an engine to. The simulator polls the audit
log (the same for the service layer and the REST API) and answers each request once."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import TYPE_CHECKING, Any

from app.demo.sim_types import BackendConflict, BackendNotFound

if TYPE_CHECKING:
    from app.demo.simulator import Simulator

# A request made this long before the simulator started is still answered (a restart in between).
CATCH_UP = dt.timedelta(minutes=2)


class RetryRequests:
    """Which requests of the audit log are new: each is answered once, older ones never."""

    def __init__(self, started: dt.datetime) -> None:
        self.since = started - CATCH_UP
        self.seen: set[int] = set()

    def new(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        fresh = [
            item
            for item in items
            if item["id"] not in self.seen
            and item.get("execution_uuid")
            and dt.datetime.fromisoformat(item["created_at"]) >= self.since
        ]
        self.seen.update(item["id"] for item in items)
        return fresh

    async def answer(self, sim: Simulator) -> list[asyncio.Task[None]]:
        """Start a retry for each new request about a failed execution (not retried successfully
        yet) of a workflow the simulator runs; returns those tasks."""
        tasks = []
        workflows = {w.uuid: w for w in sim.workflows}
        for request in self.new(await sim._guarded(sim.backend.retry_requests()) or []):
            try:
                failed = await sim.backend.get(request["execution_uuid"])
            except (BackendNotFound, BackendConflict):
                continue
            workflow = workflows.get(failed["workflow_uuid"])
            if workflow is not None and failed["status"] == "failed" and not failed.get("retry_success_id"):
                sim.stats["retry_requests"] += 1
                tasks.append(sim._spawn(sim._start_retry(workflow, failed["uuid"])))
        return tasks
