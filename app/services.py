"""Composition root: one Database, one broker and the services built on them, per app instance."""

from __future__ import annotations

from dataclasses import dataclass

from app.config import Settings
from app.db.engine import Database
from app.domain.accounts.services import AccountService
from app.domain.approvals.services import ApprovalService
from app.domain.events.broker import InProcessBroker
from app.domain.executions.services import ExecutionService
from app.domain.workflows.services import WorkflowService


@dataclass
class Services:
    settings: Settings
    db: Database
    broker: InProcessBroker
    accounts: AccountService
    executions: ExecutionService
    workflows: WorkflowService
    approvals: ApprovalService

    @classmethod
    def build(cls, settings: Settings) -> Services:
        db = Database.from_settings(settings)
        broker = InProcessBroker()
        executions = ExecutionService(db, broker)
        return cls(
            settings=settings,
            db=db,
            broker=broker,
            accounts=AccountService(db),
            executions=executions,
            workflows=WorkflowService(db),
            approvals=ApprovalService(executions),
        )

    async def close(self) -> None:
        await self.db.dispose()
