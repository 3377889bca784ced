"""GET /workflow-executions: scope, every filter, sorting, with / with_count and pagination.

Related checks share one test (and one fresh database, which costs ~0.4 s on PostgreSQL); each
``check_*`` helper names what failed in the traceback.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from app.services import Services
from tests.conftest import (
    EXECUTIONS,
    World,
    create_execution,
    list_executions,
    list_uuids,
    patch_execution,
    set_created_at,
)

UTC = dt.UTC


@dataclass
class Seeded:
    """Executions across A, B and C with known statuses, owners, errors and creation days."""

    a_running: str  # Invoice approval, operator_a, 2025-01-10
    a_failed: str  # Invoice approval, admin_a, error text, 2025-01-20
    a_onboarding: str  # Customer onboarding, operator_a, pending, 2025-01-31 23:30
    a_completed: str  # Customer onboarding, admin_a, 2025-02-01 00:00
    b_running: str  # Invoice sync (B), operator_b, 2025-01-15
    c_running: str  # Payroll run (C), multi, 2025-01-15

    @property
    def a_all(self) -> set[str]:
        return {self.a_running, self.a_failed, self.a_onboarding, self.a_completed}


@pytest.fixture
async def seeded(client: httpx.AsyncClient, world: World, services: Services) -> Seeded:
    inv, onb = world.workflows["Invoice approval"], world.workflows["Customer onboarding"]
    s = Seeded(
        a_running=(await create_execution(client, world.operator_a, inv, status="running"))["uuid"],
        a_failed=(
            await create_execution(client, world.admin_a, inv, status="failed", error="Timeout talking to ACME ledger")
        )["uuid"],
        a_onboarding=(await create_execution(client, world.operator_a, onb))["uuid"],
        a_completed=(await create_execution(client, world.admin_a, onb, status="completed"))["uuid"],
        b_running=(await create_execution(client, world.operator_b, world.workflows["Invoice sync"], status="running"))[
            "uuid"
        ],
        c_running=(await create_execution(client, world.multi, world.workflows["Payroll run"], status="running"))[
            "uuid"
        ],
    )
    for execution, when in (
        (s.a_running, dt.datetime(2025, 1, 10, 12, 0, tzinfo=UTC)),
        (s.a_failed, dt.datetime(2025, 1, 20, 8, 0, tzinfo=UTC)),
        (s.a_onboarding, dt.datetime(2025, 1, 31, 23, 30, tzinfo=UTC)),
        (s.a_completed, dt.datetime(2025, 2, 1, 0, 0, tzinfo=UTC)),
        (s.b_running, dt.datetime(2025, 1, 15, 9, 0, tzinfo=UTC)),
        (s.c_running, dt.datetime(2025, 1, 15, 9, 0, tzinfo=UTC)),
    ):
        await set_created_at(services, execution, when)
    return s


# ------------------------------------------------------------------------------------------ scope


async def check_a_scope_is_required(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get(EXECUTIONS, headers=world.operator_a.headers)
    assert response.status_code == 422
    assert "workspace_uuid" in response.json()["errors"]


async def check_workspace_filter_returns_exactly_that_workspace(
    client: httpx.AsyncClient, world: World, seeded: Seeded
) -> None:
    assert set(await list_uuids(client, world.operator_a, workspace_uuid=world.ws["A"])) == seeded.a_all
    assert await list_uuids(client, world.multi, workspace_uuid=world.ws["B"]) == [seeded.b_running]


async def check_organization_filter_spans_only_my_workspaces_of_that_organization(
    client: httpx.AsyncClient, world: World, seeded: Seeded
) -> None:
    # multi belongs to A and B (org-1) and C (org-2).
    assert set(await list_uuids(client, world.multi, organization_multiplai_id="org-1")) == seeded.a_all | {
        seeded.b_running
    }
    assert await list_uuids(client, world.multi, organization_multiplai_id="org-2") == [seeded.c_running]
    # operator_a is only in A: org-1 must not leak B.
    assert set(await list_uuids(client, world.operator_a, organization_multiplai_id="org-1")) == seeded.a_all
    assert await list_uuids(client, world.operator_a, organization_multiplai_id="org-unknown") == []


async def check_workspace_wins_over_organization(client: httpx.AsyncClient, world: World, seeded: Seeded) -> None:
    got = await list_uuids(client, world.multi, workspace_uuid=world.ws["B"], organization_multiplai_id="org-2")
    assert got == [seeded.b_running]


async def check_user_multiplai_id_filter(client: httpx.AsyncClient, world: World, seeded: Seeded) -> None:
    a = world.ws["A"]
    assert set(await list_uuids(client, world.viewer_a, workspace_uuid=a, user_multiplai_id="mp-admin_a")) == {
        seeded.a_failed,
        seeded.a_completed,
    }
    assert set(await list_uuids(client, world.viewer_a, workspace_uuid=a, user_multiplai_id="mp-operator_a")) == {
        seeded.a_running,
        seeded.a_onboarding,
    }
    assert await list_uuids(client, world.viewer_a, workspace_uuid=a, user_multiplai_id="mp-nobody") == []


async def check_workflow_uuid_filters(client: httpx.AsyncClient, world: World, seeded: Seeded) -> None:
    inv, onb = world.workflows["Invoice approval"], world.workflows["Customer onboarding"]
    sync = world.workflows["Invoice sync"]
    # workflow_uuid alone is a valid scope.
    assert set(await list_uuids(client, world.multi, workflow_uuid=inv)) == {seeded.a_running, seeded.a_failed}
    # Repeated workflow_uuids=...&workflow_uuids=...
    response = await client.get(
        EXECUTIONS, params=[("workflow_uuids", onb), ("workflow_uuids", sync)], headers=world.multi.headers
    )
    assert response.status_code == 200, response.text
    assert {e["uuid"] for e in response.json()["data"]} == {seeded.a_onboarding, seeded.a_completed, seeded.b_running}
    # The PHP-style workflow_uuids[] form.
    response = await client.get(
        EXECUTIONS, params=[("workflow_uuids[]", inv), ("workflow_uuids[]", sync)], headers=world.multi.headers
    )
    assert response.status_code == 200, response.text
    assert {e["uuid"] for e in response.json()["data"]} == {seeded.a_running, seeded.a_failed, seeded.b_running}
    # Combined with a workspace: the workflow filter narrows the workspace.
    response = await client.get(
        EXECUTIONS,
        params=[("workspace_uuid", world.ws["A"]), ("workflow_uuid", onb), ("workflow_uuids[]", sync)],
        headers=world.multi.headers,
    )
    assert {e["uuid"] for e in response.json()["data"]} == {seeded.a_onboarding, seeded.a_completed}


async def check_search_workflow_name_execution_uuid_and_error_text(
    client: httpx.AsyncClient, world: World, seeded: Seeded
) -> None:
    a = world.ws["A"]
    # Workflow name, case-insensitive substring.
    assert set(await list_uuids(client, world.viewer_a, workspace_uuid=a, search="INVOICE")) == {
        seeded.a_running,
        seeded.a_failed,
    }
    assert set(await list_uuids(client, world.viewer_a, workspace_uuid=a, search="boarding")) == {
        seeded.a_onboarding,
        seeded.a_completed,
    }
    # Error text.
    assert await list_uuids(client, world.viewer_a, workspace_uuid=a, search="acme ledger") == [seeded.a_failed]
    # Whole execution uuid (surrounding spaces ignored).
    assert await list_uuids(client, world.viewer_a, workspace_uuid=a, search=f"  {seeded.a_completed} ") == [
        seeded.a_completed
    ]
    # Another workspace's execution uuid finds nothing.
    assert await list_uuids(client, world.viewer_a, workspace_uuid=a, search=seeded.b_running) == []
    assert await list_uuids(client, world.viewer_a, workspace_uuid=a, search="no such thing") == []
    # Blank search is no filter.
    assert set(await list_uuids(client, world.viewer_a, workspace_uuid=a, search="   ")) == seeded.a_all


async def check_status_filter_single_comma_list_and_repeated(
    client: httpx.AsyncClient, world: World, seeded: Seeded
) -> None:
    a = world.ws["A"]
    assert await list_uuids(client, world.viewer_a, workspace_uuid=a, status="running") == [seeded.a_running]
    assert set(await list_uuids(client, world.viewer_a, workspace_uuid=a, status="running,failed")) == {
        seeded.a_running,
        seeded.a_failed,
    }
    assert set(await list_uuids(client, world.viewer_a, workspace_uuid=a, status=" pending , completed ")) == {
        seeded.a_onboarding,
        seeded.a_completed,
    }
    response = await client.get(
        EXECUTIONS,
        params=[("workspace_uuid", a), ("status", "failed"), ("status", "completed")],
        headers=world.viewer_a.headers,
    )
    assert {e["uuid"] for e in response.json()["data"]} == {seeded.a_failed, seeded.a_completed}
    assert await list_uuids(client, world.viewer_a, workspace_uuid=a, status="paused") == []


async def check_date_from_and_date_to(client: httpx.AsyncClient, world: World, seeded: Seeded) -> None:
    a = world.ws["A"]

    async def between(**params: str) -> set[str]:
        return set(await list_uuids(client, world.viewer_a, workspace_uuid=a, **params))

    assert await between(date_from="2025-01-20") == {seeded.a_failed, seeded.a_onboarding, seeded.a_completed}
    # A bare date_to covers its whole day (23:30 on the 31st is in, midnight on Feb 1st is out).
    assert await between(date_to="2025-01-31") == {seeded.a_running, seeded.a_failed, seeded.a_onboarding}
    assert await between(date_from="2025-01-11", date_to="2025-01-31") == {seeded.a_failed, seeded.a_onboarding}
    assert await between(date_from="2025-02-01", date_to="2025-02-01") == {seeded.a_completed}
    # ISO date-times are exact bounds; both ends inclusive.
    assert await between(date_from="2025-01-20T08:00:00Z", date_to="2025-01-31T23:00:00Z") == {seeded.a_failed}
    assert await between(date_from="2025-01-20T08:00:01+00:00") == {seeded.a_onboarding, seeded.a_completed}
    # An offset is honoured: 2025-02-01T01:00+02:00 is 2025-01-31T23:00Z.
    assert await between(date_to="2025-02-01T01:00:00+02:00") == {seeded.a_running, seeded.a_failed}
    assert await between(date_from="2024-01-01", date_to="2024-12-31") == set()


async def check_date_to_before_date_from_is_rejected(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get(
        EXECUTIONS,
        params={"workspace_uuid": world.ws["A"], "date_from": "2025-02-01", "date_to": "2025-01-01"},
        headers=world.viewer_a.headers,
    )
    assert response.status_code == 422
    assert "date_to" in response.json()["errors"]


# ------------------------------------------------------------------------------------------ sort


async def check_sort_by_created_at_both_directions(client: httpx.AsyncClient, world: World, seeded: Seeded) -> None:
    oldest_first = [seeded.a_running, seeded.a_failed, seeded.a_onboarding, seeded.a_completed]
    a = world.ws["A"]
    assert await list_uuids(client, world.viewer_a, workspace_uuid=a) == oldest_first[::-1]  # default desc
    assert await list_uuids(client, world.viewer_a, workspace_uuid=a, sort_direction="asc") == oldest_first
    assert (
        await list_uuids(client, world.viewer_a, workspace_uuid=a, sort_by="created_at", sort_direction="desc")
        == oldest_first[::-1]
    )


async def check_sort_by_updated_at(client: httpx.AsyncClient, world: World, seeded: Seeded) -> None:
    # set_created_at also set updated_at; touching the oldest makes it the most recently updated.
    response = await patch_execution(client, world.operator_a, seeded.a_running, mode="manual")
    assert response.status_code == 200, response.text
    a = world.ws["A"]
    by_updated = await list_uuids(client, world.viewer_a, workspace_uuid=a, sort_by="updated_at")
    assert by_updated == [seeded.a_running, seeded.a_completed, seeded.a_onboarding, seeded.a_failed]
    asc = await list_uuids(client, world.viewer_a, workspace_uuid=a, sort_by="updated_at", sort_direction="asc")
    assert asc == by_updated[::-1]
    # created_at order is unaffected by the update.
    by_created = await list_uuids(client, world.viewer_a, workspace_uuid=a, sort_by="created_at")
    assert by_created[-1] == seeded.a_running


async def check_equal_timestamps_have_a_stable_order(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    wf = world.workflows["Invoice approval"]
    made = [(await create_execution(client, world.operator_a, wf))["uuid"] for _ in range(5)]
    same = dt.datetime(2025, 3, 1, tzinfo=UTC)
    for execution in made:
        await set_created_at(services, execution, same)
    pages = [
        e["uuid"]
        for page in (1, 2, 3)
        for e in (await list_executions(client, world.viewer_a, workspace_uuid=world.ws["A"], per_page=2, page=page))[
            "data"
        ]
    ]
    assert pages == made[::-1]  # ties broken by id, newest id first


# ------------------------------------------------------------------------------ with / with_count


async def check_with_and_with_count_add_only_what_was_asked(
    client: httpx.AsyncClient, world: World, seeded: Seeded
) -> None:
    params: dict[str, Any] = {"workspace_uuid": world.ws["A"], "status": "running"}
    plain = (await list_executions(client, world.viewer_a, **params))["data"][0]
    for key in ("workflow", "workflow_execution_data", "workflow_approvals_count", "pending_workflow_approvals_count"):
        assert key not in plain
    assert plain["uuid"] == seeded.a_running
    assert plain["workflow_uuid"] == world.workflows["Invoice approval"]
    assert plain["workflow_name"] == "Invoice approval"
    assert plain["workspace_uuid"] == world.ws["A"]
    assert plain["is_finished"] is False

    response = await client.get(
        EXECUTIONS,
        params={
            **params,
            "with": "workflow,workflowExecutionData",
            "with_count": "workflowApprovals,pendingWorkflowApprovals",
        },
        headers=world.viewer_a.headers,
    )
    assert response.status_code == 200, response.text
    item = response.json()["data"][0]
    wf = item["workflow"]
    assert wf["uuid"] == world.workflows["Invoice approval"]
    assert wf["name"] == "Invoice approval"
    # Invoice approval has a running and a failed execution.
    assert wf["executions_count"] == 2
    assert wf["executions_in_progress_count"] == 1
    assert wf["executions_completed_count"] == 0
    assert wf["executions_for_review_count"] == 0
    assert wf["trigger_count"] == 2
    assert [n["id"] for n in wf["nodes"]] == ["start", "review", "finish"]
    data = item["workflow_execution_data"]
    assert len(data) == 1 and data[0]["workflow_data"] == [] and data[0]["metadata"] == {}
    assert item["workflow_approvals_count"] == 0
    assert item["pending_workflow_approvals_count"] == 0


async def check_with_as_repeated_parameters(client: httpx.AsyncClient, world: World, seeded: Seeded) -> None:
    response = await client.get(
        EXECUTIONS,
        params=[
            ("workspace_uuid", world.ws["A"]),
            ("with", "workflow"),
            ("with", "workflowExecutionData"),
            ("with_count", "pendingWorkflowApprovals"),
        ],
        headers=world.viewer_a.headers,
    )
    assert response.status_code == 200, response.text
    for item in response.json()["data"]:
        assert item["workflow"]["uuid"] == item["workflow_uuid"]
        assert isinstance(item["workflow_execution_data"], list)
        assert item["pending_workflow_approvals_count"] == 0


async def check_get_one_with_relations(client: httpx.AsyncClient, world: World, seeded: Seeded) -> None:
    response = await client.get(
        f"{EXECUTIONS}/{seeded.a_failed}",
        params={"with": "workflow", "with_count": "workflowApprovals"},
        headers=world.viewer_a.headers,
    )
    assert response.status_code == 200, response.text
    item = response.json()["data"]
    assert item["uuid"] == seeded.a_failed
    assert item["status"] == "failed" and item["is_finished"] is True
    assert item["error"] == "Timeout talking to ACME ledger"
    assert item["workflow"]["name"] == "Invoice approval"
    assert item["workflow_approvals_count"] == 0
    assert "workflow_execution_data" not in item


# ------------------------------------------------------------------------------------ pagination


@pytest.fixture
async def twenty_five(client: httpx.AsyncClient, world: World) -> list[str]:
    """25 executions in A, returned newest first (the default order)."""
    wf = world.workflows["Customer onboarding"]
    made = [(await create_execution(client, world.operator_a, wf))["uuid"] for _ in range(25)]
    return made[::-1]


async def check_pagination_default_page_size_and_last_page(
    client: httpx.AsyncClient, world: World, twenty_five: list[str]
) -> None:
    a = world.ws["A"]
    first = await list_executions(client, world.viewer_a, workspace_uuid=a)
    assert [e["uuid"] for e in first["data"]] == twenty_five[:20]
    meta = first["meta"]
    assert meta == {
        "current_page": 1,
        "from": 1,
        "last_page": 2,
        "per_page": 20,
        "to": 20,
        "total": 25,
        "path": "http://testserver.local/api/v1/workflow-executions",
        "total_capped": False,
    }
    links = first["links"]
    assert links["prev"] is None
    assert links["first"].endswith("page=1") and links["last"].endswith("page=2") and links["next"].endswith("page=2")
    # Links keep the other query parameters.
    assert f"workspace_uuid={a}" in links["next"]

    second = await list_executions(client, world.viewer_a, workspace_uuid=a, page=2)
    assert [e["uuid"] for e in second["data"]] == twenty_five[20:]
    assert second["meta"]["from"] == 21 and second["meta"]["to"] == 25 and second["meta"]["current_page"] == 2
    assert second["links"]["next"] is None and second["links"]["prev"].endswith("page=1")

    # Following `next` from page 1 gives page 2.
    followed = await client.get(links["next"], headers=world.viewer_a.headers)
    assert followed.json()["data"] == second["data"]

    beyond = await list_executions(client, world.viewer_a, workspace_uuid=a, page=3)
    assert beyond["data"] == []
    assert beyond["meta"]["from"] is None and beyond["meta"]["to"] is None
    assert beyond["meta"]["total"] == 25 and beyond["meta"]["last_page"] == 2
    assert beyond["links"]["next"] is None


async def check_per_page_bounds(client: httpx.AsyncClient, world: World, twenty_five: list[str]) -> None:
    a = world.ws["A"]
    everything = await list_executions(client, world.viewer_a, workspace_uuid=a, per_page=100)
    assert [e["uuid"] for e in everything["data"]] == twenty_five
    assert everything["meta"]["last_page"] == 1 and everything["meta"]["per_page"] == 100
    one = await list_executions(client, world.viewer_a, workspace_uuid=a, per_page=1, page=25)
    assert [e["uuid"] for e in one["data"]] == [twenty_five[-1]]
    assert one["meta"]["last_page"] == 25 and one["meta"]["from"] == 25 and one["meta"]["to"] == 25
    exact = await list_executions(client, world.viewer_a, workspace_uuid=a, per_page=5, page=5)
    assert exact["meta"]["last_page"] == 5 and exact["links"]["next"] is None
    for bad in (0, 101, -1, "many"):
        response = await client.get(
            EXECUTIONS, params={"workspace_uuid": a, "per_page": bad}, headers=world.viewer_a.headers
        )
        assert response.status_code == 422, (bad, response.text)
        assert "per_page" in response.json()["errors"]


async def check_empty_result_envelope(client: httpx.AsyncClient, world: World) -> None:
    body = await list_executions(client, world.viewer_a, workspace_uuid=world.ws["A"])
    assert body["data"] == []
    assert body["meta"]["total"] == 0
    assert body["meta"]["from"] is None and body["meta"]["to"] is None
    assert body["meta"]["current_page"] == 1 and body["meta"]["last_page"] == 1
    assert body["links"]["prev"] is None and body["links"]["next"] is None
    assert body["links"]["first"].endswith("page=1") and body["links"]["last"].endswith("page=1")


async def test_scope_and_filters(client: httpx.AsyncClient, world: World, seeded: Seeded) -> None:
    """Scope (workspace, organization, workspace wins) and every filter, on one seeded data set."""
    await check_a_scope_is_required(client, world)
    await check_workspace_filter_returns_exactly_that_workspace(client, world, seeded)
    await check_organization_filter_spans_only_my_workspaces_of_that_organization(client, world, seeded)
    await check_workspace_wins_over_organization(client, world, seeded)
    await check_user_multiplai_id_filter(client, world, seeded)
    await check_workflow_uuid_filters(client, world, seeded)
    await check_search_workflow_name_execution_uuid_and_error_text(client, world, seeded)
    await check_status_filter_single_comma_list_and_repeated(client, world, seeded)
    await check_date_from_and_date_to(client, world, seeded)
    await check_date_to_before_date_from_is_rejected(client, world)


async def test_sorting_and_relations(client: httpx.AsyncClient, world: World, seeded: Seeded) -> None:
    """Sorting by created_at/updated_at both ways, and the with / with_count options."""
    await check_sort_by_created_at_both_directions(client, world, seeded)
    await check_with_and_with_count_add_only_what_was_asked(client, world, seeded)
    await check_with_as_repeated_parameters(client, world, seeded)
    await check_get_one_with_relations(client, world, seeded)
    await check_sort_by_updated_at(client, world, seeded)


async def test_pagination(client: httpx.AsyncClient, world: World, twenty_five: list[str]) -> None:
    """meta and links on every page, page size default 20, bounds 1..100."""
    await check_pagination_default_page_size_and_last_page(client, world, twenty_five)
    await check_per_page_bounds(client, world, twenty_five)


async def test_empty_results_and_ties(client: httpx.AsyncClient, world: World, services: Services) -> None:
    """The envelope of an empty result; equal timestamps page in a stable order."""
    await check_empty_result_envelope(client, world)
    await check_equal_timestamps_have_a_stable_order(client, world, services)
