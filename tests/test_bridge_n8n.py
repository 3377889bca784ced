"""``athena bridge n8n`` against n8n 1.123's recorded answers (tests/fixtures/n8n/, recorded from a
real n8n by tests/fixtures/n8n/record.py), on the test database (SQLite, or PostgreSQL in CI).

The bridge runs for real (its client, mirror, store, actions and runner); only n8n is replayed.
What Athena shows is read back through the REST API, /ready and /metrics.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from app.bridges.n8n.client import N8nClient
from app.bridges.n8n.process import BridgeTarget, build_runner
from app.bridges.n8n.runner import BridgeOptions, BridgeRunner
from app.bridges.n8n.status import bridge_states
from app.config import Settings
from app.db.models import WorkflowExecution
from app.services import Services
from tests.approval_helpers import APPROVALS, decide
from tests.conftest import EXECUTIONS, World, stop_execution
from tests.test_bridge_n8n_support import Replay, load

N8N = "http://n8n.test:5678"
METRICS_TOKEN = "bridge-metrics"
PARENT, CHILD, FAILED, CANCELLED = 3, 4, 5, 6


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, metrics_token=METRICS_TOKEN)


@dataclasses.dataclass
class Harness:
    services: Services
    world: World
    replay: Replay
    runners: list[BridgeRunner] = dataclasses.field(default_factory=list)
    clients: list[N8nClient] = dataclasses.field(default_factory=list)

    async def start(self, **options: Any) -> BridgeRunner:
        """A bridge process for workspace A (a second call is a restart: same row, same cursor).
        Backfill 2: the recorded scenes start at n8n id 3."""
        options.setdefault("backfill", 2)
        client = N8nClient(N8N, "recorded-key", transport=self.replay.transport())
        self.clients.append(client)
        runner = await build_runner(self.services, client, BridgeTarget(self.world.ws["A"]), BridgeOptions(**options))
        self.runners.append(runner)
        return runner

    async def uuid_of(self, n8n_id: int) -> str:
        link = (await self.runners[-1].store.links([n8n_id]))[n8n_id]
        return link.execution_uuid


@pytest.fixture
async def harness(services: Services, world: World) -> AsyncIterator[Harness]:
    h = Harness(services, world, Replay().scene("waiting"))
    yield h
    for client in h.clients:
        await client.close()


async def detail(client: httpx.AsyncClient, world: World, uuid: str) -> dict[str, Any]:
    response = await client.get(
        f"{EXECUTIONS}/{uuid}", params={"with": "workflowExecutionData"}, headers=world.admin_a.headers
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]


def runs_by_node(item: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["node_id"]: r for r in item["workflow_execution_data"][0]["workflow_data"]}


async def approvals_of(client: httpx.AsyncClient, world: World, uuid: str) -> list[dict[str, Any]]:
    params = {"execution_uuid": uuid, "per_page": 100}
    response = await client.get(APPROVALS, params=params, headers=world.approver_a.headers)
    assert response.status_code == 200, response.text
    return [a for a in response.json()["data"] if a["execution_uuid"] == uuid]


async def count_executions(services: Services) -> int:
    async with services.db.read() as session:
        return int((await session.execute(select(func.count()).select_from(WorkflowExecution))).scalar_one())


async def until(check: Callable[[], Awaitable[bool]], what: str, limit: float = 30.0) -> None:
    """Wait for a condition (not a timing assertion: the limit only bounds a broken run)."""
    deadline = time.monotonic() + limit
    while not await check():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        await asyncio.sleep(0.05)


# --------------------------------------------------------------------------- mirroring


async def test_first_poll_mirrors_workflows_executions_runs_and_the_review(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    runner = await harness.start()
    await runner.poll_once()
    world = harness.world

    workflows = (await client.get("/api/v1/workflows", params={"workspace_uuid": world.ws["A"], "per_page": 100},
                                  headers=world.admin_a.headers)).json()["data"]  # fmt: skip
    invoice = next(w for w in workflows if w["name"].startswith("Invoice approval "))
    assert [n["id"] for n in invoice["nodes"]] == ["Webhook", "Extract", "Enrich", "Approve invoice", "Post to ledger"]
    assert {(e["source"], e["target"]) for e in invoice["edges"]} == {
        ("Webhook", "Extract"), ("Extract", "Enrich"), ("Enrich", "Approve invoice"),
        ("Approve invoice", "Post to ledger"),
    }  # fmt: skip

    parent = await detail(client, world, await harness.uuid_of(PARENT))
    recorded = load(f"waiting/execution_{PARENT}")
    assert parent["status"] == "waiting" and parent["mode"] == "webhook"
    assert parent["workflow_uuid"] == invoice["uuid"]
    assert parent["started_at"].startswith(recorded["startedAt"][:19])  # n8n's time, not the bridge's
    assert parent["running_node"] == "Approve invoice"
    runs = runs_by_node(parent)
    assert [r["status"] for r in runs.values()] == ["success", "success", "success", "waiting"]
    assert runs["Extract"]["input"][0]["body"] == {"invoice": "INV-1042", "amount": 1280.5}  # the webhook's output
    assert runs["Extract"]["output"] == [{"invoice": "INV-1042", "amount": 1280.5}]
    assert runs["Extract"]["started_at"] < runs["Extract"]["stopped_at"]
    meta = parent["workflow_execution_data"][0]["metadata"]
    assert meta["n8n_execution_id"] == str(PARENT) and meta["n8n_status"] == "waiting"

    child = await detail(client, world, await harness.uuid_of(CHILD))
    assert child["status"] == "completed"
    assert child["parent_execution_uuid"] == parent["uuid"]  # the Execute Workflow node's sub-execution

    (review,) = await approvals_of(client, world, parent["uuid"])
    assert review["status"] == "pending" and review["node_id"] == "Approve invoice"
    assert review["title"] == "Approve invoice payment"  # the Wait node's notes
    assert review["payload"] == {"invoice": "INV-1042", "amount": 1280.5, "vendor": "ACME GmbH"}
    (state,) = await bridge_states(harness.services.db)
    assert state["cursor"] == CHILD


async def test_a_restart_neither_duplicates_nor_misses(client: httpx.AsyncClient, harness: Harness) -> None:
    first = await harness.start()
    await first.poll_once()
    await first.poll_once()
    before = await count_executions(harness.services)
    parent_uuid = await harness.uuid_of(PARENT)
    assert before == 2

    # Stopped; meanwhile n8n ran two more executions (a failure and a cancelled wait).
    harness.replay.scene("others")
    harness.replay.executions |= {
        PARENT: load(f"waiting/execution_{PARENT}"),
        CHILD: load(f"waiting/execution_{CHILD}"),
    }
    second = await harness.start()
    assert second.cursor == CHILD  # from the database
    await second.poll_once()
    await second.poll_once()
    assert await count_executions(harness.services) == 4
    assert await harness.uuid_of(PARENT) == parent_uuid
    assert len(await approvals_of(client, harness.world, parent_uuid)) == 1  # the review is not asked twice

    failed = await detail(client, harness.world, await harness.uuid_of(FAILED))
    assert failed["status"] == "failed"
    assert failed["error"] == "Post to ledger: Ledger refused INV-9"
    assert runs_by_node(failed)["Post to ledger"]["status"] == "error"
    cancelled = await detail(client, harness.world, await harness.uuid_of(CANCELLED))
    assert cancelled["status"] == "cancelled" and cancelled["is_finished"]
    assert (await bridge_states(harness.services.db))[0]["cursor"] == CANCELLED


async def test_a_parked_execution_newer_than_every_listed_one_is_found(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    """n8n lists neither running nor parked executions: the bridge probes ids above the cursor."""
    timer = load("others/timer_waiting")
    harness.replay.lists = {None: {"data": [], "nextCursor": None}, "running": {"data": [], "nextCursor": None}}
    harness.replay.executions = {int(timer["id"]): timer}
    runner = await harness.start()
    runner.cursor = int(timer["id"]) - 1
    await runner.poll_once()
    item = await detail(client, harness.world, await harness.uuid_of(int(timer["id"])))
    assert item["status"] == "waiting"
    assert item["wait_till"].startswith(timer["waitTill"][:19])
    assert await approvals_of(client, harness.world, item["uuid"]) == []  # a timer is not a review


# --------------------------------------------------------------------------- Athena -> n8n


@pytest.mark.parametrize("action", ["approve", "reject"])
async def test_a_decision_in_athena_resumes_the_n8n_execution(
    client: httpx.AsyncClient, harness: Harness, action: str
) -> None:
    runner = await harness.start()
    await runner.poll_once()
    world = harness.world
    parent_uuid = await harness.uuid_of(PARENT)
    (review,) = await approvals_of(client, world, parent_uuid)

    answer = await decide(client, world.approver_a, review["uuid"], action, comment="Matches the PO")
    assert answer.status_code == 200, answer.text
    await runner.poll_once()
    decision = "approved" if action == "approve" else "rejected"
    body = {"decision": decision, "comment": "Matches the PO", "decided_by": world.approver_a.email}
    assert harness.replay.resumes == [("POST", f"/webhook-waiting/{PARENT}", body)]

    harness.replay.scene("resumed")  # n8n went on: the last node read the decision
    await runner.poll_once()
    await runner.poll_once()
    assert len(harness.replay.resumes) == 1  # passed on once
    item = await detail(client, world, parent_uuid)
    assert item["status"] == "completed"
    assert runs_by_node(item)["Post to ledger"]["status"] == "success"
    (state,) = await bridge_states(harness.services.db)
    assert state["resumes"] == 1


async def test_a_stop_in_athena_is_reported_since_n8n_cannot_stop(client: httpx.AsyncClient, harness: Harness) -> None:
    runner = await harness.start()
    await runner.poll_once()
    parent_uuid = await harness.uuid_of(PARENT)
    assert (await stop_execution(client, harness.world.operator_a, parent_uuid)).status_code == 200
    await runner.poll_once()
    await runner.poll_once()

    item = await detail(client, harness.world, parent_uuid)
    assert item["status"] == "cancelled"
    note = item["workflow_execution_data"][0]["metadata"]["n8n_stop"]
    assert "cannot stop" in note and f"n8n execution {PARENT} goes on running" in note
    assert harness.replay.resumes == []  # the cancelled review resumes nothing
    (state,) = await bridge_states(harness.services.db)
    assert state["stops_refused"] == 1


# --------------------------------------------------------------------------- n8n down


async def scrape(client: httpx.AsyncClient) -> dict[str, float]:
    response = await client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200, response.text
    return {
        s.name: s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
        if s.name.startswith("athena_bridge_")
    }


async def test_n8n_down_backs_off_and_ready_and_metrics_say_so(client: httpx.AsyncClient, harness: Harness) -> None:
    runner = await harness.start(poll_seconds=0.05, max_backoff=0.4)
    harness.replay.down = True
    task = asyncio.create_task(runner.run())

    async def state_is(wanted: str) -> bool:
        return (await bridge_states(harness.services.db))[0]["state"] == wanted

    try:
        await until(lambda: state_is("backing_off"), "the bridge to back off")
        ready = (await client.get("/ready")).json()
        (item,) = ready["bridges"]["items"]
        assert item["state"] == "backing_off" and item["consecutive_failures"] >= 1 and item["backoff_seconds"] > 0
        assert ready["bridges"]["ok"] is False
        assert "bridges" not in ready["checks"]  # n8n down does not take the dashboard out of rotation
        metrics = await scrape(client)
        assert metrics["athena_bridge_up"] == 0 and metrics["athena_bridge_failures_total"] >= 1

        harness.replay.down = False
        await until(lambda: state_is("ok"), "the bridge to recover")
        await until(lambda: _linked(harness), "the backlog")
        metrics = await scrape(client)
        assert metrics["athena_bridge_up"] == 1 and metrics["athena_bridge_mirrored_total"] == 2
        assert (await client.get("/ready")).json()["bridges"]["ok"] is True
    finally:
        runner.stop()
        await task


async def _linked(harness: Harness) -> bool:
    return len(await harness.runners[-1].store.links([PARENT, CHILD])) == 2


# --------------------------------------------------------------------------- pieces


@pytest.mark.parametrize(
    ("current", "target", "path"),
    [
        ("pending", "completed", ["running", "completed"]),
        ("waiting", "completed", ["running", "completed"]),
        ("running", "waiting", ["waiting"]),
        ("waiting", "waiting", []),
        ("cancelled", "completed", None),  # stopped in Athena first: n8n's later state is not forced
    ],
)
def test_status_changes_walk_the_state_machine(current: str, target: str, path: list[str] | None) -> None:
    from app.bridges.n8n.mapping import status_path
    from app.db.models import ExecutionStatus as S

    found = status_path(S(current), S(target))
    assert (None if found is None else [s.value for s in found]) == path


def test_bridge_help_loads_no_app_code(tmp_path: Any) -> None:
    """The command is imported lazily like the others (issue 22 item 5: the CLI stays fast)."""
    import json
    import subprocess
    import sys

    from tests.test_cli import PROBE

    argv = json.dumps(["bridge", "n8n", "--help"])
    done = subprocess.run([sys.executable, "-c", PROBE, argv], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    *help_lines, modules = done.stdout.splitlines()
    assert "--api-key" in "\n".join(help_lines)
    assert json.loads(modules) == []


async def test_a_second_wait_after_a_resume_is_a_second_review(client: httpx.AsyncClient, harness: Harness) -> None:
    runner = await harness.start()
    await runner.poll_once()
    parent_uuid = await harness.uuid_of(PARENT)
    (first,) = await approvals_of(client, harness.world, parent_uuid)
    assert (await decide(client, harness.world.approver_a, first["uuid"], "approve")).status_code == 200
    await runner.poll_once()
    assert len(harness.replay.resumes) == 1
    await runner.poll_once()
    assert len(await approvals_of(client, harness.world, parent_uuid)) == 1  # n8n has not moved yet

    # n8n resumed and parked again at a Wait node (a loop back to it): a new wait, a new review.
    again = load(f"waiting/execution_{PARENT}")
    again["stoppedAt"] = "2026-12-07T16:00:00.000Z"
    harness.replay.executions[PARENT] = again
    await runner.poll_once()
    reviews = await approvals_of(client, harness.world, parent_uuid)
    assert sorted(r["status"] for r in reviews) == ["approved", "pending"]
    assert (await detail(client, harness.world, parent_uuid))["status"] == "waiting"


async def test_an_execution_athena_cannot_take_is_retried_then_passed(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    """Malformed run data fails the mirror of that one execution: retried at the next polls, then
    passed (logged), so the cursor and the executions behind it are not held forever."""
    harness.replay.scene("others")
    broken = load(f"others/execution_{FAILED}")
    broken["data"]["resultData"]["runData"] = {"Post to ledger": "not a list of runs"}
    harness.replay.executions[FAILED] = broken
    runner = await harness.start(backfill=2)
    runner.cursor = CHILD
    for _ in range(2):
        await runner.poll_once()
        assert runner.cursor == CHILD  # held while it is retried
    assert await harness.uuid_of(CANCELLED)  # the one behind it is mirrored meanwhile
    await runner.poll_once()
    assert runner.cursor == CANCELLED
    assert FAILED not in await harness.runners[-1].store.links([FAILED])


async def test_several_new_executions_come_from_one_list_call_with_their_data(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    harness.replay.scene("others")
    harness.replay.executions |= {
        PARENT: load(f"resumed/execution_{PARENT}"),
        CHILD: load(f"resumed/execution_{CHILD}"),
    }
    runner = await harness.start(backfill=4)  # ids 3 to 6 are new
    await runner.poll_once()
    assert "/api/v1/executions?includeData&cursor" in harness.replay.gets  # ids 3..6 as one page
    single = [g for g in harness.replay.gets if g.startswith("/api/v1/executions/")]
    assert all(int(g.split("/")[-1].split("?")[0]) > CANCELLED for g in single), single  # only the probes
    item = await detail(client, harness.world, await harness.uuid_of(PARENT))
    assert item["status"] == "completed" and runs_by_node(item)["Post to ledger"]["status"] == "success"
    child = await detail(client, harness.world, await harness.uuid_of(CHILD))
    assert child["parent_execution_uuid"] == item["uuid"]  # created after its parent's batch
    assert runner.cursor == CANCELLED


def all_four(replay: Replay) -> Replay:
    """The ``others`` scene with the approval run and its sub-run finished (ids 3 to 6, all listed)."""
    replay.scene("others")
    replay.executions |= {PARENT: load(f"resumed/execution_{PARENT}"), CHILD: load(f"resumed/execution_{CHILD}")}
    return replay


def listed_only(replay: Replay, ids: set[int]) -> None:
    """The scene's list as n8n answers it while the executions ``ids`` still run (left out)."""
    replay.lists[None] = {"data": [e for e in replay.lists[None]["data"] if int(e["id"]) not in ids]}


