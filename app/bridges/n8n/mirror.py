"""n8n -> Athena: workflows and executions written through the service layer, keyed by n8n's ids.

Every execution write goes through ``ExecutionService`` (``run_write``: the row change and its event
in one transaction, published after commit), so the dashboard, the API socket and the audit see a
bridged execution exactly as one an engine reported over REST. The one thing REST could not give is
done here: the link row (n8n id -> execution) is inserted in the very transaction that creates the
execution, so a crash can neither lose an execution nor create it twice on restart.
"""

from __future__ import annotations

import logging
import uuid as uuid_lib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.bridges.n8n import mapping as m
from app.bridges.n8n.store import BridgeStore, Link
from app.bridges.n8n.tables import execution_links, workflow_links
from app.db.models import ExecutionStatus, Workflow, WorkflowApproval, WorkflowExecution
from app.db.models.base import utcnow
from app.domain.approvals.schemas import ApprovalRequest
from app.domain.events.recorder import CommittedEvent
from app.domain.executions.schemas import ExecutionCreate, ExecutionDataIn, ExecutionUpdate
from app.domain.executions.services import ExecutionService
from app.lib.errors import ConflictError, NotFoundError
from app.lib.identity import CurrentUser
from app.services import Services

logger = logging.getLogger("athena.bridge.n8n")
E = WorkflowExecution


@dataclass(frozen=True)
class _New:
    n8n_id: int
    execution: dict[str, Any]
    body: ExecutionCreate
    runs: list[dict[str, Any]]
    workflow_id: int
    parent_id: int | None
    fp: str


