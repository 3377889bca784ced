"""The operator audit log's storage: rows written in a change's transaction, read back per execution."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import delete, select

from app.db.models import OperatorAction, OperatorActionKind, WorkflowExecution
from app.db.models.base import utcnow
from app.domain.audit.records import OperatorActionEntry, execution_operator_actions, record_operator_actions
from app.services import Services
from tests.conftest import World, create_execution


async def test_rows_round_trip_and_outlive_a_purged_execution(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    created = await create_execution(client, world.operator_a, world.workflows["Invoice approval"])
    execution_uuid = uuid.UUID(created["uuid"])
    async with services.db.write() as session:
        row = (
            await session.execute(
                select(WorkflowExecution.id, WorkflowExecution.workspace_id).where(
                    WorkflowExecution.uuid == execution_uuid
                )
            )
        ).one()
        entries = [
            OperatorActionEntry(row.workspace_id, kind, row.id, execution_uuid, {"cascade": n})
            for n, kind in enumerate((OperatorActionKind.STOP, OperatorActionKind.DELETE))
        ]
        await record_operator_actions(
            session, entries, actor_id=world.operator_a.user_id, reason="  runaway loop  ", now=utcnow()
        )
        await session.commit()

    async with services.db.read() as session:
        actions = await execution_operator_actions(session, row.id)
    assert [a["action"] for a in actions] == ["stop", "delete"]
    assert {a["actor"] for a in actions} == {world.operator_a.email}
    assert {a["reason"] for a in actions} == {"runaway loop"}
    assert actions[1]["detail"] == {"cascade": 1}

    # A purge removes the execution for good; its audit rows stay, still naming it by uuid.
    async with services.db.write() as session:
        await session.execute(delete(WorkflowExecution).where(WorkflowExecution.id == row.id))
        await session.commit()
    async with services.db.read() as session:
        kept = (await session.execute(select(OperatorAction.execution_id, OperatorAction.execution_uuid))).all()
    assert [(r.execution_id, r.execution_uuid) for r in kept] == [(None, execution_uuid)] * 2
