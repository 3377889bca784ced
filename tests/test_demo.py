"""The live demo: seeding, and the simulator through the service layer and through the REST API."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import random
import uuid
from collections import Counter, defaultdict
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from app.config import Settings
from app.db.models import (
    ApprovalAudit,
    CommandRoomTask,
    ExecutionEvent,
    ExecutionStatus,
    Membership,
    OperatorAction,
    Organization,
    User,
    Workflow,
    WorkflowApproval,
    WorkflowExecution,
    WorkflowExecutionData,
    Workspace,
)
from app.demo.app import create_demo_app
from app.demo.catalog import WORKSPACES
from app.demo.graph import Graph
from app.demo.local import ServiceBackend
from app.demo.remote import RestBackend
from app.demo.seed import DEMO_ORG, PASSWORD, SIMULATOR_EMAIL, seed_demo
from app.demo.simulator import SimConfig, Simulator
from app.domain.approvals.services import ApprovalFilters
from app.domain.executions.services import Includes
from app.domain.executions.state import TRANSITIONS
from app.domain.workflows.schemas import EdgeIn, NodeIn, WorkflowCreate
from app.lib.errors import ConflictError
from app.lib.identity import CurrentUser
from app.lib.pagination import PageRequest
from app.services import Services
from tests.conftest import World

# The tests that run the simulator for a span of wall time, or poll it within a bound, are marked
# `serial` (.ci/run runs them alone). Seeding, and single runs driven step by step (`run_one`,
# `check_parked`), count nothing against the clock: they run in the parallel part.

E = WorkflowExecution
SIM_WORKFLOWS = ["Refund review", "Payroll export", "FX rate update", "Support ticket triage"]


async def _rows(services: Services, stmt: Any) -> list[Any]:
    async with services.db.read() as session:
        return list((await session.execute(stmt)).all())


# ------------------------------------------------------------------------------------------ seed
async def test_seed_creates_the_promised_demo(services: Services) -> None:
    report = await seed_demo(services, executions=3000)
    assert report.created and report.workspaces == 2
    assert (await seed_demo(services)).created is False  # idempotent: the organization exists

    memberships = await _rows(
        services,
        select(User.email, Workspace.name, Membership.role)
        .join(Membership, Membership.user_id == User.id)
        .join(Workspace, Workspace.id == Membership.workspace_id),
    )
    assert sorted(memberships) == sorted(
        [(f"{r}@demo.local", ws, r) for r in ("admin", "operator", "approver") for ws in ("Operations", "Finance")]
        + [("viewer@demo.local", "Operations", "viewer")]
    )
    token, user = await services.accounts.sign_in("approver@demo.local", PASSWORD)
    assert token and len(user.access) == 2
    orgs = await _rows(
        services,
        select(Organization.multiplai_id, func.count(Workspace.id)).join(Workspace).group_by(Organization.multiplai_id),
    )
    assert orgs == [(DEMO_ORG, 2)]
    await _check_workflows(services)
    await _check_executions(services, report.executions)


@pytest.mark.parametrize(
    "now",
    [
        # A long-running example walked through a human review of hours: a child it started came
        # out 8 hours in the future (seen in CI, at this minute's hour and weekday).
        dt.datetime(2026, 12, 10, 15, 7, tzinfo=dt.UTC),
        # Just after midnight UTC: a scheduled run moved to its hour on the oldest day lay 30 days
        # and almost a day back.
        dt.datetime(2026, 12, 7, 0, 4, tzinfo=dt.UTC),
    ],
    ids=["afternoon", "after-midnight"],
)
async def test_seeded_history_lies_within_its_30_days(services: Services, now: dt.datetime) -> None:
    await seed_demo(services, executions=3000, now=now)
    created = [r.created_at for r in await _rows(services, select(E.created_at))]
    assert len(created) >= 3000
    assert now - dt.timedelta(days=30) <= min(created) and max(created) <= now


async def _check_workflows(services: Services) -> None:
    rows = await _rows(services, select(Workspace.name, Workflow.name, Workflow.nodes, Workflow.edges).join(Workspace))
    per_workspace = Counter(r[0] for r in rows)
    assert set(per_workspace) == set(WORKSPACES)
    assert all(6 <= n <= 10 for n in per_workspace.values()), per_workspace
    for _, name, nodes, edges in rows:
        graph = Graph.from_payload(nodes, edges)
        assert 4 <= len(nodes) <= 15, name
        assert len(graph.nodes) == len(nodes), f"{name}: duplicate node ids"
        assert graph.edge_count == len(edges), f"{name}: an edge names an unknown node"
        assert graph.is_dag() and graph.has_branch(), name
        assert all(n["name"] and n["type"] for n in nodes)


async def _check_executions(services: Services, reported: int) -> None:
    rows = await _rows(
        services,
        select(E.uuid, E.status, E.parent_execution_id, E.retry_of, E.retry_success_id, E.created_at, E.stopped_at),
    )
    assert len(rows) == reported >= 3000
    by_status = Counter(r.status for r in rows)
    assert by_status["completed"] > 0.75 * len(rows)
    assert 0.04 * len(rows) < by_status["failed"] < 0.2 * len(rows)
    assert 0 < by_status["cancelled"] < by_status["failed"]
    # running: the long-running executions behind the "Running longer than usual" chip
    assert set(by_status) == {"completed", "failed", "cancelled", "waiting", "running"}
    now = dt.datetime.now(dt.UTC)
    assert all(now - dt.timedelta(days=31) < r.created_at <= now for r in rows)
    assert all(r.stopped_at is None or r.stopped_at >= r.created_at for r in rows)
    status_of = {str(r.uuid): r.status for r in rows}
    retries = [r for r in rows if r.retry_of]
    assert retries and all(status_of[r.retry_of] == "failed" for r in retries)
    succeeded = [r for r in rows if r.retry_success_id]
    assert succeeded and all(status_of[r.retry_success_id] == "completed" for r in succeeded)
    assert sum(1 for r in rows if r.parent_execution_id) > 20

    pending = await _rows(services, select(WorkflowApproval.execution_id).where(WorkflowApproval.status == "pending"))
    # Every waiting execution waits on an approval, but the parents stuck on a failed child.
    assert 0 < len(pending) <= by_status["waiting"] <= len(pending) + 4
    # Each seeded approval has the audit trail the API writes: its request, then its decision if any.
    approvals = await _rows(
        services,
        select(
            WorkflowApproval.id,
            WorkflowApproval.status,
            WorkflowApproval.approvals_count,
            WorkflowApproval.required_approvals,
            WorkflowApproval.payload_hash,
            WorkflowApproval.due_at,
        ),
    )
    trail = Counter(r[0] for r in await _rows(services, select(ApprovalAudit.action)))
    decided = Counter(r.status for r in approvals if r.status != "pending")
    first_of_two = [r for r in approvals if r.status == "pending" and r.approvals_count == 1]
    assert 1 <= len(first_of_two) <= len(WORKSPACES) and all(r.required_approvals == 2 for r in first_of_two)
    expected = Counter({"requested": len(approvals)}) + decided + Counter({"approved": len(first_of_two)})
    assert trail == expected and decided["rejected"] > 0
    # The approvers' features show in the demo: identical reviews, overdue ones, a four-eyes workflow.
    pending_hashes = Counter(r.payload_hash for r in approvals if r.status == "pending")
    assert max(pending_hashes.values()) >= 7 and all(r.payload_hash for r in approvals)
    assert sum(1 for r in approvals if r.status == "pending" and r.due_at < dt.datetime.now(dt.UTC)) >= 3
    assert len(await _rows(services, select(Workflow.id).where(Workflow.four_eyes.is_(True)))) == 2
    assert len(await _rows(services, select(CommandRoomTask.id))) > 0
    with_data = await _rows(services, select(func.count(WorkflowExecutionData.id)))
    assert with_data[0][0] == len(rows)
    # History writes no events; only the demo's few deletions (the real delete path) do, each with
    # its reason in the operator audit log, and the counters follow them.
    kinds = Counter(r[0] for r in await _rows(services, select(ExecutionEvent.type)))
    assert kinds == Counter({"execution.deleted": 6})
    assert sum(r[0] for r in await _rows(services, select(Workspace.event_seq))) == 6
    reasons = [
        r[0] for r in await _rows(services, select(OperatorAction.reason).where(OperatorAction.action == "delete"))
    ]
    assert len(reasons) == 6 and sum(1 for r in reasons if r) == 5


# ------------------------------------------------------------------------------------------ simulator
async def _sim_workflows(services: Services, world: World) -> None:
    admin = await services.accounts.authenticate_token(world.admin_a.token)
    assert admin is not None
    specs = {s.name: s for s in WORKSPACES["Finance"] + WORKSPACES["Operations"]}
    for name in SIM_WORKFLOWS:
        spec = specs[name]
        body = WorkflowCreate(
            workspace_uuid=uuid.UUID(world.ws["A"]),
            name=name,
            nodes=[
                NodeIn(id=n["id"], name=n["name"], type=n["type"], parameters=n["parameters"])
                for n in spec.node_dicts()
            ],
            edges=[EdgeIn(source=e["source"], target=e["target"], label=e["label"]) for e in spec.edge_dicts()],
        )
        await services.workflows.create_workflow(admin, body)


async def _operator(services: Services, world: World) -> CurrentUser:
    user = await services.accounts.load_user(world.operator_a.user_id)
    assert user is not None
    return user


async def _run_with_human_stops(services: Services, world: World, simulator: Simulator) -> int:
    """Run the simulator while an admin stops random active executions, until enough happened
    (bounded in time, so a slow machine fails the assertions rather than hanging; the bound is
    generous because it ends the loop only when the goals are not yet met: on CI's SQLite pass
    6 s once saw 43 starts and a single successful stop)."""
    admin = await services.accounts.authenticate_token(world.admin_a.token)
    assert admin is not None
    rng, stopped = random.Random(5), 0
    deadline = asyncio.get_running_loop().time() + 20.0
    simulator.start()
    while asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.2)
        stats = simulator.stats
        if stopped >= 2 and stats["completed"] >= 5 and stats["failed"] >= 2 and stats["retried"] >= 1:
            break
        active = await _rows(services, select(E.uuid).where(E.status.in_(["running", "waiting"])))
        if active and stopped < 4:
            try:
                await services.executions.stop(admin, rng.choice(active).uuid)
                stopped += 1
            except ConflictError:
                pass  # it finished in the meantime
    return stopped


def _assert_valid_histories(events: list[Any]) -> dict[int, list[str]]:
    """Per execution, events in seq order: created as pending, then only allowed status changes."""
    by_execution: dict[int, list[Any]] = defaultdict(list)
    for event in events:
        by_execution[event.execution_id].append(event)
    chains = {}
    for execution_id, items in by_execution.items():
        if [e.type for e in items] == ["execution.deleted"]:
            continue  # one of the seed's deletions of its (event-less) history
        assert items[0].type == "execution.created" and items[0].payload["status"] == "pending"
        versions = [e.version for e in items]
        assert versions == sorted(set(versions)), f"execution {execution_id}: versions {versions}"
        statuses = [e.payload["status"] for e in items]
        for before, after in itertools.pairwise(statuses):
            assert before == after or ExecutionStatus(after) in TRANSITIONS[ExecutionStatus(before)], statuses
        chains[execution_id] = statuses
    return chains


async def _events(services: Services) -> list[Any]:
    return await _rows(
        services,
        select(ExecutionEvent.workspace_id, ExecutionEvent.seq, ExecutionEvent.type, ExecutionEvent.execution_id)
        .add_columns(ExecutionEvent.version, ExecutionEvent.payload)
        .order_by(ExecutionEvent.workspace_id, ExecutionEvent.seq),
    )


@pytest.mark.serial
async def test_simulator_in_process_moves_executions_and_writes_events(services: Services, world: World) -> None:
    await _sim_workflows(services, world)
    backend = ServiceBackend(services, await _operator(services, world))
    config = SimConfig(rate=30, speed=0.02, fail_rate=0.25, retry_rate=1.0, max_waiting=3, seed=11, max_active=20)
    simulator = Simulator(backend, config)
    stops = await _run_with_human_stops(services, world, simulator)
    started = asyncio.get_running_loop().time()
    await simulator.stop()
    assert asyncio.get_running_loop().time() - started < 6  # within the 5 s grace: tasks leave at their next pause

    stats = simulator.stats
    assert stats["errors"] == 0, stats  # human stops (409s) are dropped quietly, never errors
    assert stats["completed"] >= 5 and stats["failed"] >= 2 and stats["retried"] >= 1, stats
    assert stops >= 2

    events = await _events(services)
    assert len(events) > 50
    assert [e.seq for e in events] == list(range(1, len(events) + 1))  # one workspace, gapless
    chains = _assert_valid_histories(events)
    finals = Counter(chain[-1] for chain in chains.values())
    assert finals["completed"] and finals["failed"] and finals["cancelled"], finals
    assert await backend.awaiting_review(world.ws["A"]) <= config.max_waiting
    retries = await _rows(services, select(E.retry_of).where(E.retry_of.is_not(None)))
    failed = {str(r[0]) for r in await _rows(services, select(E.uuid).where(E.status == "failed"))}
    assert retries and all(r[0] in failed for r in retries)


@pytest.mark.serial
async def test_simulator_through_the_rest_api(client: httpx.AsyncClient, services: Services, world: World) -> None:
    await _sim_workflows(services, world)
    backend = RestBackend(client, token=world.operator_a.token)
    config = SimConfig(rate=15, speed=0.02, fail_rate=0.2, max_waiting=0, max_active=8, seed=3)
    simulator = Simulator(backend, config)
    simulator.start()
    for _ in range(60):  # until a few ran to the end, 6 s at most
        await asyncio.sleep(0.1)
        if simulator.stats["completed"] >= 3 and simulator.stats["started"] >= 8:
            break
    await simulator.stop()
    stats = simulator.stats
    assert stats["errors"] == 0 and stats["started"] >= 8 and stats["completed"] >= 3, stats
    response = await client.get(
        "/api/v1/workflow-executions",
        params={"workspace_uuid": world.ws["A"], "status": "completed", "per_page": 100},
        headers=world.viewer_a.headers,
    )
    assert response.status_code == 200
    assert response.json()["meta"]["total"] >= stats["completed"]
    _assert_valid_histories(await _events(services))

    # Approvals: the first run reaching the review node pauses, later ones pass (cap of 1).
    reviewer = Simulator(backend, SimConfig(speed=0.01, fail_rate=0.0, max_waiting=1, seed=5))
    for _ in range(40):
        await reviewer.run_one("Refund review")
        if reviewer.stats["auto_approved"]:
            break
    assert reviewer.stats["awaiting_review"] == 1 and reviewer.stats["auto_approved"] >= 1, reviewer.stats
    assert await backend.awaiting_review(world.ws["A"]) == 1
    approvals = await client.get("/api/v1/workflow-approvals", headers=world.approver_a.headers)
    [approval] = approvals.json()["data"]
    assert approval["status"] == "pending" and approval["title"] and approval["payload"]["amount"] > 0


@pytest.mark.serial
async def test_simulator_drops_an_execution_a_human_stops(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    await _sim_workflows(services, world)
    simulator = Simulator(RestBackend(client, token=world.operator_a.token), SimConfig(speed=0.3, fail_rate=0.0))
    task = asyncio.create_task(simulator.run_one("Support ticket triage"))
    for _ in range(100):
        await asyncio.sleep(0.05)
        running = await _rows(services, select(E.uuid).where(E.status == "running"))
        if running:
            break
    response = await client.post(f"/api/v1/workflow-executions/{running[0].uuid}/stop", headers=world.admin_a.headers)
    assert response.status_code == 200
    assert await task is None  # dropped: no error, no overwrite of the human's stop
    assert simulator.stats["dropped"] == 1 and simulator.stats["errors"] == 0
    statuses = [e.payload["status"] for e in await _events(services)]
    assert statuses[-1] == "cancelled"


async def test_parent_waits_for_its_child_then_resumes(services: Services, world: World) -> None:
    await _sim_workflows(services, world)
    backend = ServiceBackend(services, await _operator(services, world))
    simulator = Simulator(backend, SimConfig(speed=0.01, fail_rate=0.0, max_waiting=0, seed=1))
    run = await simulator.run_one("Payroll export")  # its "Convert currencies" node runs "FX rate update"
    assert run is not None and run.status == "completed"

    parent_id, child_uuid, child_status, mode = (
        await _rows(
            services,
            select(E.parent_execution_id, E.uuid, E.status, E.mode).where(E.parent_execution_id.is_not(None)),
        )
    )[0]
    parent = await _rows(services, select(E.uuid, E.id).where(E.id == parent_id))
    assert str(parent[0].uuid) == run.uuid and child_status == "completed" and mode == "integrated"
    statuses = [
        r.payload["status"]
        for r in await _rows(
            services,
            select(ExecutionEvent.payload).where(ExecutionEvent.execution_id == parent_id).order_by(ExecutionEvent.seq),
        )
    ]
    collapsed = [s for i, s in enumerate(statuses) if i == 0 or statuses[i - 1] != s]
    assert collapsed == ["pending", "running", "waiting", "running", "completed"]
    data = await services.executions.get(
        await _operator(services, world), uuid.UUID(run.uuid), Includes(execution_data=True)
    )
    runs = data["workflow_execution_data"][0]["workflow_data"]
    assert all(r["status"] == "success" for r in runs) and len(runs) >= 7
    fx = next(r for r in runs if r["node_id"] == "fx")
    assert fx["output"]["execution_uuid"] == str(child_uuid)
    assert data["running_node"] is None and data["error"] is None


@pytest.mark.serial
async def test_demo_app_runs_the_simulator_for_its_lifetime(settings: Settings, services: Services) -> None:
    await seed_demo(services, executions=100)
    app = create_demo_app(settings, config=SimConfig(rate=20, speed=0.02, seed=2))
    async with app.lifespan():
        simulator: Simulator = app.state.simulator
        for _ in range(200):  # up to 20 s: a loaded 2-core machine once needed more than 5
            await asyncio.sleep(0.1)
            if simulator.stats["completed"] >= 2:
                break
    assert simulator.stats["completed"] >= 2 and simulator.stats["errors"] == 0, simulator.stats
    assert simulator.active == 0  # every execution task ended with the app
    # The seed writes no events: these are the simulator's, written through the service layer.
    creators = await _rows(services, select(E.user_id).join(ExecutionEvent, ExecutionEvent.execution_id == E.id))
    assert creators and {r[0] for r in creators} == {await services.accounts.user_id_by_email(SIMULATOR_EMAIL)}
    _assert_valid_histories(await _events(services))


async def _approver(services: Services, email: str) -> CurrentUser:
    user = await services.accounts.load_user(await services.accounts.user_id_by_email(email))
    assert user is not None
    return user


async def test_parked_executions_resume_after_a_human_decision(services: Services, world: World) -> None:
    await _sim_workflows(services, world)
    operator = await _operator(services, world)
    simulator = Simulator(
        ServiceBackend(services, operator), SimConfig(speed=0.01, fail_rate=0.0, max_waiting=5, seed=5)
    )
    parked: list[Any] = []
    for _ in range(40):  # the review node is on most paths through "Refund review", not all
        run = await simulator.run_one("Refund review")
        if run is not None and run.status == "waiting":
            parked.append(run)
        if len(parked) == 2:
            break
    assert len(parked) == 2 and simulator.parked_count == 2, simulator.stats
    assert await simulator.check_parked() == []  # nobody decided yet: both stay parked

    approver = await _approver(services, world.approver_a.email)
    items, _ = await services.approvals.inbox(approver, ApprovalFilters(statuses=["pending"]), PageRequest())
    approval_of = {item["execution_uuid"]: uuid.UUID(item["uuid"]) for item in items}
    await services.approvals.decide(approver, approval_of[parked[0].uuid], True, None)
    await services.approvals.decide(approver, approval_of[parked[1].uuid], False, "Amount above the refund policy")
    await asyncio.gather(*await simulator.check_parked())

    approved = await services.executions.get(operator, uuid.UUID(parked[0].uuid), Includes(execution_data=True))
    assert approved["status"] == "completed" and approved["error"] is None
    runs = approved["workflow_execution_data"][0]["workflow_data"]
    assert all(r["status"] == "success" for r in runs)
    review = next(r for r in runs if r["output"] and r["output"].get("decision") == "approved")
    assert review["output"]["decided_by"] == world.approver_a.email
    rejected = await services.executions.get(operator, uuid.UUID(parked[1].uuid), Includes())
    assert (
        rejected["status"] == "failed" and rejected["error"] == "Rejected by reviewer: Amount above the refund policy"
    )
    stats = simulator.stats
    assert (stats["resumed"], stats["rejected"], stats["errors"], simulator.parked_count) == (2, 1, 0, 0), stats
    chains = _assert_valid_histories(await _events(services))
    assert [s for s in chains.values() if "waiting" in s and s[-1] in ("completed", "failed")]


@pytest.mark.serial
async def test_simulator_continues_a_seeded_review_once_decided(services: Services) -> None:
    await seed_demo(services, executions=100)
    backend = await ServiceBackend.for_email(services, SIMULATOR_EMAIL)
    simulator = Simulator(backend, SimConfig(rate=0.5, speed=0.01, fail_rate=0.0, review_poll=0.05, seed=4))
    simulator.start()
    for _ in range(50):  # it adopts the seed's parked executions when it starts
        await asyncio.sleep(0.05)
        if simulator.parked_count:
            break
    approver = await _approver(services, "approver@demo.local")
    admin = await _approver(services, "admin@demo.local")
    seeded, _ = await services.approvals.inbox(approver, ApprovalFilters(statuses=["pending"]), PageRequest(1, 100))
    hashes = Counter(i["payload_hash"] for i in seeded)
    item = next(i for i in seeded if hashes[i["payload_hash"]] == 1)  # not one of the identical group
    execution_uuid = uuid.UUID(item["execution_uuid"])
    status = "waiting"

    async def its_pending_reviews() -> list[dict[str, Any]]:
        pending, _ = await services.approvals.inbox(
            approver, ApprovalFilters(statuses=["pending"]), PageRequest(1, 100)
        )
        return [p for p in pending if p["execution_uuid"] == item["execution_uuid"]]

    # Each decision resumes it; the engine may reach a later review node and wait again: decide that too.
    for _ in range(5):
        for review in await its_pending_reviews():
            # Four-eyes reviews the approver triggered go to the admin; high-risk ones need both.
            first = admin if review["four_eyes"] and review["triggered_by"] == approver.email else approver
            decided = await services.approvals.decide(first, uuid.UUID(review["uuid"]), True, "ok")
            if decided["status"] == "pending":
                await services.approvals.decide(admin, uuid.UUID(review["uuid"]), True, "ok too")
        # Until it finishes, or waits on a new review: right after a decision it still says "waiting"
        # until the simulator's next poll resumes it.
        for _ in range(200):
            await asyncio.sleep(0.05)
            status = (await services.executions.get(approver, execution_uuid, Includes()))["status"]
            if status not in ("running", "waiting") or (status == "waiting" and await its_pending_reviews()):
                break
        if status != "waiting":
            break
    await simulator.stop()
    assert status == "completed" and simulator.stats["resumed"] >= 1 and simulator.stats["errors"] == 0