class Mirror:
    def __init__(
        self,
        services: Services,
        user: CurrentUser,
        store: BridgeStore,
        workspace_id: int,
        resume_url: Callable[[int, str | None], str],
    ) -> None:
        self.services = services
        self.resume_url = resume_url
        self.user = user
        self.store = store
        self.workspace_id = workspace_id
        self.workflows: dict[str, tuple[int, str | None]] = {}  # n8n id -> (Athena id, n8n updatedAt)
        self.names: dict[int, tuple[uuid_lib.UUID, str]] = {}  # Athena workflow id -> (uuid, name)

    async def load(self) -> None:
        self.workflows = await self.store.workflow_links()

    # ----------------------------------------------------------------- workflows
    async def sync_workflow(self, wf: dict[str, Any]) -> int:
        """Create the Athena workflow of an n8n workflow, or refresh its name and graph when n8n's
        ``updatedAt`` moved. No events: workflows have none (as ``POST /api/v1/workflows``)."""
        n8n_id = str(wf["id"])
        known = self.workflows.get(n8n_id)
        updated_at = wf.get("updatedAt")
        if known is not None and (known[1] == updated_at or updated_at is None):
            return known[0]
        nodes, edges = m.graph(wf)
        name = (str(wf.get("name") or f"n8n workflow {n8n_id}").strip() or n8n_id)[:255]
        description = f"Mirrored from n8n workflow {n8n_id} by athena bridge n8n."
        async with self.services.db.write() as session:
            if known is None:
                row = Workflow(
                    workspace_id=self.workspace_id, user_id=self.user.id, name=name, description=description,
                    nodes=nodes, edges=edges, is_active=True,  # n8n's inactive ones still run (sub-workflows)
                )  # fmt: skip
                session.add(row)
                await session.flush()
                workflow_id = int(row.id)
                await session.execute(
                    insert(workflow_links).values(
                        bridge_id=self.store.bridge_id,
                        n8n_id=n8n_id,
                        workflow_id=workflow_id,
                        n8n_updated_at=updated_at,
                    )
                )
            else:
                workflow_id = known[0]
                await session.execute(
                    update(Workflow).where(Workflow.id == workflow_id).values(name=name, nodes=nodes, edges=edges)
                )
                await session.execute(
                    update(workflow_links)
                    .where(workflow_links.c.bridge_id == self.store.bridge_id, workflow_links.c.n8n_id == n8n_id)
                    .values(n8n_updated_at=updated_at)
                )
        self.workflows[n8n_id] = (workflow_id, updated_at)
        self.names.pop(workflow_id, None)  # renamed: read again
        return workflow_id

    async def _workflow_for(self, execution: dict[str, Any]) -> tuple[int, uuid_lib.UUID, str]:
        """The Athena workflow (id, uuid, name) of an execution; created from ``workflowData`` when the
        workflow appeared in n8n after the last workflow sync."""
        n8n_wf = str(execution.get("workflowId"))
        if n8n_wf not in self.workflows:
            data = dict(execution.get("workflowData") or {})
            data.setdefault("id", n8n_wf)
            data["updatedAt"] = None  # only the workflows list's updatedAt marks a graph as current
            await self.sync_workflow(data | {"id": n8n_wf})
        workflow_id = self.workflows[n8n_wf][0]
        if workflow_id not in self.names:  # one read per workflow, not per execution (a burst's cost)
            async with self.services.db.read() as session:
                query = select(Workflow.uuid, Workflow.name).where(Workflow.id == workflow_id)
                row = (await session.execute(query)).one()
            self.names[workflow_id] = (row.uuid, row.name)
        return workflow_id, *self.names[workflow_id]

    # ----------------------------------------------------------------- executions
    async def mirror(self, execution: dict[str, Any], link: Link | None) -> Link | None:
        """Bring Athena in line with one n8n execution (``includeData`` answer). Returns its link."""
        n8n_id = int(execution["id"])
        fp = m.fingerprint(execution)
        if link is None:
            await self._create(execution, fp)
            link = (await self.store.links([n8n_id])).get(n8n_id)
        elif link.fingerprint != fp:
            try:
                await self._update(execution, link)
            except NotFoundError:  # deleted in Athena (the trash): nothing more is mirrored into it
                await self.store.update_link(n8n_id, is_open=False, fingerprint=fp)
                return None
            await self.store.update_link(
                n8n_id, n8n_status=execution.get("status") or "unknown", is_open=_is_open(execution), fingerprint=fp
            )
            link = (await self.store.links([n8n_id])).get(n8n_id)
        if link is not None:
            await self._maybe_request_review(execution, link)
        return link

    async def _create(self, execution: dict[str, Any], fp: str) -> None:
        await self.create_many([execution])

    async def create_many(self, executions: list[dict[str, Any]]) -> int:
        """New executions (in id order, none the parent of another) created in one transaction with
        their events and links: under a burst the cost per execution was mostly its own
        transaction. Returns how many were created (one another bridge process took is skipped)."""
        prepared = [await self._prepare(e) for e in executions]
        svc = self.services.executions

        async def work(session: AsyncSession) -> tuple[int, list[CommittedEvent]]:
            taken = await session.execute(
                select(execution_links.c.n8n_id).where(
                    execution_links.c.bridge_id == self.store.bridge_id,
                    execution_links.c.n8n_id.in_([p.n8n_id for p in prepared]),
                )
            )
            skip = {int(n8n_id) for (n8n_id,) in taken}  # another bridge process mirrored them first
            created: dict[int, list[tuple[str, int]]] = {}  # workspace id -> its events' changes
            for item in prepared:
                if item.n8n_id not in skip:
                    workspace_id, execution_id = await self._insert(session, item)
                    created.setdefault(workspace_id, []).append(("execution.created", execution_id))
            await session.flush()
            events: list[CommittedEvent] = []
            for workspace_id, changes in created.items():
                events += (await svc.record_changes(session, workspace_id, changes))[1]
            return sum(len(c) for c in created.values()), events

        return await svc.run_write(work)

    async def _prepare(self, execution: dict[str, Any]) -> _New:
        """What creating an execution needs from outside its transaction (its workflow, parent)."""
        workflow_id, workflow_uuid, _ = await self._workflow_for(execution)
        runs = m.node_runs(execution)
        body = ExecutionCreate(
            workflow_uuid=workflow_uuid,
            status=m.athena_status(execution.get("status"), bool(execution.get("finished"))).value,
            mode=(str(execution.get("mode") or "") or None) and str(execution["mode"])[:50],
            retry_of=await self._linked_uuid(execution.get("retryOf")),
            wait_till=m.wait_till(execution),
            error=m.execution_error(execution),
            execution_data=ExecutionDataIn(workflow_data=runs, metadata=_metadata(execution)),
        )
        parent_id = await self._parent_execution_id(execution)
        return _New(int(execution["id"]), execution, body, runs, workflow_id, parent_id, m.fingerprint(execution))

    async def _insert(self, session: AsyncSession, item: _New) -> tuple[int, int]:
        """One execution, n8n's times on it, its workflow's use and its link; (workspace, id)."""
        wf = (
            await session.execute(select(Workflow.id, Workflow.workspace_id).where(Workflow.id == item.workflow_id))
        ).one()
        now = utcnow()
        execution_id = await ExecutionService._insert(session, self.user, item.body, wf, item.parent_id, now)
        values = _n8n_times(item.execution, item.body.status)
        if item.body.status in ("running", "waiting"):
            values["running_node"] = m.running_node(item.execution, item.runs)
        await session.execute(update(E).where(E.id == execution_id).values(**values))
        await session.execute(
            update(Workflow)
            .where(Workflow.id == item.workflow_id)
            .values(trigger_count=Workflow.trigger_count + 1, last_used_at=now)
        )
        status = item.execution.get("status") or "unknown"
        await self.store.insert_link(session, item.n8n_id, execution_id, status, item.fp)
        return int(wf.workspace_id), execution_id

    async def _update(self, execution: dict[str, Any], link: Link) -> None:
        target = m.athena_status(execution.get("status"), bool(execution.get("finished")))
        path = m.status_path(ExecutionStatus(link.athena_status), target)
        if path is None:
            # Athena finished it first (an operator's stop): n8n's later states are not forced on it.
            logger.info(
                "n8n execution %s is %s; Athena's is %s: left as it is", link.n8n_id, target, link.athena_status
            )
            return
        runs = m.node_runs(execution)
        finishing = target.value in ("completed", "failed", "cancelled")
        for step in path[:-1]:  # e.g. waiting -> running before completed
            await self._apply(link, ExecutionUpdate(status=step.value))
        change = ExecutionUpdate(
            status=target.value,
            wait_till=m.wait_till(execution),
            error=m.execution_error(execution) if finishing or execution.get("status") == "error" else msgspec.UNSET,
            running_node=msgspec.UNSET if finishing else m.running_node(execution, runs),
            execution_data=ExecutionDataIn(workflow_data=runs, metadata=_metadata(execution)),
        )
        await self._apply(link, change)

    async def _apply(self, link: Link, change: ExecutionUpdate) -> None:
        try:
            await self.services.executions.update(self.user, uuid_lib.UUID(link.execution_uuid), change)
        except ConflictError as exc:  # someone changed its status meanwhile: the next poll re-reads
            logger.info("n8n execution %s: %s", link.n8n_id, exc.message)

    async def _parent_execution_id(self, execution: dict[str, Any]) -> int | None:
        parent = m.parent_id(execution)
        if parent is None:
            return None
        found = (await self.store.links([parent])).get(parent)
        return found.execution_id if found else None

    async def _linked_uuid(self, n8n_id: Any) -> str | None:
        """``retryOf``: the Athena execution it retries when mirrored, else ``n8n:<id>``."""
        if n8n_id in (None, "") or not str(n8n_id).isdigit():
            return None
        found = (await self.store.links([int(n8n_id)])).get(int(n8n_id))
        return found.execution_uuid if found else f"n8n:{n8n_id}"

    # ----------------------------------------------------------------- reviews
    async def _maybe_request_review(self, execution: dict[str, Any], link: Link) -> None:
        """A Wait node "On Webhook Call" becomes a pending review, once per wait: not again while the
        last review's decision has not been passed on (n8n still parks at that wait), but again
        when the run parks at a Wait node after being resumed (a second wait, or a loop)."""
        if link.athena_status != "waiting" or (link.approval_id is not None and not link.resumed):
            return
        _, _, workflow_name = await self._workflow_for(execution)
        wait = m.wait_for_decision(execution, workflow_name)
        if wait is None:
            return
        approval_id = await self._pending_approval(link.execution_id, wait.node)
        if approval_id is None:
            request = ApprovalRequest(
                execution_uuid=uuid_lib.UUID(link.execution_uuid), node_id=wait.node[:255], title=wait.title,
                description=wait.description, payload=wait.payload,
            )  # fmt: skip
            try:
                await self.services.approvals.request(self.user, request)
            except (ConflictError, NotFoundError) as exc:
                logger.info("n8n execution %s: no review requested: %s", link.n8n_id, exc.message)
                return
            approval_id = await self._pending_approval(link.execution_id, wait.node)
        if approval_id is None:
            return  # decided or cancelled in the instant since: the next poll sees it
        url = self.resume_url(link.n8n_id, wait.suffix)
        await self.store.update_link(
            link.n8n_id, approval_id=approval_id, resume_url=url, resume_method=wait.method.upper(),
            resumed_at=None, resume_error=None,
        )  # fmt: skip

    async def _pending_approval(self, execution_id: int, node: str) -> int | None:
        """A review requested before a crash, whose link was not updated: adopt it, never ask twice."""
        A = WorkflowApproval
        async with self.services.db.read() as session:
            found = await session.execute(
                select(A.id).where(A.execution_id == execution_id, A.node_id == node[:255], A.status == "pending")
            )
            value = found.scalar()
        return int(value) if value is not None else None


