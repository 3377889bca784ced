"""Athena -> n8n: a decided review resumes its n8n execution; a stop is reported as not possible.

Both are found by polling the bridge's own link rows joined to the approvals and executions (one
indexed query each per poll), so nothing is missed across a restart: a decision taken while the
bridge was down is passed on when it comes back.

**Stops.** n8n 1.x's public API cannot stop an execution (there is no ``/api/v1/executions/{id}/stop``;
checked on n8n 1.123.81, the newest ``n8n@1``, in the spec it ships: list, read, delete and retry only;
only the editor's session-authenticated ``/rest`` API can). So when an operator stops a bridged
execution in Athena, Athena's side is cancelled (its reviews too, so nothing resumes it), and the
bridge says, on the execution itself (``metadata.n8n_stop``), in its log and in /metrics
(``athena_bridge_stops_refused_total``), that n8n goes on running it.
"""

from __future__ import annotations

import logging
import uuid as uuid_lib

from app.bridges.n8n.client import N8nClient
from app.bridges.n8n.store import BridgeStore
from app.bridges.n8n.tables import bridges
from app.db.models.base import utcnow
from app.domain.executions.schemas import ExecutionDataIn, ExecutionUpdate
from app.lib.errors import AppError
from app.lib.identity import CurrentUser
from app.services import Services

logger = logging.getLogger("athena.bridge.n8n")
STOP_NOTE = (
    "Stopped in Athena only: n8n's public API (1.x) cannot stop an execution, so n8n execution {id} goes on "
    "running there. Stop it in n8n's editor (Executions > Stop) if it must not finish."
)


class Actions:
    def __init__(self, services: Services, user: CurrentUser, store: BridgeStore, client: N8nClient) -> None:
        self.services = services
        self.user = user
        self.store = store
        self.client = client

    async def resume_decided(self) -> list[int]:
        """Call the resume URL of every decided review's execution; returns the n8n ids resumed.
        n8n down raises ``N8nUnavailable`` (the runner backs off and the decision waits in the DB)."""
        resumed: list[int] = []
        for item in await self.store.decided():
            body = {
                "decision": "approved" if item.approved else "rejected",
                "comment": item.comment,
                "decided_by": item.decided_by,
            }
            response = await self.client.resume(item.resume_url, item.resume_method, body)
            if response.status_code < 300:
                await self.store.update_link(item.n8n_id, resumed_at=utcnow())
                resumed.append(item.n8n_id)
                continue
            # 404 / 409: the execution is gone or no longer waiting (resumed by someone else, timed
            # out): retrying cannot help, so it is recorded and left.
            error = f"HTTP {response.status_code}: {response.text[:300]}"
            logger.warning("n8n execution %s did not take the decision: %s", item.n8n_id, error)
            await self.store.update_link(item.n8n_id, resume_error=error)
        if resumed:
            await self.store.report(resumes=bridges.c.resumes + len(resumed))
        return resumed

    async def report_stops(self) -> int:
        """Executions stopped in Athena that n8n keeps running: noted once each (see module doc)."""
        noted = 0
        for link in await self.store.stopped_in_athena():
            note = STOP_NOTE.format(id=link.n8n_id)
            logger.warning("execution %s: %s", link.execution_uuid, note)
            change = ExecutionUpdate(execution_data=ExecutionDataIn(metadata={"n8n_stop": note}))
            try:
                await self.services.executions.update(self.user, uuid_lib.UUID(link.execution_uuid), change)
            except AppError as exc:  # deleted meanwhile: the note has nowhere to go
                logger.info("execution %s: stop note not written: %s", link.execution_uuid, exc.message)
            await self.store.update_link(link.n8n_id, stop_seen_at=utcnow())
            noted += 1
        if noted:
            await self.store.report(stops_refused=bridges.c.stops_refused + noted)
        return noted
