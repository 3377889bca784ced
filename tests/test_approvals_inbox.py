"""The approver inbox: GET /workflow-approvals filters, sorts and scope, ApprovalService.inbox and pending_count."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.domain.approvals.services import ApprovalFilters
from app.lib.identity import CurrentUser
from app.lib.pagination import PageRequest
from app.services import Services
from tests.approval_helpers import APPROVALS, decide, pending_approval
from tests.conftest import EXECUTIONS, Actor, World, stop_execution

PAST, LONG_AGO = "2000-01-01T00:00:00Z", "2001-01-01T00:00:00Z"
LATER, MUCH_LATER = "2500-01-01T00:00:00Z", "2999-01-01T00:00:00Z"


@pytest.fixture
async def inbox(client: httpx.AsyncClient, world: World) -> dict[str, str]:
    """Approvals in workspace A (a1..a6, requested in that order), B (b1) and C (c1): name -> uuid."""
    invoice, onboarding = world.workflows["Invoice approval"], world.workflows["Customer onboarding"]
    op = world.operator_a
    made: dict[str, Any] = {}
    specs: list[tuple[str, Actor, str, dict[str, Any]]] = [
        ("a1", op, invoice, {"title": "Approve invoice 100% match", "due_at": PAST}),
        ("a2", op, onboarding, {"title": "KYC check", "node_id": "kyc_review", "due_at": MUCH_LATER}),
        ("a3", op, invoice, {"title": "Refund_under_limit"}),
        ("a4", op, onboarding, {"title": "Risky transfer", "due_at": LONG_AGO}),
        ("a5", op, invoice, {"title": "Deleted one"}),
        ("a6", op, invoice, {"title": "Stopped one", "due_at": LATER}),
        ("b1", world.operator_b, world.workflows["Invoice sync"], {"title": "Sync check"}),
        ("c1", world.multi, world.workflows["Payroll run"], {"title": "Payroll check", "due_at": PAST}),
    ]
    for name, actor, workflow, body in specs:
        made[name] = await pending_approval(client, actor, workflow, **body)
    assert (await decide(client, world.approver_a, made["a2"][1]["uuid"], "assign")).status_code == 200
    assert (await decide(client, world.approver_a, made["a3"][1]["uuid"])).status_code == 200
    assert (await decide(client, world.admin_a, made["a4"][1]["uuid"], "reject", comment="No")).status_code == 200
    deleted = await client.delete(f"{EXECUTIONS}/{made['a5'][0]['uuid']}", headers=op.headers)
    assert deleted.status_code == 204
    assert (await stop_execution(client, op, made["a6"][0]["uuid"])).status_code == 200
    return {name: approval["uuid"] for name, (_, approval) in made.items()}


async def _names(
    client: httpx.AsyncClient, actor: Actor, inbox: dict[str, str], expected_status: int = 200, **params: Any
) -> list[str]:
    response = await client.get(APPROVALS, params={"per_page": 100, **params}, headers=actor.headers)
    assert response.status_code == expected_status, response.text
    by_uuid = {v: k for k, v in inbox.items()}
    return [by_uuid[item["uuid"]] for item in response.json().get("data", [])]


async def test_inbox_filters(client: httpx.AsyncClient, world: World, inbox: dict[str, str]) -> None:
    me = world.approver_a

    async def names(**params: Any) -> list[str]:
        return await _names(client, me, inbox, **params)

    assert await names() == ["a1", "a2", "a3", "a4", "a6"]  # all statuses, oldest request first; a5 deleted
    assert await names(status="pending") == ["a1", "a2"]
    assert await names(status="approved,rejected") == ["a3", "a4"]
    assert await names(status=["cancelled", "approved"]) == ["a3", "a6"]
    assert await names(workflow_uuid=world.workflows["Customer onboarding"]) == ["a2", "a4"]
    assert await names(workspace_uuid=world.ws["A"], status="pending") == ["a1", "a2"]
    assert await names(assigned="me") == ["a2"]
    assert await names(decided_by="me") == ["a3"]
    assert await names(overdue="true") == ["a1"]  # a4 is past due too, but decided
    assert await names(overdue="false") == ["a1", "a2", "a3", "a4", "a6"]
    assert await names(search="100%") == ["a1"]  # literal: % and _ are not wildcards
    assert await names(search="%") == ["a1"]
    assert await names(search="_under_") == ["a3"]
    assert await names(search="kyc_rev") == ["a2"]  # node id
    assert await names(search="ONBOARDING") == ["a2", "a4"]  # workflow name, case-insensitive
    assert await names(search="invoice") == ["a1", "a3", "a6"]  # title or workflow name
    assert await names(sort_by="due_at") == ["a1", "a4", "a6", "a2", "a3"]  # soonest first, none last
    assert await names(sort_by="due_at", status="pending", search="c") == ["a1", "a2"]
    assert await names(status="pending", overdue="1", assigned="me") == []

    response = await client.get(APPROVALS, params={"per_page": 2, "page": 2}, headers=me.headers)
    page = response.json()
    assert [item["uuid"] for item in page["data"]] == [inbox["a3"], inbox["a4"]]
    assert page["meta"] | {"path": None} == {
        "current_page": 2,
        "from": 3,
        "last_page": 3,
        "per_page": 2,
        "to": 4,
        "total": 5,
        "path": None,
    }
    assert page["links"]["next"].endswith("per_page=2&page=3")

    for params, field in (
        ({"status": "done"}, "status"),
        ({"assigned": "bob"}, "assigned"),
        ({"decided_by": "anyone"}, "decided_by"),
        ({"overdue": "maybe"}, "overdue"),
        ({"sort_by": "title"}, "sort_by"),
    ):
        response = await client.get(APPROVALS, params=params, headers=me.headers)
        assert response.status_code == 422 and field in response.json()["errors"], (params, response.text)


async def test_inbox_items(client: httpx.AsyncClient, world: World, inbox: dict[str, str]) -> None:
    response = await client.get(APPROVALS, headers=world.viewer_a.headers)
    items = {item["uuid"]: item for item in response.json()["data"]}
    a1, a2, a3, a4, a6 = (items[inbox[n]] for n in ("a1", "a2", "a3", "a4", "a6"))
    assert set(a1) == {
        "uuid",
        "execution_uuid",
        "workspace_uuid",
        "workflow_uuid",
        "workflow_name",
        "execution_status",
        "node_id",
        "title",
        "description",
        "payload",
        "high_risk",
        "payload_hash",
        "required_approvals",
        "approvals_count",
        "approved_by",
        "four_eyes",
        "triggered_by",
        "status",
        "requested_at",
        "due_at",
        "overdue",
        "assigned_to",
        "decided_by",
        "decided_at",
        "comment",
    }
    assert (a1["overdue"], a2["overdue"], a4["overdue"]) == (True, False, False)
    assert a1["workflow_name"] == "Invoice approval" and a1["workflow_uuid"] == world.workflows["Invoice approval"]
    assert a1["execution_status"] == "waiting" and a1["workspace_uuid"] == world.ws["A"]
    assert a2["assigned_to"] == world.approver_a.email and a2["decided_by"] is None
    assert (a3["status"], a3["decided_by"], a3["execution_status"]) == ("approved", world.approver_a.email, "running")
    assert (a4["status"], a4["decided_by"], a4["comment"]) == ("rejected", world.admin_a.email, "No")
    assert (a6["status"], a6["decided_by"], a6["execution_status"]) == (
        "cancelled",
        world.operator_a.email,
        "cancelled",
    )


async def test_inbox_scope(client: httpx.AsyncClient, world: World, inbox: dict[str, str]) -> None:
    everything_in_a = ["a1", "a2", "a3", "a4", "a6"]
    assert await _names(client, world.viewer_a, inbox) == everything_in_a  # any member may list
    assert await _names(client, world.operator_b, inbox) == ["b1"]
    assert await _names(client, world.multi, inbox) == [*everything_in_a, "b1", "c1"]
    assert await _names(client, world.multi, inbox, organization_multiplai_id="org-1") == [*everything_in_a, "b1"]
    assert await _names(client, world.multi, inbox, organization_multiplai_id="org-2") == ["c1"]
    assert await _names(client, world.multi, inbox, workspace_uuid=world.ws["C"]) == ["c1"]
    assert await _names(client, world.approver_a, inbox, organization_multiplai_id="org-2") == []
    assert await _names(client, world.approver_a, inbox, 404, workspace_uuid=world.ws["B"]) == []
    assert await _names(client, world.approver_a, inbox, 404, workflow_uuid=world.workflows["Invoice sync"]) == []
    other = await client.get(f"{APPROVALS}/{inbox['b1']}", headers=world.approver_a.headers)
    assert other.status_code == 404


async def _user(services: Services, actor: Actor) -> CurrentUser:
    user = await services.accounts.authenticate_token(actor.token)
    assert user is not None
    return user


async def test_inbox_and_pending_count_services(services: Services, world: World, inbox: dict[str, str]) -> None:
    by_uuid = {v: k for k, v in inbox.items()}

    async def names(actor: Actor, page: PageRequest | None = None, **filters: Any) -> tuple[list[str], int]:
        items, total = await services.approvals.inbox(
            await _user(services, actor), ApprovalFilters(**filters), page or PageRequest()
        )
        return [by_uuid[i["uuid"]] for i in items], total

    # No workspace ids: the workspaces where the user may approve.
    assert await names(world.approver_a) == (["a1", "a2", "a3", "a4", "a6"], 5)
    assert await names(world.viewer_a) == ([], 0)
    assert await names(world.operator_a) == ([], 0)
    assert await names(world.multi) == (["c1"], 1)  # admin of C only
    assert await names(world.approver_a, statuses=["pending"], sort_by="due_at") == (["a1", "a2"], 2)
    assert await names(world.approver_a, decided_by_me=True) == (["a3"], 1)
    assert await names(world.admin_a, decided_by_me=True) == (["a4"], 1)
    assert await names(world.approver_a, assigned_to_me=True, statuses=["pending"]) == (["a2"], 1)
    assert await names(world.approver_a, overdue=True) == (["a1"], 1)
    assert await names(world.approver_a, search="risky") == (["a4"], 1)
    assert await names(world.approver_a, PageRequest(2, 2), sort_by="due_at") == (["a6", "a2"], 5)
    # Explicit workspace ids are narrowed to the user's own.
    multi = await _user(services, world.multi)
    b_and_c = sorted(a.workspace_id for a in multi.access.values() if str(a.workspace_uuid) != world.ws["A"])
    assert await names(world.approver_a, workspace_ids=b_and_c) == ([], 0)
    assert await names(world.multi, workspace_ids=b_and_c) == (["b1", "c1"], 2)

    counts = {}
    for name in ("approver_a", "admin_a", "viewer_a", "operator_a", "operator_b", "multi"):
        counts[name] = await services.approvals.pending_count(await _user(services, getattr(world, name)))
    # a1 and a2 pending in A (a5's execution is deleted); c1 in C, where multi is admin.
    assert counts == {"approver_a": 2, "admin_a": 2, "viewer_a": 0, "operator_a": 0, "operator_b": 0, "multi": 1}


async def test_approval_detail_with_audit(client: httpx.AsyncClient, world: World, inbox: dict[str, str]) -> None:
    response = await client.get(f"{APPROVALS}/{inbox['a4']}", headers=world.viewer_a.headers)
    assert response.status_code == 200
    detail = response.json()["data"]
    assert detail["status"] == "rejected" and detail["workflow_name"] == "Customer onboarding"
    assert [(a["action"], a["actor"], a["comment"]) for a in detail["audit"]] == [
        ("requested", world.operator_a.email, None),
        ("rejected", world.admin_a.email, "No"),
    ]
    assert all(a["created_at"].endswith("Z") for a in detail["audit"])
    assert (await client.get(f"{APPROVALS}/{inbox['a5']}", headers=world.admin_a.headers)).status_code == 404
