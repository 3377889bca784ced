"""Item 11: Hypothesis rule-based test of random create/update/stop/request/approve/delete sequences
over the real services and database (SQLite or PostgreSQL, as the suite runs).

After every step: the database holds exactly the model's status and version for each execution
(so only allowed transitions happened and terminal states absorbed everything after them), each
accepted change added one version, and every execution has exactly one event per committed change
(``events == version``, versions 1, 2, 3... in seq order). Each example gets its own workspace.

Terminal states are checked directly, not left to chance: whenever a rule touches a finished
execution, every other status is asked for through the HTTP API (``PATCH``) and each must answer
409 naming both statuses, with the row and its events unchanged; ``finish`` drives executions to a
terminal state along allowed transitions so that this happens in every example. Children are
created under executions, and a stop must cancel exactly what the cascade promises (the execution,
its waiting ancestors, their stoppable subtree), one version and one event each.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, initialize, invariant, rule
from sqlalchemy import select

from app.asgi import create_app
from app.config import Settings
from app.db.models import ExecutionEvent, Role, WorkflowExecution
from app.domain.approvals.schemas import ApprovalRequest
from app.domain.executions.schemas import ExecutionCreate, ExecutionUpdate
from app.domain.workflows.schemas import WorkflowCreate
from app.lib.errors import ConflictError, NotFoundError
from tests.conftest import EXECUTIONS
from tests.test_state_machine import ALLOWED, TERMINAL  # the promised machine, written out apart from app code

STATUSES = list(ALLOWED)
STOPPABLE = {"pending", "running", "paused", "waiting"}
COUNTER = itertools.count()


def route(source: str, target: str) -> list[str]:
    """The shortest chain of allowed transitions from ``source`` to ``target`` (BFS over ALLOWED)."""
    paths = {source: []}
    queue = [source]
    while queue:
        here = queue.pop(0)
        for nxt in sorted(ALLOWED[here]):
            if nxt not in paths:
                paths[nxt] = [*paths[here], nxt]
                queue.append(nxt)
    return paths.get(target, [])


@dataclass
class Model:
    status: str
    version: int = 1
    deleted: bool = False
    pending: list[uuid.UUID] = field(default_factory=list)
    parent: uuid.UUID | None = None


def make_machine(settings_: Settings) -> type[RuleBasedStateMachine]:
    class ExecutionLifecycle(RuleBasedStateMachine):
        executions = Bundle("executions")

        def __init__(self) -> None:
            super().__init__()
            self.loop = asyncio.new_event_loop()
            self.app = create_app(settings_)
            self.services = self.app.state.services
            self.model: dict[uuid.UUID, Model] = {}
            self.http = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=self.app), base_url="http://testserver.local"
            )

        def run(self, coro: Any) -> Any:
            return self.loop.run_until_complete(coro)

        @initialize()
        def workspace(self) -> None:
            n = next(COUNTER)

            async def setup() -> None:
                accounts = self.services.accounts
                ws = await accounts.create_workspace(f"SM {n} {uuid.uuid4().hex[:6]}", "sm-org")
                self.workspace_id = ws.id
                user = await accounts.create_user(
                    f"sm-{n}-{ws.id}@example.test", "pw", workspace=str(ws.uuid), role=Role.ADMIN
                )
                token = await accounts.create_token(user.id)
                self.api_headers = {"Authorization": f"Bearer {token}"}
                self.user = await accounts.authenticate_token(token)
                wf = await self.services.workflows.create_workflow(
                    self.user, WorkflowCreate(workspace_uuid=ws.uuid, name="sm")
                )
                self.workflow = uuid.UUID(wf["uuid"])

            self.run(setup())

        def teardown(self) -> None:
            self.run(self.http.aclose())
            self.run(self.services.close())
            self.loop.close()

        # ------------------------------------------------------------------ rules
        @rule(target=executions, status=st.sampled_from(["pending", "running", "waiting"]))
        def create(self, status: str) -> uuid.UUID:
            body = ExecutionCreate(workflow_uuid=self.workflow, status=status)  # type: ignore[arg-type]
            created = self.run(self.services.executions.create(self.user, body))
            u = uuid.UUID(created["uuid"])
            self.model[u] = Model(status)
            return u

        def _expect(self, u: uuid.UUID, call: Any) -> Any:
            """Run a write; NotFound for deleted executions, else let the caller judge."""
            try:
                return "ok", self.run(call)
            except NotFoundError:
                assert self.model[u].deleted
                return "gone", None
            except ConflictError as exc:
                return "409", exc

        @rule(target=executions, parent=executions, status=st.sampled_from(["pending", "running", "waiting"]))
        def create_child(self, parent: uuid.UUID, status: str) -> uuid.UUID:
            if self.model[parent].deleted:
                return parent  # a deleted execution takes no children; the bundle gets the parent again
            body = ExecutionCreate(workflow_uuid=self.workflow, status=status, parent_execution_uuid=parent)  # type: ignore[arg-type]
            created = self.run(self.services.executions.create(self.user, body))
            u = uuid.UUID(created["uuid"])
            self.model[u] = Model(status, parent=parent)
            return u

        def _change(self, u: uuid.UUID, target_status: str) -> None:
            """One update through the services, judged against the written-out machine."""
            m = self.model[u]
            outcome, _ = self._expect(
                u, self.services.executions.update(self.user, u, ExecutionUpdate(status=target_status))
            )  # type: ignore[arg-type]
            if outcome == "gone":
                return
            allowed = target_status in ALLOWED[m.status]
            if target_status == m.status:
                assert outcome == "ok"  # a no-op: no version, no event
            elif allowed:
                assert outcome == "ok", (m.status, target_status)
                m.status, m.version = target_status, m.version + 1
                if target_status in TERMINAL:
                    m.pending.clear()
            else:
                assert outcome == "409", (m.status, target_status)

        def _terminal_absorbs_everything(self, u: uuid.UUID) -> None:
            """Every other status asked of a finished execution through the API: 409 naming both."""
            m = self.model[u]
            if m.status not in TERMINAL or m.deleted:
                return
            for target in STATUSES:
                if target == m.status:
                    continue
                r = self.run(self.http.patch(f"{EXECUTIONS}/{u}", json={"status": target}, headers=self.api_headers))
                assert r.status_code == 409, (m.status, target, r.status_code, r.text[:200])
                body = r.json()
                assert (body["current_status"], body["requested_status"]) == (m.status, target), body
            # The invariant after this step checks that nothing moved: same status, version, events.

        @rule(u=executions, target_status=st.sampled_from(STATUSES))
        def update(self, u: uuid.UUID, target_status: str) -> None:
            self._change(u, target_status)
            self._terminal_absorbs_everything(u)

        @rule(u=executions, end=st.sampled_from(sorted(TERMINAL)))
        def finish(self, u: uuid.UUID, end: str) -> None:
            """Drive an execution to a terminal state along allowed transitions, then try to leave it."""
            m = self.model[u]
            if not m.deleted:
                for step in route(m.status, end):
                    self._change(u, step)
            self._terminal_absorbs_everything(u)

        def _cascade(self, u: uuid.UUID) -> list[uuid.UUID]:
            """What a stop of ``u`` cancels, by the promise: ``u``, its waiting ancestors, and the
            stoppable live subtree of the topmost one cancelled."""
            ancestors, p = [], self.model[u].parent
            while p is not None and not self.model[p].deleted and self.model[p].status == "waiting":
                ancestors.append(p)
                p = self.model[p].parent
            root = ancestors[-1] if ancestors else u
            subtree, frontier = set(), [root]
            while frontier:
                node = frontier.pop()
                children = [c for c, cm in self.model.items() if cm.parent == node and c not in subtree]
                subtree.update(children)
                frontier.extend(children)
            live = [c for c in subtree if not self.model[c].deleted and self.model[c].status in STOPPABLE]
            return [u, *ancestors, *(c for c in live if c != u and c not in ancestors)]

        @rule(u=executions)
        def stop(self, u: uuid.UUID) -> None:
            m = self.model[u]
            expected = self._cascade(u) if m.status in STOPPABLE and not m.deleted else [u]
            outcome, result = self._expect(u, self.services.executions.stop(self.user, u))
            if outcome == "gone":
                return
            if m.status == "cancelled":
                assert outcome == "ok" and result.stopped is False
            elif m.status in TERMINAL:
                assert outcome == "409"
            else:
                assert outcome == "ok" and result.stopped is True
                assert sorted(map(str, expected[1:])) == sorted(result.cancelled_uuids), (expected, result)
                for cancelled in expected:
                    cm = self.model[cancelled]
                    cm.status, cm.version = "cancelled", cm.version + 1
                    cm.pending.clear()
            self._terminal_absorbs_everything(u)

        @rule(u=executions)
        def request_approval(self, u: uuid.UUID) -> None:
            m = self.model[u]
            body = ApprovalRequest(execution_uuid=u, node_id="review", title="Check")
            outcome, result = self._expect(u, self.services.approvals.request(self.user, body))
            if outcome == "gone":
                return
            if m.status == "waiting":
                assert outcome == "ok"
                m.version += 1
                m.pending.append(uuid.UUID(result["uuid"]))
            else:
                assert outcome == "409"

        @rule(u=executions)
        def approve(self, u: uuid.UUID) -> None:
            m = self.model[u]
            if not m.pending or m.deleted:
                return
            approval = m.pending[0]
            outcome, _ = self._expect(u, self.services.approvals.decide(self.user, approval, True, None))
            assert outcome == "ok"
            m.pending.pop(0)
            m.version += 1
            if m.status == "waiting" and not m.pending:
                m.status = "running"

        @rule(u=executions)
        def delete(self, u: uuid.UUID) -> None:
            m = self.model[u]
            outcome, _ = self._expect(u, self.services.executions.delete(self.user, u))
            if outcome == "ok":
                assert not m.deleted
                m.deleted, m.version = True, m.version + 1

        # ------------------------------------------------------------- invariants
        @invariant()
        def database_matches_the_model(self) -> None:
            if not self.model:
                return
            E, V = WorkflowExecution, ExecutionEvent

            async def read() -> tuple[dict[uuid.UUID, Any], dict[int, list[int]], list[int]]:
                async with self.services.db.read() as session:
                    rows = (
                        await session.execute(
                            select(E.uuid, E.id, E.status, E.version, E.deleted_at).where(
                                E.workspace_id == self.workspace_id
                            )
                        )
                    ).all()
                    events = (
                        await session.execute(
                            select(V.execution_id, V.version, V.seq)
                            .where(V.workspace_id == self.workspace_id)
                            .order_by(V.seq)
                        )
                    ).all()
                by_execution: dict[int, list[int]] = {}
                for e in events:
                    by_execution.setdefault(e.execution_id, []).append(e.version)
                return {r.uuid: r for r in rows}, by_execution, [e.seq for e in events]

            rows, versions, seqs = self.run(read())
            assert seqs == list(range(1, len(seqs) + 1))
            for u, m in self.model.items():
                row = rows[u]
                assert (row.status, row.version, row.deleted_at is not None) == (m.status, m.version, m.deleted), u
                assert versions[row.id] == list(range(1, m.version + 1))  # one event per committed change

    return ExecutionLifecycle


def test_random_lifecycles_keep_the_state_machine(settings: Settings) -> None:
    machine = make_machine(settings)
    machine.TestCase.settings = settings_profile
    machine.TestCase().runTest()


# CI-sized; ATHENA_SM_EXAMPLES=200 for the documented long run (docs/reliability.md).
settings_profile = hypothesis_settings(
    max_examples=int(os.environ.get("ATHENA_SM_EXAMPLES", "8")), stateful_step_count=20, deadline=None
)
