"""clients/python (athena-client) against a real server process on the test's database.

An engine's run with three nodes and a review decided by another user while it waits; the decision
still reaches it across a server crash; an operator's stop reaches it over the event socket; an
exception inside ``run.node`` fails the node and the execution; 429s of the real rate limiter are
waited out as ``Retry-After`` says.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from athena_client import AsyncAthenaClient, AthenaClient, ExecutionStopped, RetryPolicy

from tests.conftest import API, World
from tests.servers import AppServer, wait_until

# Long enough for a server restart on a loaded 2-core machine.
PATIENT = RetryPolicy(attempts=60, max_delay=2.0, max_elapsed=180.0)


@pytest.fixture
def server(database_url: str, tmp_path: Path, world: World) -> Iterator[AppServer]:
    app_server = AppServer(database_url, None, tmp_path)
    app_server.start()
    yield app_server
    app_server.stop()


def approve_when_requested(base_url: str, approver_token: str, comment: str) -> dict[str, Any]:
    """Another user's side: wait for a pending review in the inbox, approve it through the API."""
    headers = {"Authorization": f"Bearer {approver_token}"}
    found: list[dict[str, Any]] = []

    def pending() -> bool:
        answer = httpx.get(f"{base_url}{API}/workflow-approvals", params={"status": "pending"}, headers=headers)
        found[:] = answer.json()["data"]
        return bool(found)

    assert wait_until(pending, 60), "no review was requested"
    approved = httpx.post(
        f"{base_url}{API}/workflow-approvals/{found[0]['uuid']}/approve", json={"comment": comment}, headers=headers
    )
    assert approved.status_code == 200, approved.text
    return dict(approved.json()["data"])


def in_thread(target: Any, *args: Any) -> tuple[threading.Thread, list[Any]]:
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(target(*args)), daemon=True)
    thread.start()
    return thread, result


def test_a_run_with_three_nodes_and_a_review_decided_by_another_user(server: AppServer, world: World) -> None:
    workflow = world.workflows["Invoice approval"]
    approver, _ = in_thread(approve_when_requested, server.base_url, world.approver_a.token, "Totals match.")
    with AthenaClient(server.base_url, world.operator_a.token) as client:
        with client.execution(workflow, mode="manual", metadata={"invoice": "INV-7"}) as run:
            with run.node("start", "Extract fields", input={"invoice": "INV-7"}) as node:
                node.output = {"total": 1280.5}
            with run.node("review", "Human review"):
                decision = run.review("Approve INV-7", payload={"total": 1280.5}, description="3% off the PO")
                assert client.get_execution(run.uuid)["status"] == "running"  # the decision resumed it
            task = run.flag(note="Check the vendor")
            assert run.flag(note="again") == task  # already flagged: the same task
            with run.node("finish") as node:
                node.output = {"posted": True}
        approver.join(10)
        assert decision.approved and decision.decided_by == world.approver_a.email
        assert decision.comment == "Totals match."
        assert client.watcher_stats["events"] > 0  # the decision came over the event socket
        execution = client.get_execution(run.uuid, with_data=True)
    assert execution["status"] == "completed" and execution["mode"] == "manual" and execution["error"] is None
    runs = execution["workflow_execution_data"][0]["workflow_data"]
    assert [(r["node_id"], r["run_index"], r["status"]) for r in runs] == [
        ("start", 0, "success"),
        ("review", 0, "success"),
        ("finish", 0, "success"),
    ]
    assert runs[0]["input"] == {"invoice": "INV-7"} and runs[0]["output"] == {"total": 1280.5}
    assert runs[0]["node_name"] == "Extract fields" and all(r["started_at"] <= r["stopped_at"] for r in runs)
    assert execution["workflow_execution_data"][0]["metadata"]["invoice"] == "INV-7"
    approval = httpx.get(
        f"{server.base_url}{API}/workflow-approvals/{decision.approval['uuid']}", headers=world.viewer_a.headers
    ).json()["data"]
    assert approval["node_id"] == "review" and approval["payload"] == {"total": 1280.5}


def test_a_decision_made_while_the_engines_server_is_down_still_reaches_it(
    database_url: str, tmp_path: Path, world: World
) -> None:
    """The engine waits on server A; A crashes (SIGKILL); the approver decides on server B (same
    database); A comes back on its port. The client reconnects with ``since`` and gets the decision."""
    engine_side, approver_side = AppServer(database_url, None, tmp_path), AppServer(database_url, None, tmp_path)
    for s in (engine_side, approver_side):
        s.launch()
    try:
        for s in (engine_side, approver_side):
            s.wait_ready()
        with AthenaClient(engine_side.base_url, world.operator_a.token, retry=PATIENT) as client:
            with client.execution(world.workflows["Invoice approval"]) as run:
                review = run.request_review("Approve while we are down", node_id="review")
                assert wait_until(lambda: client.watcher_stats.get("connects", 0) >= 1, 30)
                engine_side.kill()
                approve_when_requested(approver_side.base_url, world.approver_a.token, "Decided during the outage.")
                engine_side.launch()
                decision = review.wait(timeout=180)
                # However the decision came first (a REST read once A answered, or the socket), the
                # socket reconnects with since=<workspace>:<last seq> and replays the missed event.
                assert run.watch is not None
                assert wait_until(lambda: "approval.decided" in dict(run.watch.events).values(), 60), run.watch.events
            stats = client.watcher_stats
        assert decision.approved and decision.comment == "Decided during the outage."
        assert stats["connects"] >= 2, stats
        final = httpx.get(
            f"{approver_side.base_url}{API}/workflow-executions/{run.uuid}", headers=world.viewer_a.headers
        )
        assert final.json()["data"]["status"] == "completed"
    finally:
        engine_side.stop()
        approver_side.stop()


