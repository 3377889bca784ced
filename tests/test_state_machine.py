"""The execution status state machine through PATCH: every allowed and every forbidden transition.

Related checks share one test (and one fresh database, which costs ~0.4 s on PostgreSQL); each
``check_*`` helper names what failed in the traceback.
"""

from __future__ import annotations

import datetime as dt

import httpx

from app.services import Services
from tests.conftest import (
    EXECUTIONS,
    World,
    create_execution,
    get_execution,
    patch_execution,
    read_events,
)

STATUSES = ["pending", "running", "paused", "waiting", "completed", "failed", "cancelled"]
TERMINAL = {"completed", "failed", "cancelled"}
ALLOWED = {
    "pending": {"running", "cancelled"},
    "running": {"paused", "waiting", "completed", "failed", "cancelled"},
    "paused": {"running", "cancelled"},
    "waiting": {"running", "failed", "cancelled"},
    "completed": set(),
    "failed": set(),
    "cancelled": set(),
}
# How to reach each status from a fresh pending execution, through allowed transitions only.
PATH_TO = {
    "pending": [],
    "running": ["running"],
    "paused": ["running", "paused"],
    "waiting": ["running", "waiting"],
    "completed": ["running", "completed"],
    "failed": ["running", "failed"],
    "cancelled": ["cancelled"],
}


def same_row(write_answer: dict, read_answer: dict) -> bool:
    """Write answers carry a few extra dashboard fields (approval counts...); compare what GET shows."""
    return {k: write_answer[k] for k in read_answer} == read_answer


def parse(ts: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(ts.replace("Z", "+00:00")) if ts else None


async def reach(client: httpx.AsyncClient, world: World, status: str) -> dict:
    execution = await create_execution(client, world.operator_a, world.workflows["Invoice approval"])
    for step in PATH_TO[status]:
        response = await patch_execution(client, world.operator_a, execution["uuid"], status=step)
        assert response.status_code == 200, response.text
        execution = response.json()["data"]
    assert execution["status"] == status
    return execution


async def test_every_transition(client: httpx.AsyncClient, world: World, services: Services) -> None:
    """All 42 (source, target) pairs: the allowed ones change status, version and is_finished and
    write one event; the others answer 409 naming both statuses and change nothing."""
    pairs = [(source, target) for source in STATUSES for target in STATUSES if target != source]
    assert len(pairs) == 42
    for source, target in pairs:
        before = await reach(client, world, source)
        events_before = len(await read_events(services, world.ws["A"]))
        response = await patch_execution(client, world.operator_a, before["uuid"], status=target)
        after = await get_execution(client, world.viewer_a, before["uuid"])
        events_after = len(await read_events(services, world.ws["A"]))
        if target in ALLOWED[source]:
            assert response.status_code == 200, (source, target, response.text)
            body = response.json()["data"]
            assert same_row(body, after)
            assert after["status"] == target
            assert after["version"] == before["version"] + 1
            assert after["is_finished"] is (target in TERMINAL)
            assert events_after == events_before + 1
        else:
            assert response.status_code == 409, (source, target, response.text)
            body = response.json()
            assert body["current_status"] == source and body["requested_status"] == target
            assert f"'{source}'" in body["message"] and f"'{target}'" in body["message"]
            assert same_row(before, after)  # nothing changed, not even the version
            assert events_after == events_before


async def check_is_finished_exactly_for_terminal_statuses(client: httpx.AsyncClient, world: World) -> None:
    for status in STATUSES:
        execution = await reach(client, world, status)
        assert execution["is_finished"] is (status in TERMINAL), status
        assert (await get_execution(client, world.viewer_a, execution["uuid"]))["is_finished"] is (status in TERMINAL)


async def check_started_at_and_stopped_at_follow_transitions(client: httpx.AsyncClient, world: World) -> None:
    created = await create_execution(client, world.operator_a, world.workflows["Invoice approval"])
    assert created["status"] == "pending" and created["version"] == 1
    assert created["started_at"] is None and created["stopped_at"] is None

    running = (await patch_execution(client, world.operator_a, created["uuid"], status="running")).json()["data"]
    started = parse(running["started_at"])
    assert started is not None and running["stopped_at"] is None
    assert started >= parse(created["created_at"])

    paused = (await patch_execution(client, world.operator_a, created["uuid"], status="paused")).json()["data"]
    assert paused["started_at"] == running["started_at"] and paused["stopped_at"] is None
    # Resuming keeps the first start time.
    resumed = (await patch_execution(client, world.operator_a, created["uuid"], status="running")).json()["data"]
    assert resumed["started_at"] == running["started_at"]
    waiting = (await patch_execution(client, world.operator_a, created["uuid"], status="waiting")).json()["data"]
    assert waiting["stopped_at"] is None

    failed = (await patch_execution(client, world.operator_a, created["uuid"], status="failed")).json()["data"]
    stopped = parse(failed["stopped_at"])
    assert stopped is not None and stopped >= started
    assert failed["started_at"] == running["started_at"]
    assert [created["version"], running["version"], paused["version"], resumed["version"], waiting["version"]] == [
        1,
        2,
        3,
        4,
        5,
    ]
    assert failed["version"] == 6


async def check_cancelling_a_pending_execution_stops_it_without_starting_it(
    client: httpx.AsyncClient, world: World
) -> None:
    created = await create_execution(client, world.operator_a, world.workflows["Invoice approval"])
    cancelled = (await patch_execution(client, world.operator_a, created["uuid"], status="cancelled")).json()["data"]
    assert cancelled["started_at"] is None and cancelled["stopped_at"] is not None
    assert cancelled["is_finished"] is True


async def check_created_in_a_started_status_has_started_at(client: httpx.AsyncClient, world: World) -> None:
    running = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="running")
    assert running["started_at"] is not None and running["stopped_at"] is None and running["version"] == 1


