"""Deciding and assigning approvals: races, roles, resume on the last decision, audit rows, events."""

from __future__ import annotations

import asyncio

import httpx

from app.services import Services
from tests.approval_helpers import (
    APPROVALS,
    assert_events_match_commits,
    audit_rows,
    decide,
    execution_events,
    pending_approval,
    request_approval,
    waiting_execution,
)
from tests.conftest import EXECUTIONS, World, get_execution, patch_execution, stop_execution

ROUNDS = 4  # each race a few times, so both orders of the interleaving get exercised


async def test_double_approve_exactly_one_wins(client: httpx.AsyncClient, world: World, services: Services) -> None:
    wf = world.workflows["Invoice approval"]
    for _ in range(ROUNDS):
        execution, approval = await pending_approval(client, world.operator_a, wf)
        first, second = await asyncio.gather(
            decide(client, world.approver_a, approval["uuid"], comment="looks right"),
            decide(client, world.admin_a, approval["uuid"]),
        )
        assert sorted([first.status_code, second.status_code]) == [200, 409], (first.text, second.text)
        winner, loser = (first, second) if first.status_code == 200 else (second, first)
        winner_email = world.approver_a.email if winner is first else world.admin_a.email
        decided = winner.json()["data"]
        assert decided["status"] == "approved" and decided["decided_by"] == winner_email
        assert decided["execution_status"] == "running"
        body = loser.json()
        assert body["decided_by"] == winner_email and body["status"] == "approved"
        assert body["decided_at"] == decided["decided_at"] and winner_email in body["message"]

        events = await assert_events_match_commits(services, execution["uuid"])
        assert [e.type for e in events] == [
            "execution.created",
            "execution.status_changed",
            "approval.requested",
            "approval.decided",
        ]
        assert events[-1].payload["status"] == "running"
        assert events[-1].payload["approval"]["decided_by"] == winner_email
        assert [a[0] for a in await audit_rows(services, approval["uuid"])] == ["requested", "approved"]


async def test_approve_racing_a_stop(client: httpx.AsyncClient, world: World, services: Services) -> None:
    """The stop always succeeds; the approval is either approved (then the stop cancels the resumed
    execution) or cancelled by the stop (then the approve answers 409 naming the admin who stopped).
    Which order wins depends on scheduling; over the rounds both happen on SQLite and PostgreSQL."""
    wf = world.workflows["Invoice approval"]
    for _ in range(ROUNDS):
        execution, approval = await pending_approval(client, world.operator_a, wf)
        approved, stopped = await asyncio.gather(
            decide(client, world.approver_a, approval["uuid"]),
            stop_execution(client, world.admin_a, execution["uuid"]),
        )
        assert stopped.status_code == 200, stopped.text
        assert approved.status_code in (200, 409), approved.text
        got = (await client.get(f"{APPROVALS}/{approval['uuid']}", headers=world.viewer_a.headers)).json()["data"]
        events = await assert_events_match_commits(services, execution["uuid"])
        types = [e.type for e in events][3:]
        if approved.status_code == 200:
            assert got["status"] == "approved" and got["decided_by"] == world.approver_a.email
            assert types == ["approval.decided", "execution.stopped"]
            assert [a[0] for a in await audit_rows(services, approval["uuid"])] == ["requested", "approved"]
        else:
            body = approved.json()
            assert body["status"] == "cancelled" and body["decided_by"] == world.admin_a.email
            assert got["status"] == "cancelled" and got["decided_by"] == world.admin_a.email
            assert types == ["execution.stopped"]
            audit = await audit_rows(services, approval["uuid"])
            assert audit[-1] == ("cancelled", world.admin_a.email, "Cancelled because the execution was stopped.")
        assert (await get_execution(client, world.viewer_a, execution["uuid"]))["status"] == "cancelled"


