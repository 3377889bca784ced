"""Concurrent writers through the HTTP API: exactly one winner, and the database agrees afterwards.

Related checks share one test (and one fresh database, which costs ~0.4 s on PostgreSQL); each
``check_*`` helper names what failed in the traceback.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.db.models import WorkflowExecution
from app.domain.executions.services import ExecutionService
from app.services import Services
from tests.conftest import (
    EXECUTIONS,
    IS_POSTGRES,
    World,
    assert_gapless,
    create_execution,
    get_execution,
    patch_execution,
    read_events,
    stop_execution,
)

N = 20


async def db_row(services: Services, execution_uuid: str) -> tuple[str, int]:
    E = WorkflowExecution
    async with services.db.read() as session:
        row = (await session.execute(select(E.status, E.version).where(E.uuid == uuid.UUID(execution_uuid)))).one()
    return row.status, row.version


async def check_concurrent_stops_have_exactly_one_winner(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    execution = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="running")
    responses = await asyncio.gather(*(stop_execution(client, world.operator_a, execution["uuid"]) for _ in range(N)))
    assert [r.status_code for r in responses] == [200] * N, [r.text for r in responses if r.status_code != 200]
    winners = [r for r in responses if r.json()["meta"]["stopped"]]
    assert len(winners) == 1
    assert all(r.json()["data"]["status"] == "cancelled" for r in responses)
    assert await db_row(services, execution["uuid"]) == ("cancelled", 2)
    events = [e for e in await read_events(services, world.ws["A"]) if e.execution_uuid == execution["uuid"]]
    assert [(e.type, e.version) for e in events] == [("execution.created", 1), ("execution.stopped", 2)]


async def check_concurrent_terminal_transitions_have_exactly_one_winner(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    execution = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="running")
    targets = ["completed", "failed", "cancelled", "paused", "waiting"] * 4
    responses = await asyncio.gather(
        *(patch_execution(client, world.operator_a, execution["uuid"], status=t) for t in targets)
    )
    assert all(r.status_code in (200, 409) for r in responses), [r.text for r in responses]
    final_status, final_version = await db_row(services, execution["uuid"])
    changes = [e for e in await read_events(services, world.ws["A"]) if e.execution_uuid == execution["uuid"]][1:]
    # Every accepted change is one event and one version step, forming an allowed chain from running.
    assert [e.version for e in changes] == list(range(2, final_version + 1))
    chain = ["running", *(e.status for e in changes)]
    allowed = {"running": {"completed", "failed", "cancelled", "paused", "waiting"}, "paused": {"running", "cancelled"}}
    allowed["waiting"] = {"running", "failed", "cancelled"}
    for a, b in itertools.pairwise(chain):
        assert b in allowed[a], chain
    assert chain[-1] == final_status
    # Terminal wins once: at most one terminal status in the chain, and only at its end.
    terminal = {"completed", "failed", "cancelled"}
    assert sum(1 for s in chain if s in terminal) <= 1
    # Every answer agrees with the chain: a 200 asked for a status that was reached (a repeat of the
    # status it is already in is an idempotent no-op), a 409 names a status the execution was in.
    for t, r in zip(targets, responses, strict=True):
        if r.status_code == 200:
            assert r.json()["data"]["status"] == t and t in chain
        else:
            assert r.json()["requested_status"] == t and r.json()["current_status"] in chain
    if final_status in terminal:
        winners = [r for t, r in zip(targets, responses, strict=True) if r.status_code == 200 and t == final_status]
        assert winners and all(r.json()["data"]["version"] == final_version for r in winners)
        others = [r for t, r in zip(targets, responses, strict=True) if t in terminal and t != final_status]
        assert all(r.status_code == 409 for r in others)
    got = await get_execution(client, world.viewer_a, execution["uuid"])
    assert (got["status"], got["version"]) == (final_status, final_version)


async def check_concurrent_finishes_have_exactly_one_winner(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    execution = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="running")
    targets = ["completed", "failed", "cancelled"] * 7
    responses = await asyncio.gather(
        *(patch_execution(client, world.operator_a, execution["uuid"], status=t) for t in targets)
    )
    final_status, version = await db_row(services, execution["uuid"])
    assert final_status in {"completed", "failed", "cancelled"} and version == 2
    for t, r in zip(targets, responses, strict=True):
        if t == final_status:  # the winner, and idempotent repeats of the same request
            assert r.status_code == 200 and r.json()["data"]["version"] == 2, r.text
        else:
            assert r.status_code == 409, r.text
            assert r.json()["current_status"] == final_status
    got = await get_execution(client, world.viewer_a, execution["uuid"])
    assert got["status"] == final_status and got["is_finished"] is True
    events = [e for e in await read_events(services, world.ws["A"]) if e.execution_uuid == execution["uuid"]]
    assert [(e.type, e.status) for e in events] == [
        ("execution.created", "running"),
        ("execution.status_changed", final_status),
    ]


async def check_stop_racing_with_completion(client: httpx.AsyncClient, world: World, services: Services) -> None:
    execution = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="running")
    stops = [stop_execution(client, world.operator_a, execution["uuid"]) for _ in range(N // 2)]
    finishes = [patch_execution(client, world.operator_a, execution["uuid"], status="completed") for _ in range(N // 2)]
    interleaved = [c for pair in zip(stops, finishes, strict=True) for c in pair]
    responses = await asyncio.gather(*interleaved)
    stop_answers, finish_answers = responses[0::2], responses[1::2]
    final_status, version = await db_row(services, execution["uuid"])
    assert version == 2
    if final_status == "cancelled":
        assert sum(1 for r in stop_answers if r.json()["meta"]["stopped"]) == 1
        assert all(r.status_code == 200 for r in stop_answers)
        assert all(r.status_code == 409 and r.json()["current_status"] == "cancelled" for r in finish_answers)
    else:
        assert final_status == "completed"
        assert all(r.status_code == 409 and r.json()["current_status"] == "completed" for r in stop_answers)
        assert all(r.status_code == 200 and r.json()["data"]["version"] == 2 for r in finish_answers)
    events = [e for e in await read_events(services, world.ws["A"]) if e.execution_uuid == execution["uuid"]]
    assert len(events) == 2 and events[-1].status == final_status


async def check_concurrent_versioned_updates_have_exactly_one_winner(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    execution = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="running")
    responses = await asyncio.gather(
        *(patch_execution(client, world.operator_a, execution["uuid"], mode=f"m{i}", version=1) for i in range(N))
    )
    ok = [i for i, r in enumerate(responses) if r.status_code == 200]
    assert len(ok) == 1, [r.text for r in responses]
    assert all(r.status_code == 409 and r.json()["current_version"] == 2 for r in responses if r.status_code != 200)
    got = await get_execution(client, world.viewer_a, execution["uuid"])
    assert got["mode"] == f"m{ok[0]}" and got["version"] == 2


async def check_concurrent_unconditional_updates_all_apply_once(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    """Without ``version`` every update lands; each is one version step and one event."""
    execution = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="running")
    count = 5
    responses = await asyncio.gather(
        *(
            patch_execution(
                client, world.operator_a, execution["uuid"], node_runs=[{"node_id": f"n{i}", "status": "success"}]
            )
            for i in range(count)
        )
    )
    assert [r.status_code for r in responses] == [200] * count, [r.text for r in responses]
    assert sorted(r.json()["data"]["version"] for r in responses) == list(range(2, 2 + count))
    got = await get_execution(client, world.viewer_a, execution["uuid"], **{"with": "workflowExecutionData"})
    assert got["version"] == 1 + count
    nodes = sorted(entry["node_id"] for entry in got["workflow_execution_data"][0]["workflow_data"])
    assert nodes == [f"n{i}" for i in range(count)]  # no report overwrote another
    events = [e for e in await read_events(services, world.ws["A"]) if e.execution_uuid == execution["uuid"]]
    assert [e.version for e in events] == list(range(1, 2 + count))


async def test_overlapping_cascades_cancel_each_execution_once(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    wf = world.workflows["Invoice approval"]
    root = await create_execution(client, world.operator_a, wf, status="waiting")
    mids = [
        await create_execution(client, world.operator_a, wf, status="waiting", parent_execution_uuid=root["uuid"])
        for _ in range(3)
    ]
    leaves = [
        await create_execution(client, world.operator_a, wf, status="running", parent_execution_uuid=m["uuid"])
        for m in mids
        for _ in range(2)
    ]
    everyone = [root, *mids, *leaves]
    targets = [e["uuid"] for e in everyone] * 2
    responses = await asyncio.gather(*(stop_execution(client, world.operator_a, t) for t in targets))
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    for e in everyone:
        assert await db_row(services, e["uuid"]) == ("cancelled", 2)
    events = await read_events(services, world.ws["A"])
    assert_gapless(events)
    cancel_events = Counter(e.execution_uuid for e in events if e.type in {"execution.stopped", "execution.cancelled"})
    assert cancel_events == Counter({e["uuid"]: 1 for e in everyone})
    # Every cancellation is reported by exactly one response (as the target or in its cascade).
    reported = Counter()
    for r in responses:
        body = r.json()
        if body["meta"]["stopped"]:
            reported[body["data"]["uuid"]] += 1
            reported.update(body["meta"]["cascade_cancelled"])
    assert reported == cancel_events


async def test_concurrent_creates_get_distinct_gapless_seqs(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    calls = [
        client.post(
            EXECUTIONS,
            json={"workflow_uuid": world.workflows["Invoice approval" if i % 2 else "Invoice sync"]},
            headers=(world.operator_a if i % 2 else world.operator_b).headers,
        )
        for i in range(N)
    ]
    responses = await asyncio.gather(*calls)
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses]
    events = await read_events(services)
    assert_gapless(events)
    assert len([e for e in events if e.type == "execution.created"]) == N
    assert len({e.execution_uuid for e in events}) == N


async def test_races_on_one_execution(client: httpx.AsyncClient, world: World, services: Services) -> None:
    """Concurrent stops and transitions of one execution: exactly one winner, per the database."""
    await check_concurrent_stops_have_exactly_one_winner(client, world, services)
    await check_concurrent_terminal_transitions_have_exactly_one_winner(client, world, services)
    await check_concurrent_finishes_have_exactly_one_winner(client, world, services)
    await check_stop_racing_with_completion(client, world, services)


@pytest.mark.skipif(not IS_POSTGRES, reason="SQLite write transactions are exclusive: nothing commits in between")
async def test_a_repeated_status_is_answered_as_judged_even_if_another_writer_commits_meanwhile(
    client: httpx.AsyncClient, world: World, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PATCH ``paused`` on a paused execution is a no-op answered with the execution. If a stop commits
    between the request's read and its answer, the answer must not be 200 "cancelled" (the race
    test_races_on_one_execution caught): the request is judged again, and paused -> paused is now
    cancelled -> paused, a 409."""
    execution = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="running")
    assert (await patch_execution(client, world.operator_a, execution["uuid"], status="paused")).status_code == 200
    original, interleaved = ExecutionService.current, []

    async def current_after_a_concurrent_cancel(self: ExecutionService, session: Any, execution_id: int) -> Any:
        if not interleaved:  # once: the other writer commits between this request's read and its answer
            other = await patch_execution(client, world.operator_a, execution["uuid"], status="cancelled")
            interleaved.append(other.status_code)
        return await original(self, session, execution_id)

    monkeypatch.setattr(ExecutionService, "current", current_after_a_concurrent_cancel)
    answer = await patch_execution(client, world.operator_a, execution["uuid"], status="paused")
    assert interleaved == [200]
    assert answer.status_code == 409, answer.text
    assert (answer.json()["requested_status"], answer.json()["current_status"]) == ("paused", "cancelled")
    assert await db_row(services, execution["uuid"]) == ("cancelled", 3)


