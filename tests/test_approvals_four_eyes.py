"""The four-eyes rule per workflow, two approvals for high-risk reviews, and group decisions."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from app.services import Services
from tests.approval_helpers import (
    APPROVALS,
    assert_events_match_commits,
    audit_rows,
    decide,
    pending_approval,
    request_approval,
    waiting_execution,
)
from tests.conftest import API, Actor, World, get_execution

ROUNDS = 4


async def set_four_eyes(client: httpx.AsyncClient, actor: Actor, workflow_uuid: str, on: bool) -> httpx.Response:
    return await client.patch(
        f"{API}/workflows/{workflow_uuid}/settings", json={"four_eyes": on}, headers=actor.headers
    )


async def group(client: httpx.AsyncClient, actor: Actor, uuids: list[str], action: str, **body: Any) -> httpx.Response:
    return await client.post(
        f"{APPROVALS}/group/{action}", json={"approval_uuids": uuids, **body}, headers=actor.headers
    )


async def test_four_eyes_setting_admins_only(client: httpx.AsyncClient, world: World) -> None:
    wf = world.workflows["Invoice approval"]
    got = (await client.get(f"{API}/workflows/{wf}", headers=world.viewer_a.headers)).json()["data"]
    assert got["four_eyes"] is False
    for actor in (world.operator_a, world.approver_a, world.viewer_a):
        response = await set_four_eyes(client, actor, wf, True)
        assert response.status_code == 403, response.text
    assert (await set_four_eyes(client, world.operator_b, wf, True)).status_code == 404  # foreign
    bad = await client.patch(f"{API}/workflows/{wf}/settings", json={"four_eyes": "yes"}, headers=world.admin_a.headers)
    assert bad.status_code == 422 and "four_eyes" in bad.text
    response = await set_four_eyes(client, world.admin_a, wf, True)
    assert response.status_code == 200 and response.json()["data"]["four_eyes"] is True


async def test_four_eyes_refuses_the_trigger(client: httpx.AsyncClient, world: World, services: Services) -> None:
    wf = world.workflows["Invoice approval"]
    # Off: whoever triggered may approve.
    _, approval = await pending_approval(client, world.admin_a, wf)
    assert (await decide(client, world.admin_a, approval["uuid"])).status_code == 200

    assert (await set_four_eyes(client, world.admin_a, wf, True)).status_code == 200
    execution, approval = await pending_approval(client, world.admin_a, wf)
    assert approval["four_eyes"] is True and approval["triggered_by"] == world.admin_a.email
    refused = await decide(client, world.admin_a, approval["uuid"])
    assert refused.status_code == 403, refused.text
    assert refused.json()["reason"] == "four_eyes" and "Four-eyes rule" in refused.json()["message"]
    assert (await get_execution(client, world.admin_a, execution["uuid"]))["status"] == "waiting"
    assert [a[0] for a in await audit_rows(services, approval["uuid"])] == ["requested"]  # nothing recorded
    # Another approver may; the trigger may still reject (a safe decision) another review.
    ok = await decide(client, world.approver_a, approval["uuid"])
    assert ok.status_code == 200 and ok.json()["data"]["status"] == "approved"
    _, other = await pending_approval(client, world.admin_a, wf)
    rejected = await decide(client, world.admin_a, other["uuid"], "reject", comment="wrong vendor")
    assert rejected.status_code == 200 and rejected.json()["data"]["status"] == "rejected"
    await assert_events_match_commits(services, execution["uuid"])


async def test_high_risk_needs_two_different_approvers(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    wf = world.workflows["Invoice approval"]
    execution, approval = await pending_approval(client, world.operator_a, wf, high_risk=True)
    assert approval["required_approvals"] == 2 and approval["approvals_count"] == 0

    first = await decide(client, world.approver_a, approval["uuid"], comment="amount checked")
    assert first.status_code == 200, first.text
    data = first.json()["data"]
    assert data["status"] == "pending" and data["approvals_count"] == 1
    assert data["approved_by"] == [world.approver_a.email] and data["decided_by"] is None
    assert (await get_execution(client, world.admin_a, execution["uuid"]))["status"] == "waiting"

    again = await decide(client, world.approver_a, approval["uuid"])
    assert again.status_code == 409 and again.json()["reason"] == "already_approved"
    assert "1 of 2" in again.json()["message"]

    second = await decide(client, world.admin_a, approval["uuid"])
    assert second.status_code == 200
    data = second.json()["data"]
    assert data["status"] == "approved" and data["approvals_count"] == 2 and data["decided_by"] == world.admin_a.email
    assert data["approved_by"] == [world.approver_a.email, world.admin_a.email]
    assert (await get_execution(client, world.admin_a, execution["uuid"]))["status"] == "running"
    assert await audit_rows(services, approval["uuid"]) == [
        ("requested", world.operator_a.email, None),
        ("approved", world.approver_a.email, "amount checked"),
        ("approved", world.admin_a.email, None),
    ]
    events = await assert_events_match_commits(services, execution["uuid"])
    assert [e.type for e in events][-2:] == ["approval.partially_approved", "approval.decided"]
    assert events[-2].payload["approval"]["approvals_count"] == 1


async def test_high_risk_rejection_completes_at_once(client: httpx.AsyncClient, world: World) -> None:
    wf = world.workflows["Invoice approval"]
    _, approval = await pending_approval(client, world.operator_a, wf, high_risk=True)
    assert (await decide(client, world.approver_a, approval["uuid"])).status_code == 200
    rejected = await decide(client, world.admin_a, approval["uuid"], "reject", comment="not this month")
    assert rejected.status_code == 200 and rejected.json()["data"]["status"] == "rejected"
    late = await decide(client, world.approver_a, approval["uuid"])
    assert late.status_code == 409 and late.json()["decided_by"] == world.admin_a.email


async def test_high_risk_races(client: httpx.AsyncClient, world: World, services: Services) -> None:
    """Two approvers at once: one records the first approval, the other completes it. One approver
    twice at once: exactly one counts. A rejection and an approval at once: one wins outright or
    the approval is first and the rejection completes."""
    wf = world.workflows["Invoice approval"]
    for _ in range(ROUNDS):
        execution, approval = await pending_approval(client, world.operator_a, wf, high_risk=True)
        a, b = await asyncio.gather(
            decide(client, world.approver_a, approval["uuid"]), decide(client, world.admin_a, approval["uuid"])
        )
        assert a.status_code == b.status_code == 200, (a.text, b.text)
        assert sorted([a.json()["data"]["status"], b.json()["data"]["status"]]) == ["approved", "pending"]
        assert [r[0] for r in await audit_rows(services, approval["uuid"])] == ["requested", "approved", "approved"]
        await assert_events_match_commits(services, execution["uuid"])

        _, twice = await pending_approval(client, world.operator_a, wf, high_risk=True)
        a, b = await asyncio.gather(
            decide(client, world.approver_a, twice["uuid"]), decide(client, world.approver_a, twice["uuid"])
        )
        assert sorted([a.status_code, b.status_code]) == [200, 409], (a.text, b.text)
        got = (await client.get(f"{APPROVALS}/{twice['uuid']}", headers=world.viewer_a.headers)).json()["data"]
        assert got["status"] == "pending" and got["approvals_count"] == 1


async def test_group_decision_reports_refusals(client: httpx.AsyncClient, world: World, services: Services) -> None:
    wf = world.workflows["Invoice approval"]
    assert (await set_four_eyes(client, world.admin_a, wf, True)).status_code == 200
    payload = {"vendor": "ACME", "amount": 120}
    mine = [await pending_approval(client, world.admin_a, wf, payload=payload) for _ in range(2)]
    theirs = [await pending_approval(client, world.operator_a, wf, payload={"amount": 120, "vendor": "ACME"})]
    theirs.append(await pending_approval(client, world.operator_a, wf, payload=payload))
    hashes = {a["payload_hash"] for _, a in mine + theirs}
    assert len(hashes) == 1  # key order does not matter
    uuids = [a["uuid"] for _, a in mine + theirs]

    response = await group(client, world.admin_a, uuids, "approve", comment="batch ok")
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["summary"] == "2 approved, 2 refused: you triggered them"
    assert data["counts"] == {"approved": 2, "partially_approved": 0, "rejected": 0, "refused": 2}
    outcomes = {i["uuid"]: i["outcome"] for i in data["items"]}
    assert [outcomes[a["uuid"]] for _, a in mine] == ["refused", "refused"]
    assert [outcomes[a["uuid"]] for _, a in theirs] == ["approved", "approved"]
    for execution, approval in theirs:  # each its own audit row and event
        assert await audit_rows(services, approval["uuid"]) == [
            ("requested", world.operator_a.email, None),
            ("approved", world.admin_a.email, "batch ok"),
        ]
        events = await assert_events_match_commits(services, execution["uuid"])
        assert events[-1].type == "approval.decided"

    # Rejecting the rest at once: the trigger may reject; the decided ones are reported as such.
    again = await group(client, world.admin_a, uuids, "reject", comment="duplicates")
    data = again.json()["data"]
    assert data["summary"] == "2 rejected, 2 refused: already decided"


async def test_group_decision_bad_input_and_tenancy(client: httpx.AsyncClient, world: World) -> None:
    _, approval = await pending_approval(client, world.operator_a, world.workflows["Invoice approval"])
    _, foreign = await pending_approval(client, world.operator_b, world.workflows["Invoice sync"])
    no_comment = await group(client, world.approver_a, [approval["uuid"]], "reject")
    assert no_comment.status_code == 422 and "comment" in no_comment.text
    empty = await group(client, world.approver_a, [], "approve")
    assert empty.status_code == 422 and "approval_uuids" in empty.text
    assert (await group(client, world.approver_a, [approval["uuid"]], "maybe")).status_code in (404, 405)
    mixed = await group(client, world.approver_a, [approval["uuid"], foreign["uuid"]], "approve")
    data = mixed.json()["data"]
    assert data["summary"] == "1 approved, 1 refused: not found"  # foreign answers as missing
    viewer = await group(client, world.viewer_a, [approval["uuid"]], "approve")
    assert viewer.json()["data"]["refused_reasons"] in ({"decided": 1}, {"forbidden": 1})


async def test_request_stores_hash_and_required_approvals(client: httpx.AsyncClient, world: World) -> None:
    execution = await waiting_execution(client, world.operator_a, world.workflows["Invoice approval"])
    plain = await request_approval(client, world.operator_a, execution["uuid"])
    risky = await request_approval(client, world.operator_a, execution["uuid"], high_risk=True, payload={"a": 1})
    assert plain["required_approvals"] == 1 and risky["required_approvals"] == 2
    assert len(plain["payload_hash"]) == 64 and plain["payload_hash"] != risky["payload_hash"]