async def test_who_may_decide_and_assign(client: httpx.AsyncClient, world: World, services: Services) -> None:
    execution, approval = await pending_approval(client, world.operator_a, world.workflows["Invoice approval"])
    uuid = approval["uuid"]
    for actor in (world.viewer_a, world.operator_a, world.multi):  # multi is a viewer of A
        for action, body in (("approve", {}), ("reject", {"comment": "no"}), ("assign", {})):
            response = await decide(client, actor, uuid, action, **body)
            assert response.status_code == 403, (actor.email, action, response.text)
            assert "approver" in response.json()["message"]
    for action, body in (("approve", {}), ("reject", {"comment": "no"}), ("assign", {})):
        foreign = await decide(client, world.operator_b, uuid, action, **body)
        assert foreign.status_code == 404 and foreign.json()["message"] == "Workflow approval not found."
    assert (await client.get(f"{APPROVALS}/{uuid}", headers=world.operator_b.headers)).status_code == 404
    unknown = await decide(client, world.approver_a, "01a2259f-db59-74b6-8d70-c1e81f036ce6")
    assert unknown.status_code == 404
    assert (await get_execution(client, world.viewer_a, execution["uuid"]))["version"] == 3  # nothing changed
    assert (await decide(client, world.admin_a, uuid)).status_code == 200  # admins may decide


async def test_last_decision_resumes_the_execution(client: httpx.AsyncClient, world: World, services: Services) -> None:
    execution = await waiting_execution(client, world.operator_a, world.workflows["Invoice approval"])
    first = await request_approval(client, world.operator_a, execution["uuid"], title="Amount")
    second = await request_approval(client, world.operator_a, execution["uuid"], title="Vendor")

    response = await decide(client, world.approver_a, first["uuid"], comment="  fine  ")
    assert response.status_code == 200 and response.json()["data"]["comment"] == "fine"
    got = await get_execution(client, world.viewer_a, execution["uuid"], with_count="pendingWorkflowApprovals")
    assert got["status"] == "waiting" and got["pending_workflow_approvals_count"] == 1 and got["version"] == 5

    response = await decide(client, world.admin_a, second["uuid"], "reject", comment="Wrong vendor")
    assert response.status_code == 200, response.text
    rejected = response.json()["data"]
    assert rejected["status"] == "rejected" and rejected["comment"] == "Wrong vendor"
    assert rejected["execution_status"] == "running"
    got = await get_execution(client, world.viewer_a, execution["uuid"], with_count="pendingWorkflowApprovals")
    assert got["status"] == "running" and got["pending_workflow_approvals_count"] == 0 and got["version"] == 6

    events = await assert_events_match_commits(services, execution["uuid"])
    decided = [e for e in events if e.type == "approval.decided"]
    assert [e.payload["status"] for e in decided] == ["waiting", "running"]  # one event per decision
    assert [e.payload["approval"] for e in decided] == [
        {
            "uuid": first["uuid"],
            "status": "approved",
            "title": "Amount",
            "decided_by": world.approver_a.email,
            "decided_at": decided[0].payload["approval"]["decided_at"],
            "assigned_to": None,
            "approvals_count": 1,
            "required_approvals": 1,
        },
        {
            "uuid": second["uuid"],
            "status": "rejected",
            "title": "Vendor",
            "decided_by": world.admin_a.email,
            "decided_at": rejected["decided_at"],
            "assigned_to": None,
            "approvals_count": 0,
            "required_approvals": 1,
        },
    ]
    requested = [e for e in events if e.type == "approval.requested"]
    assert [e.payload["approval"]["status"] for e in requested] == ["pending", "pending"]
    assert "approval" not in events[0].payload  # other events carry the summary only


async def test_reject_needs_a_comment(client: httpx.AsyncClient, world: World, services: Services) -> None:
    execution, approval = await pending_approval(client, world.operator_a, world.workflows["Invoice approval"])
    for body in ({}, {"comment": None}, {"comment": "   "}):
        response = await decide(client, world.approver_a, approval["uuid"], "reject", **body)
        assert response.status_code == 422, response.text
        assert list(response.json()["errors"]) == ["comment"]
    no_body = await client.post(f"{APPROVALS}/{approval['uuid']}/reject", headers=world.approver_a.headers)
    assert no_body.status_code == 422 and "comment" in no_body.json()["errors"]
    unknown = await decide(client, world.approver_a, approval["uuid"], "approve", reason="x")
    assert unknown.status_code == 422
    assert (await get_execution(client, world.viewer_a, execution["uuid"]))["version"] == 3
    # Approving needs no body at all.
    approved = await client.post(f"{APPROVALS}/{approval['uuid']}/approve", headers=world.approver_a.headers)
    assert approved.status_code == 200 and approved.json()["data"]["comment"] is None