async def test_a_read_that_times_out_holds_itself_not_the_poll(client: httpx.AsyncClient, harness: Harness) -> None:
    """Under a burst n8n answers some reads late: the executions around the late one are mirrored
    in the same poll, the cursor waits below it, and the next poll takes it."""
    all_four(harness.replay)
    listed_only(harness.replay, {FAILED})  # read on its own, as a running one is
    harness.replay.slow = {FAILED}
    runner = await harness.start(backfill=4)
    await runner.poll_once()  # does not fail (it raised N8nUnavailable, and the poll backed off)
    assert await harness.uuid_of(PARENT) and await harness.uuid_of(CANCELLED)
    assert FAILED not in await runner.store.links([FAILED])
    assert runner.cursor == CHILD
    harness.replay.slow = set()
    await runner.poll_once()
    item = await detail(client, harness.world, await harness.uuid_of(FAILED))
    assert item["status"] == "failed" and runner.cursor == CANCELLED


async def test_an_n8n_refusing_a_written_cursor_is_read_one_by_one(client: httpx.AsyncClient, harness: Harness) -> None:
    all_four(harness.replay)
    harness.replay.cursor_refused = True
    runner = await harness.start(backfill=4)
    await runner.poll_once()
    assert not runner.range_pages
    for n8n_id in (PARENT, CHILD, FAILED, CANCELLED):
        assert f"/api/v1/executions/{n8n_id}?includeData" in harness.replay.gets
        assert await harness.uuid_of(n8n_id)
    assert runner.cursor == CANCELLED


