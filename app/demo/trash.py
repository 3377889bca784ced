"""A few demo deletions (with reasons) so the trash and the audit log have something to show.

They go through the real delete path (event, audit row); the deletion times are then moved back a
few days so the trash shows a spread, one of them past the retention period (``athena purge``
would remove it)."""

from __future__ import annotations

import datetime as dt
import random
import uuid as uuid_lib

from sqlalchemy import select, update

from app.db.models import OperatorAction, WorkflowExecution, WorkflowExecutionData
from app.services import Services

REASONS = [
    ("operator@demo.local", "Duplicate run: the scheduler fired twice after the 02:00 deploy."),
    ("operator@demo.local", "Test execution started by hand against production data."),
    ("admin@demo.local", "Customer asked us to remove this run (GDPR request #4411)."),
    ("operator@demo.local", "Stuck on a retired vendor endpoint; re-run under the new workflow."),
    ("admin@demo.local", "Runaway retry loop, cleaned up after the incident review."),
    ("operator@demo.local", ""),
]
AGES_DAYS = [0.2, 1.5, 3, 6, 12, 34]


async def add_deletions(services: Services, workspace_ids: list[int], seed: int = 11) -> int:
    """Delete finished executions of the demo workspaces, each with its reason and age."""
    rng = random.Random(seed)
    async with services.db.read() as session:
        candidates = (
            (
                await session.execute(
                    select(WorkflowExecution.uuid)
                    .where(
                        WorkflowExecution.workspace_id.in_(workspace_ids),
                        WorkflowExecution.status.in_(("completed", "failed", "cancelled")),
                        WorkflowExecution.parent_execution_id.is_(None),
                        WorkflowExecution.deleted_at.is_(None),
                    )
                    .order_by(WorkflowExecution.id)
                    .limit(200)
                )
            )
            .scalars()
            .all()
        )
    picked = rng.sample(list(candidates), min(len(REASONS), len(candidates)))
    now = dt.datetime.now(dt.UTC)
    for execution_uuid, (email, reason), age in zip(picked, REASONS, AGES_DAYS, strict=False):
        user = await services.accounts.load_user(await services.accounts.user_id_by_email(email))
        assert user is not None
        await services.executions.delete(user, execution_uuid, reason=reason or None)
        await _backdate(services, execution_uuid, now - dt.timedelta(days=age))
    return len(picked)


async def _backdate(services: Services, execution_uuid: uuid_lib.UUID, when: dt.datetime) -> None:
    async with services.db.write() as session:
        execution_id = (
            await session.execute(select(WorkflowExecution.id).where(WorkflowExecution.uuid == execution_uuid))
        ).scalar_one()
        await session.execute(
            update(WorkflowExecution).where(WorkflowExecution.id == execution_id).values(deleted_at=when)
        )
        await session.execute(
            update(WorkflowExecutionData)
            .where(WorkflowExecutionData.execution_id == execution_id)
            .values(deleted_at=when, updated_at=WorkflowExecutionData.updated_at)
        )
        await session.execute(
            update(OperatorAction).where(OperatorAction.execution_id == execution_id).values(created_at=when)
        )
