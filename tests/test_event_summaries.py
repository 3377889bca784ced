"""``event_summaries`` (positional rows, raw driver values on PostgreSQL, formatted once per value)
builds exactly what the typed ``summary_select`` rows give through ``summary_with_counters``: the
same keys in the same order, the same values, the same JSON bytes, on both databases."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import httpx
import msgspec
from sqlalchemy import select, update

from app.db.models import WorkflowExecution
from app.domain.executions import queries as q
from app.domain.executions.summaries import event_summaries
from app.domain.executions.summary import ExecutionSummary
from app.lib.sql import any_of
from app.services import Services
from tests.approval_helpers import decide, pending_approval
from tests.conftest import API, World, create_execution

E = WorkflowExecution


async def reference_summaries(session: Any, ids: list[int]) -> dict[int, ExecutionSummary]:
    """The summaries as built before the fast path: typed ORM-column rows, read by name."""
    stmt = q.summary_select().add_columns(*q.row_counters()).where(any_of(session, E.id, ids))
    out = {row.id: q.summary_with_counters(row) for row in await session.execute(stmt)}
    run_metadata = await q.run_metadata_for(session, ids)
    return {eid: summary.with_extra(run_metadata=run_metadata.get(eid, {})) for eid, summary in out.items()}


async def test_event_summaries_match_the_typed_rows(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    wf = world.workflows["Invoice approval"]
    actor = world.operator_a
    parent = await create_execution(client, actor, wf, status="waiting")
    child = await create_execution(
        client,
        actor,
        wf,
        status="running",
        parent_execution_uuid=parent["uuid"],
        mode="manual",
        retry_of="41",
        error="Timeout calling crm.example",
        wait_till="2030-01-02T03:04:05.123456+02:00",
        execution_data={"metadata": {"retry_count": 2, "loop_index": 0, "other": "x"}},
    )
    finished = await create_execution(client, actor, wf, status="completed", parent_execution_uuid=parent["uuid"])
    stopping = await create_execution(client, actor, wf, status="paused")
    deleted = await create_execution(client, actor, wf, status="failed", error="boom")
    reviewed, _approval = await pending_approval(client, actor, wf)
    decided, decided_approval = await pending_approval(client, actor, wf)
    assert (await decide(client, world.approver_a, decided_approval["uuid"])).status_code == 200
    flagged = await create_execution(client, actor, wf, status="running")
    response = await client.post(
        f"{API}/command-room-tasks", json={"execution_uuid": flagged["uuid"]}, headers=actor.headers
    )
    assert response.status_code == 201, response.text
    whole_second = dt.datetime(2026, 5, 6, 7, 8, 9, tzinfo=dt.UTC)
    async with services.db.write() as session:
        await session.execute(
            update(E)
            .where(E.uuid == uuid.UUID(stopping["uuid"]))
            .values(stop_requested_at=whole_second, started_at=whole_second, running_node="review")
        )
        await session.execute(update(E).where(E.uuid == uuid.UUID(deleted["uuid"])).values(deleted_at=whole_second))
        await session.execute(
            update(E)
            .where(E.uuid == uuid.UUID(finished["uuid"]))
            .values(retry_success_id="77", stopped_at=whole_second)
        )
    executions = [parent, child, finished, stopping, deleted, reviewed, decided, flagged]
    async with services.db.read() as session:
        id_rows = await session.execute(
            q.summary_select()
            .with_only_columns(E.id, E.uuid)
            .where(E.uuid.in_([uuid.UUID(x["uuid"]) for x in executions]))
        )
        ids = {str(r.uuid): r.id for r in id_rows}
        wanted = [ids[x["uuid"]] for x in executions]
        expected = await reference_summaries(session, wanted)
        got = await event_summaries(session, wanted)
        single = await event_summaries(session, [ids[child["uuid"]]])
    assert got == expected
    assert single[ids[child["uuid"]]] == expected[ids[child["uuid"]]]
    for execution_id in wanted:
        assert list(got[execution_id]) == list(expected[execution_id])
        assert msgspec.json.encode(got[execution_id]) == msgspec.json.encode(expected[execution_id])
        assert json.dumps(got[execution_id].to_dict()) == json.dumps(expected[execution_id].to_dict())
    # The cases the fixture meant to cover are there.
    by_uuid = {s["uuid"]: s for s in got.values()}
    assert by_uuid[child["uuid"]]["parent_execution_uuid"] == parent["uuid"]
    assert by_uuid[child["uuid"]]["wait_till"] == "2030-01-02T01:04:05.123456Z"
    assert by_uuid[child["uuid"]]["run_metadata"] == {"retry_count": 2, "loop_index": 0}
    assert by_uuid[stopping["uuid"]]["stopping"] is True
    assert by_uuid[stopping["uuid"]]["started_at"] == "2026-05-06T07:08:09.000000Z"
    assert by_uuid[deleted["uuid"]]["deleted_at"] == "2026-05-06T07:08:09.000000Z"
    assert by_uuid[finished["uuid"]]["is_finished"] is True
    assert by_uuid[reviewed["uuid"]]["pending_workflow_approvals_count"] == 1
    assert by_uuid[decided["uuid"]]["workflow_approvals_count"] == 1
    assert by_uuid[decided["uuid"]]["pending_workflow_approvals_count"] == 0
    assert by_uuid[flagged["uuid"]]["in_command_room"] is True


async def test_one_summary_shape_and_one_envelope_live_and_replayed(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    """The API item, the event payload and the replayed event are the same typed objects: what a
    socket gets live is what it gets on replay, byte for byte, and the API's item is its prefix."""
    from app.domain.events.message import EventMessage, encode
    from app.domain.events.replay import load_events
    from app.domain.executions.writes import record_changes

    created = await create_execution(client, world.admin_a, world.workflows["Invoice approval"], status="running")
    async with services.db.read() as session:
        row = (await session.execute(select(E.id, E.workspace_id).where(E.uuid == uuid.UUID(created["uuid"])))).one()
    async with services.db.write() as session:
        summaries, events = await record_changes(session, row.workspace_id, [("execution.updated", row.id)])
    live = events[0].to_message()
    async with services.db.read() as session:
        (replayed,) = await load_events(session, row.workspace_id, live.seq - 1)
    assert isinstance(live, EventMessage) and isinstance(live.execution, ExecutionSummary)
    assert replayed == live
    assert encode(replayed) == encode(live)
    assert live.execution_uuid == created["uuid"] and live.status == "running"
    api_item = (await client.get(f"{API}/workflow-executions/{created['uuid']}", headers=world.admin_a.headers)).json()
    assert list(api_item["data"]) == list(summaries[row.id])[: len(api_item["data"])]
    assert api_item["data"] == {k: summaries[row.id][k] for k in api_item["data"]}
