"""Item 11: Hypothesis rule-based test of random create/update/stop/request/approve/delete sequences
over the real services and database (SQLite or PostgreSQL, as the suite runs).

After every step: the database holds exactly the model's status and version for each execution
(so only allowed transitions happened and terminal states absorbed everything after them), each
accepted change added one version, and every execution has exactly one event per committed change
(``events == version``, versions 1, 2, 3... in seq order). Each example gets its own workspace.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import uuid
from dataclasses import dataclass, field
from typing import Any

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
from tests.test_state_machine import ALLOWED, TERMINAL  # the promised machine, written out apart from app code

STATUSES = list(ALLOWED)
COUNTER = itertools.count()


@dataclass
class Model:
    status: str
    version: int = 1
    deleted: bool = False
    pending: list[uuid.UUID] = field(default_factory=list)


def make_machine(settings_: Settings) -> type[RuleBasedStateMachine]:
    class ExecutionLifecycle(RuleBasedStateMachine):
        executions = Bundle("executions")

        def __init__(self) -> None:
            super().__init__()
            self.loop = asyncio.new_event_loop()
            self.app = create_app(settings_)
            self.services = self.app.state.services
            self.model: dict[uuid.UUID, Model] = {}

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
                self.user = await accounts.authenticate_token(token)
                wf = await self.services.workflows.create_workflow(
                    self.user, WorkflowCreate(workspace_uuid=ws.uuid, name="sm")
                )
                self.workflow = uuid.UUID(wf["uuid"])

            self.run(setup())

        def teardown(self) -> None:
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

        @rule(u=executions, target_status=st.sampled_from(STATUSES))
        def update(self, u: uuid.UUID, target_status: str) -> None:
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

        @rule(u=executions)
        def stop(self, u: uuid.UUID) -> None:
            m = self.model[u]
            outcome, result = self._expect(u, self.services.executions.stop(self.user, u))
            if outcome == "gone":
                return
            if m.status == "cancelled":
                assert outcome == "ok" and result.stopped is False
            elif m.status in TERMINAL:
                assert outcome == "409"
            else:
                assert outcome == "ok" and result.stopped is True
                m.status, m.version = "cancelled", m.version + 1
                m.pending.clear()

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
