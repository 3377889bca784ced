"""Composition root: one Database, one broker and the services built on them, per app instance."""

from __future__ import annotations

from dataclasses import dataclass

from app.config import Settings
from app.db.engine import Database
from app.domain.accounts.services import AccountService
from app.domain.approvals.services import ApprovalService
from app.domain.dashboard.services import DashboardService
from app.domain.executions.services import ExecutionService
from app.domain.metrics.services import MetricsService
from app.domain.workflows.services import WorkflowService
from app.realtime.hub import Hub
from app.realtime.setup import build_hub


@dataclass
class Services:
    settings: Settings
    db: Database
    hub: Hub
    accounts: AccountService
    executions: ExecutionService
    workflows: WorkflowService
    approvals: ApprovalService
    dashboard: DashboardService
    metrics: MetricsService

    @classmethod
    def build(cls, settings: Settings) -> Services:
        db = Database.from_settings(settings)
        hub = build_hub(settings, db)
        executions = ExecutionService(db, hub)
        return cls(
            settings=settings,
            db=db,
            hub=hub,
            accounts=AccountService(db),
            executions=executions,
            workflows=WorkflowService(db),
            approvals=ApprovalService(executions),
            dashboard=DashboardService(db),
            metrics=MetricsService(db),
        )

    async def start(self) -> None:
        await self.hub.start()

    async def close(self) -> None:
        await self.hub.stop()
        await self.db.dispose()