async def test_concurrent_updates(client: httpx.AsyncClient, world: World, services: Services) -> None:
    """With ``version`` one update wins; without, every update applies exactly once."""
    await check_concurrent_versioned_updates_have_exactly_one_winner(client, world, services)
    await check_concurrent_unconditional_updates_all_apply_once(client, world, services)


async def test_stop_racing_with_the_resume_of_a_waiting_parent(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    """The parent is either cancelled because it still waited (and the resume is refused), or it
    resumed first and the stop leaves it running: never both a successful resume and a cancel."""
    wf = world.workflows["Invoice approval"]
    seen = Counter()
    for _ in range(10):
        parent = await create_execution(client, world.operator_a, wf, status="waiting")
        child = await create_execution(
            client, world.operator_a, wf, status="running", parent_execution_uuid=parent["uuid"]
        )
        stop, resume = await asyncio.gather(
            stop_execution(client, world.operator_a, child["uuid"]),
            patch_execution(client, world.operator_a, parent["uuid"], status="running"),
        )
        assert stop.status_code == 200 and stop.json()["meta"]["stopped"] is True, stop.text
        final = await get_execution(client, world.viewer_a, parent["uuid"])
        if resume.status_code == 200:
            assert final["status"] == "running", "a resumed parent was cancelled by a stale stop plan"
            assert stop.json()["meta"]["cascade_cancelled"] == []
        else:
            assert resume.status_code == 409 and resume.json()["current_status"] == "cancelled"
            assert final["status"] == "cancelled"
            assert stop.json()["meta"]["cascade_cancelled"] == [parent["uuid"]]
        assert final["version"] == 2
        seen[final["status"]] += 1
    assert sum(seen.values()) == 10
    assert_gapless(await read_events(services))