async def test_an_n8n_empty_at_the_first_poll_loses_none_of_its_first_executions(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    """A fresh n8n (no execution yet): the bridge's cursor stays at 0, and what runs next is new,
    not history to skip (with no backfill, the first execution was taken for history)."""
    empty = {"data": [], "nextCursor": None}
    harness.replay.lists = {None: empty, "running": empty}
    harness.replay.executions = {}
    runner = await harness.start(backfill=0)
    await runner.poll_once()
    all_four(harness.replay)
    await runner.poll_once()
    for n8n_id in (PARENT, CHILD, FAILED, CANCELLED):
        assert await harness.uuid_of(n8n_id)
    assert runner.cursor == 0  # ids 1 and 2 are gaps (another project's) until their grace ends


async def test_a_page_read_through_a_written_cursor_as_n8n_answered_it(
    client: httpx.AsyncClient, harness: Harness
) -> None:
    """n8n's recorded answer to the page the bridge writes a cursor for (three failed runs of a
    workflow the bridge has not seen): all three mirrored from that one answer, created together,
    their workflow created from the runs' ``workflowData``."""
    harness.replay.scene("page")
    (lowest, highest) = (5413, 5415)  # tests/fixtures/n8n/page, recorded by record.py page
    runner = await harness.start(backfill=3)
    batches: list[list[int]] = []
    create_many = runner.mirror.create_many

    async def counted(executions: list[dict[str, Any]]) -> int:  # the real one, its batches noted
        batches.append([int(e["id"]) for e in executions])
        return await create_many(executions)

    runner.mirror.create_many = counted  # type: ignore[method-assign]
    await runner.poll_once()
    assert batches == [[lowest, lowest + 1, highest]]  # one transaction for the three
    assert "/api/v1/executions?includeData&cursor" in harness.replay.gets
    assert not [
        g
        for g in harness.replay.gets
        if g.split("?")[0] in {f"/api/v1/executions/{i}" for i in range(lowest, highest + 1)}
    ]
    names = set()
    for n8n_id in range(lowest, highest + 1):
        item = await detail(client, harness.world, await harness.uuid_of(n8n_id))
        assert item["status"] == "failed" and item["error"] == "Post to ledger: Ledger refused INV-9"
        assert runs_by_node(item)["Post to ledger"]["status"] == "error"
        names.add(item["workflow_name"])
    assert len(names) == 1 and names.pop().startswith("Ledger batch")
    assert runner.cursor == highest