@pytest.mark.parametrize("socket", [True, False], ids=["event socket", "REST polling only"])
async def test_an_operators_stop_reaches_the_engine(server: AppServer, world: World, socket: bool) -> None:
    """Pushed over the event socket; with the socket off (a proxy that refuses it), polled."""
    async with (
        AsyncAthenaClient(server.base_url, world.operator_a.token, socket=socket) as client,
        httpx.AsyncClient(base_url=server.base_url, headers=world.admin_a.headers) as admin,
    ):
        async with client.execution(world.workflows["Customer onboarding"], mode="webhook") as run, run.node("start"):
            asked = time.monotonic()
            stopped = await admin.post(f"{API}/workflow-executions/{run.uuid}/stop")
            assert stopped.status_code == 200
            assert await run.wait_stopped(timeout=30)
            noticed = time.monotonic() - asked
            assert run.watch is not None and run.watch.stopped_by == ("socket" if socket else "rest")
            with pytest.raises(ExecutionStopped):
                run.check_stop()
            run.check_stop()  # raises again: the node and the run end quietly
            raise AssertionError("check_stop did not raise")
        print(f"\nstop noticed {noticed * 1000:.0f} ms after it was sent ({'socket' if socket else 'polling'})")
        execution = await client.get_execution(run.uuid, with_data=True)
    # The engine did not overwrite the operator's stop; the open node run was closed by the stop.
    assert execution["status"] == "cancelled" and execution["error"] is None
    [node] = execution["workflow_execution_data"][0]["workflow_data"]
    assert node["node_id"] == "start" and node["status"] == "cancelled"


async def test_an_exception_inside_a_node_fails_the_node_and_the_execution(server: AppServer, world: World) -> None:
    workflow = world.workflows["Invoice approval"]
    async with AsyncAthenaClient(server.base_url, world.operator_a.token) as client:
        with pytest.raises(RuntimeError, match="upstream answered 503"):
            async with client.execution(workflow, mode="schedule") as run:
                async with run.node("start", input={"page": 1}) as node:
                    node.output = {"rows": 0}
                async with run.node("fetch", "Fetch rows", input={"page": 2}):
                    raise RuntimeError("upstream answered 503")
        failed = await client.get_execution(run.uuid, with_data=True)
        # The retry of the failed run, and a child of the retry: retry_of and the parent are recorded.
        async with client.execution(workflow, mode="retry", retry_of=run.uuid) as retry:
            child = await client.create_execution(workflow, parent_execution_uuid=retry.uuid, status="completed")
    assert failed["status"] == "failed" and failed["is_finished"]
    assert failed["error"] == "Fetch rows: RuntimeError: upstream answered 503"
    runs = {r["node_id"]: r for r in failed["workflow_execution_data"][0]["workflow_data"]}
    assert runs["start"]["status"] == "success"
    assert runs["fetch"]["status"] == "error" and runs["fetch"]["input"] == {"page": 2}
    assert runs["fetch"]["error"] == "RuntimeError: upstream answered 503"
    assert retry.execution["retry_of"] == run.uuid and child["parent_execution_uuid"] == retry.uuid


def test_429s_of_the_real_rate_limit_are_waited_out_as_retry_after_says(
    database_url: str, tmp_path: Path, world: World
) -> None:
    limited = AppServer(database_url, None, tmp_path, API_RATE_LIMIT="4", API_RATE_WINDOW_SECONDS="2")
    limited.start()
    retries: list[tuple[int, int | None, float]] = []
    try:
        with AthenaClient(limited.base_url, world.operator_a.token, on_retry=lambda *r: retries.append(r)) as client:
            workspaces = [client.workspace(world.ws["A"])["uuid"] for _ in range(12)]
    finally:
        limited.stop()
    assert workspaces == [world.ws["A"]] * 12  # every call succeeded in the end
    assert retries and {status for _, status, _ in retries} == {429}
    assert all(0 < wait <= 2 and wait == int(wait) for _, _, wait in retries)  # Retry-After's seconds, as sent


async def test_the_async_client_drives_a_review_too(server: AppServer, world: World) -> None:
    approver = asyncio.create_task(
        asyncio.to_thread(approve_when_requested, server.base_url, world.approver_a.token, "fine")
    )
    async with AsyncAthenaClient(server.base_url, world.operator_a.token) as client:
        async with client.execution(world.workflows["Invoice approval"]) as run, run.node("review"):
            decision = await run.review("Async review", high_risk=False)
        await approver
        assert decision.approved and (await client.get_execution(run.uuid))["status"] == "completed"