def _is_open(execution: dict[str, Any]) -> bool:
    return (execution.get("status") or "unknown") in m.OPEN_N8N and not execution.get("finished")


def _metadata(execution: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "engine": "n8n",
        "n8n_execution_id": str(execution["id"]),
        "n8n_status": execution.get("status"),
    }
    meta["n8n_workflow_id"] = str(execution.get("workflowId"))
    if execution.get("startedAt") and execution.get("stoppedAt") and not _is_open(execution):
        started, stopped = m.parse_time(execution["startedAt"]), m.parse_time(execution["stoppedAt"])
        if started and stopped:
            meta["execution_time"] = round((stopped - started).total_seconds(), 3)
    return meta


def _n8n_times(execution: dict[str, Any], status: str) -> dict[str, Any]:
    """A created execution carries n8n's own times (a backfilled one is as old as it is in n8n)."""
    created = m.parse_time(execution.get("createdAt") or execution.get("startedAt"))
    started = m.parse_time(execution.get("startedAt"))
    stopped = m.parse_time(execution.get("stoppedAt"))
    values: dict[str, Any] = {}
    if created:
        values["created_at"] = created
    if started and status != "pending":
        values["started_at"] = started
    if stopped and status in ("completed", "failed", "cancelled"):
        values["stopped_at"] = stopped
    return values
