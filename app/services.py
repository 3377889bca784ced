"""Composition root: one Database, one broker and the services built on them, per app instance."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.config import Settings
from app.db.engine import Database
from app.domain.accounts.services import AccountService
from app.domain.approvals.services import ApprovalService
from app.domain.dashboard.services import DashboardService
from app.domain.executions.services import ExecutionService
from app.domain.metrics.services import MetricsService
from app.domain.operations.services import OperationService
from app.domain.workflows.services import WorkflowService
from app.lib.idempotency_store import IdempotencyStore
from app.lib.ratelimit import ApiRateLimit, RateLimiter, SignInGuard
from app.lib.read_gate import ReadGate
from app.lib.security import PasswordCheck
from app.realtime.guard import SocketGuard
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
    operations: OperationService
    limiter: RateLimiter
    sign_in_guard: SignInGuard
    api_rate_limit: ApiRateLimit
    sockets: SocketGuard
    read_gate: ReadGate
    idempotency: IdempotencyStore

    @classmethod
    def build(cls, settings: Settings) -> Services:
        db = Database.from_settings(settings)
        hub = build_hub(settings, db)
        executions = ExecutionService(db, hub)
        limiter = RateLimiter(settings.redis_url)
        passwords = PasswordCheck(settings.password_hash_concurrency, settings.password_hash_queue)
        accounts = AccountService(
            db,
            session_cache_seconds=settings.ws_auth_recheck_seconds,
            passwords=passwords,
            token_lifetime=dt.timedelta(days=settings.token_lifetime_days),
        )
        return cls(
            settings=settings,
            db=db,
            hub=hub,
            accounts=accounts,
            executions=executions,
            workflows=WorkflowService(db),
            approvals=ApprovalService(executions),
            dashboard=DashboardService(db, page_grace_seconds=settings.page_snapshot_grace_ms / 1000),
            metrics=MetricsService(db),
            operations=OperationService(executions, accounts),
            limiter=limiter,
            sign_in_guard=SignInGuard(limiter, settings),
            api_rate_limit=ApiRateLimit(limiter, settings),
            sockets=SocketGuard(db, settings),
            read_gate=ReadGate(settings.http_read_concurrency),
            idempotency=IdempotencyStore(db, dt.timedelta(hours=settings.idempotency_key_hours)),
        )

    async def start(self) -> None:
        await self.hub.start()
        self.sockets.start()
        await self.operations.runner.start()
        self.idempotency.start()  # purges expired keys now and every 10 minutes

    async def close(self) -> None:
        await self.idempotency.stop()
        await self.operations.runner.stop()
        await self.sockets.stop()
        await self.hub.stop()
        await self.limiter.close()
        self.accounts.passwords.close()
        await self.db.dispose()