async def check_terminal_running_node_is_cleared(client: httpx.AsyncClient, world: World) -> None:
    execution = await reach(client, world, "running")
    response = await patch_execution(client, world.operator_a, execution["uuid"], running_node="review")
    assert response.json()["data"]["running_node"] == "review"
    done = (await patch_execution(client, world.operator_a, execution["uuid"], status="completed")).json()["data"]
    assert done["running_node"] is None


async def check_same_status_is_a_no_op(client: httpx.AsyncClient, world: World, services: Services) -> None:
    for status in ("running", "completed"):
        execution = await reach(client, world, status)
        events = len(await read_events(services, world.ws["A"]))
        response = await patch_execution(client, world.operator_a, execution["uuid"], status=status)
        assert response.status_code == 200, response.text
        assert same_row(response.json()["data"], execution)
        assert len(await read_events(services, world.ws["A"])) == events


async def check_put_follows_the_same_state_machine(client: httpx.AsyncClient, world: World) -> None:
    execution = await reach(client, world, "completed")
    response = await client.put(
        f"{EXECUTIONS}/{execution['uuid']}", json={"status": "running"}, headers=world.operator_a.headers
    )
    assert response.status_code == 409
    assert response.json()["current_status"] == "completed"
    pending = await reach(client, world, "pending")
    response = await client.put(
        f"{EXECUTIONS}/{pending['uuid']}", json={"status": "running"}, headers=world.operator_a.headers
    )
    assert response.status_code == 200
    assert response.json()["data"]["status"] == "running"


async def test_timestamps_and_is_finished(client: httpx.AsyncClient, world: World) -> None:
    """is_finished exactly for terminal statuses; started_at/stopped_at set by transitions."""
    await check_is_finished_exactly_for_terminal_statuses(client, world)
    await check_started_at_and_stopped_at_follow_transitions(client, world)
    await check_cancelling_a_pending_execution_stops_it_without_starting_it(client, world)
    await check_created_in_a_started_status_has_started_at(client, world)
    await check_terminal_running_node_is_cleared(client, world)


async def test_same_status_and_put(client: httpx.AsyncClient, world: World, services: Services) -> None:
    """Re-sending the current status is a no-op; PUT obeys the same rules."""
    await check_same_status_is_a_no_op(client, world, services)
    await check_put_follows_the_same_state_machine(client, world)