async def test_decisions_on_finished_or_deleted_executions(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    wf = world.workflows["Invoice approval"]
    finished, cancelled_approval = await pending_approval(client, world.operator_a, wf)
    assert (await patch_execution(client, world.operator_a, finished["uuid"], status="failed")).status_code == 200
    response = await decide(client, world.approver_a, cancelled_approval["uuid"])
    assert response.status_code == 409
    body = response.json()
    assert body["status"] == "cancelled" and body["decided_by"] == world.operator_a.email
    assert body["comment"] == "Cancelled because the execution became failed."
    assert (await audit_rows(services, cancelled_approval["uuid"]))[-1][:2] == ("cancelled", world.operator_a.email)

    deleted, approval = await pending_approval(client, world.operator_a, wf)
    assert (await client.delete(f"{EXECUTIONS}/{deleted['uuid']}", headers=world.admin_a.headers)).status_code == 204
    for action in ("approve", "assign"):
        response = await decide(client, world.approver_a, approval["uuid"], action)
        assert response.status_code == 409 and "deleted" in response.json()["message"], response.text
    assert (await client.get(f"{APPROVALS}/{approval['uuid']}", headers=world.admin_a.headers)).status_code == 404


async def test_assign_and_claim(client: httpx.AsyncClient, world: World, services: Services) -> None:
    execution, approval = await pending_approval(client, world.operator_a, world.workflows["Invoice approval"])
    uuid = approval["uuid"]
    claimed = await client.post(f"{APPROVALS}/{uuid}/assign", headers=world.approver_a.headers)
    assert claimed.status_code == 200 and claimed.json()["data"]["assigned_to"] == world.approver_a.email
    again = await decide(client, world.approver_a, uuid, "assign")  # already theirs: no change
    assert again.status_code == 200
    assert (await get_execution(client, world.viewer_a, execution["uuid"]))["version"] == 4

    handed = await decide(client, world.approver_a, uuid, "assign", user_email="  ADMIN_A@example.test ")
    assert handed.status_code == 200 and handed.json()["data"]["assigned_to"] == world.admin_a.email
    for email in (world.viewer_a.email, world.operator_a.email, world.operator_b.email, "nobody@example.test"):
        refused = await decide(client, world.admin_a, uuid, "assign", user_email=email)
        assert refused.status_code == 422 and list(refused.json()["errors"]) == ["user_email"], email
    assert (await decide(client, world.admin_a, uuid, "assign", user_email="")).status_code == 422

    assert (await decide(client, world.admin_a, uuid)).status_code == 200
    late = await decide(client, world.approver_a, uuid, "assign")
    assert late.status_code == 409 and late.json()["decided_by"] == world.admin_a.email

    events = await assert_events_match_commits(services, execution["uuid"])
    assigned = [e for e in events if e.type == "approval.assigned"]
    assert [e.payload["approval"]["assigned_to"] for e in assigned] == [world.approver_a.email, world.admin_a.email]
    detail = (await client.get(f"{APPROVALS}/{uuid}", headers=world.viewer_a.headers)).json()["data"]
    assert [(a["action"], a["actor"], a["assigned_to"]) for a in detail["audit"]] == [
        ("requested", world.operator_a.email, None),
        ("assigned", world.approver_a.email, world.approver_a.email),
        ("assigned", world.approver_a.email, world.admin_a.email),
        ("approved", world.admin_a.email, None),
    ]
    assert detail["assigned_to"] == world.admin_a.email and detail["decided_by"] == world.admin_a.email


async def test_stop_cancels_approvals_with_an_audit_row_each(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    execution = await waiting_execution(client, world.operator_a, world.workflows["Invoice approval"])
    approvals = [await request_approval(client, world.operator_a, execution["uuid"], title=t) for t in "ABC"]
    assert (await decide(client, world.approver_a, approvals[0]["uuid"])).status_code == 200
    assert (await stop_execution(client, world.operator_a, execution["uuid"])).status_code == 200
    for approval, expected in zip(approvals, ("approved", "cancelled", "cancelled"), strict=True):
        detail = (await client.get(f"{APPROVALS}/{approval['uuid']}", headers=world.viewer_a.headers)).json()["data"]
        assert detail["status"] == expected
        actions = [(a["action"], a["actor"]) for a in detail["audit"]]
        if expected == "cancelled":
            assert actions == [("requested", world.operator_a.email), ("cancelled", world.operator_a.email)]
            assert detail["decided_by"] == world.operator_a.email
    events = await execution_events(services, execution["uuid"])
    assert [e.type for e in events][-1] == "execution.stopped"
    await assert_events_match_commits(services, execution["uuid"])
