"""GET /workflow-executions/count: required parameters, scope, filters and the by_status breakdown.

Related checks share one test (and one fresh database, which costs ~0.4 s on PostgreSQL); each
``check_*`` helper names what failed in the traceback.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest

from app.services import Services
from tests.conftest import API, EXECUTIONS, World, create_execution, set_created_at, stop_execution

COUNT = f"{EXECUTIONS}/count"
ZERO = {s: 0 for s in ("pending", "running", "paused", "waiting", "completed", "failed", "cancelled")}
JAN = {"start_date": "2025-01-01", "end_date": "2025-01-31"}


async def count(client: httpx.AsyncClient, actor: Any, **params: Any) -> dict[str, Any]:
    response = await client.get(COUNT, params=params, headers=actor.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data"} and set(body["data"]) == {"count", "by_status"}
    assert body["data"]["count"] == sum(body["data"]["by_status"].values())
    return body["data"]


@pytest.fixture
async def january(client: httpx.AsyncClient, world: World, services: Services) -> dict[str, str]:
    """In A: 2 running, 1 waiting, 1 completed, 1 failed in January 2025, plus one running in
    February; in B one running in January; in C one running in January."""
    inv = world.workflows["Invoice approval"]
    made: dict[str, str] = {}
    for key, actor, wf, status, day in (
        ("run1", world.operator_a, inv, "running", dt.datetime(2025, 1, 1, 0, 0, tzinfo=dt.UTC)),
        ("run2", world.operator_a, inv, "running", dt.datetime(2025, 1, 15, tzinfo=dt.UTC)),
        ("wait", world.operator_a, inv, "waiting", dt.datetime(2025, 1, 16, tzinfo=dt.UTC)),
        ("done", world.admin_a, inv, "completed", dt.datetime(2025, 1, 20, tzinfo=dt.UTC)),
        ("fail", world.admin_a, inv, "failed", dt.datetime(2025, 1, 31, 23, 59, 59, tzinfo=dt.UTC)),
        ("feb", world.operator_a, inv, "running", dt.datetime(2025, 2, 1, tzinfo=dt.UTC)),
        ("b", world.operator_b, world.workflows["Invoice sync"], "running", dt.datetime(2025, 1, 10, tzinfo=dt.UTC)),
        ("c", world.multi, world.workflows["Payroll run"], "running", dt.datetime(2025, 1, 10, tzinfo=dt.UTC)),
    ):
        made[key] = (await create_execution(client, actor, wf, status=status))["uuid"]
        await set_created_at(services, made[key], day)
    return made


async def check_counts_by_status_in_a_date_range(client: httpx.AsyncClient, world: World, january: dict) -> None:
    data = await count(client, world.viewer_a, workspace_uuid=world.ws["A"], **JAN)
    assert data == {"count": 5, "by_status": ZERO | {"running": 2, "waiting": 1, "completed": 1, "failed": 1}}
    feb = await count(
        client, world.viewer_a, workspace_uuid=world.ws["A"], start_date="2025-02-01", end_date="2025-02-28"
    )
    assert feb == {"count": 1, "by_status": ZERO | {"running": 1}}
    single_day = await count(
        client, world.viewer_a, workspace_uuid=world.ws["A"], start_date="2025-01-31", end_date="2025-01-31"
    )
    assert single_day["by_status"] == ZERO | {"failed": 1}
    exact = await count(
        client,
        world.viewer_a,
        workspace_uuid=world.ws["A"],
        start_date="2025-01-15T00:00:00Z",
        end_date="2025-01-16T00:00:00Z",
    )
    assert exact["by_status"] == ZERO | {"running": 1, "waiting": 1}
    empty = await count(
        client, world.viewer_a, workspace_uuid=world.ws["A"], start_date="2024-01-01", end_date="2024-12-31"
    )
    assert empty == {"count": 0, "by_status": ZERO}


async def check_count_by_organization_multiplai_id(client: httpx.AsyncClient, world: World, january: dict) -> None:
    assert (await count(client, world.multi, multiplai_id="org-1", **JAN))["count"] == 6  # A (5) + B (1)
    assert (await count(client, world.multi, multiplai_id="org-2", **JAN))["count"] == 1
    # operator_a is only in A: the organization does not widen their scope.
    assert (await count(client, world.operator_a, multiplai_id="org-1", **JAN))["count"] == 5
    assert (await count(client, world.operator_a, multiplai_id="org-2", **JAN)) == {"count": 0, "by_status": ZERO}
    # The workspace wins over the organization.
    assert (await count(client, world.multi, workspace_uuid=world.ws["B"], multiplai_id="org-2", **JAN))["count"] == 1


async def check_count_status_filter(client: httpx.AsyncClient, world: World, january: dict) -> None:
    a = world.ws["A"]
    data = await count(client, world.viewer_a, workspace_uuid=a, status="running", **JAN)
    assert data == {"count": 2, "by_status": ZERO | {"running": 2}}
    data = await count(client, world.viewer_a, workspace_uuid=a, status="completed,failed", **JAN)
    assert data == {"count": 2, "by_status": ZERO | {"completed": 1, "failed": 1}}


async def check_count_requires_human_review_and_command_room(
    client: httpx.AsyncClient, world: World, january: dict
) -> None:
    a = world.ws["A"]
    review = await client.post(
        f"{API}/workflow-approvals",
        json={"execution_uuid": january["wait"], "node_id": "review", "title": "Check the invoice"},
        headers=world.operator_a.headers,
    )
    assert review.status_code == 201, review.text
    flagged = await client.post(
        f"{API}/command-room-tasks", json={"execution_uuid": january["run1"]}, headers=world.operator_a.headers
    )
    assert flagged.status_code == 201, flagged.text

    for truthy in ("true", "1", "yes"):
        assert await count(client, world.viewer_a, workspace_uuid=a, requires_human_review=truthy, **JAN) == {
            "count": 1,
            "by_status": ZERO | {"waiting": 1},
        }
    assert (await count(client, world.viewer_a, workspace_uuid=a, requires_human_review="false", **JAN))["count"] == 4
    assert await count(client, world.viewer_a, workspace_uuid=a, has_command_room_task="true", **JAN) == {
        "count": 1,
        "by_status": ZERO | {"running": 1},
    }
    assert (await count(client, world.viewer_a, workspace_uuid=a, has_command_room_task="0", **JAN))["count"] == 4
    both = await count(
        client, world.viewer_a, workspace_uuid=a, has_command_room_task="true", requires_human_review="true", **JAN
    )
    assert both["count"] == 0
    # Empty means "no filter".
    assert (await count(client, world.viewer_a, workspace_uuid=a, requires_human_review="", **JAN))["count"] == 5

    # Once the waiting execution is stopped its approval is cancelled: no longer awaiting review.
    assert (await stop_execution(client, world.operator_a, january["wait"])).status_code == 200
    assert (await count(client, world.viewer_a, workspace_uuid=a, requires_human_review="true", **JAN))["count"] == 0


async def check_count_excludes_soft_deleted(client: httpx.AsyncClient, world: World, january: dict) -> None:
    response = await client.delete(f"{EXECUTIONS}/{january['run2']}", headers=world.operator_a.headers)
    assert response.status_code == 204
    data = await count(client, world.viewer_a, workspace_uuid=world.ws["A"], **JAN)
    assert data["count"] == 4 and data["by_status"]["running"] == 1


BAD_PARAMETERS = [
    ({"start_date": "2025-01-01", "end_date": "2025-01-31"}, "workspace_uuid"),
    ({"end_date": "2025-01-31"}, "start_date"),
    ({"start_date": "2025-01-01"}, "end_date"),
    ({"start_date": "yesterday", "end_date": "2025-01-31"}, "start_date"),
    ({"start_date": "2025-01-01", "end_date": "2025-02-30"}, "end_date"),
    ({"start_date": "2025-02-01", "end_date": "2025-01-01"}, "end_date"),
    ({"start_date": "0001-01-01", "end_date": "2025-01-01"}, "start_date"),
    ({"start_date": "2025-01-01", "end_date": "2025-01-31", "status": "done"}, "status"),
    ({"start_date": "2025-01-01", "end_date": "2025-01-31", "requires_human_review": "maybe"}, "requires_human_review"),
    ({"start_date": "2025-01-01", "end_date": "2025-01-31", "has_command_room_task": "2"}, "has_command_room_task"),
    ({"start_date": "2025-01-01", "end_date": "2025-01-31", "workspace_uuid": "not-a-uuid"}, "workspace_uuid"),
]


async def test_count_rejects_bad_parameters_naming_the_field(client: httpx.AsyncClient, world: World) -> None:
    for params, field in BAD_PARAMETERS:
        if "workspace_uuid" not in params and field != "workspace_uuid":
            params = {**params, "workspace_uuid": world.ws["A"]}
        response = await client.get(COUNT, params=params, headers=world.viewer_a.headers)
        assert response.status_code == 422, (params, response.text)
        assert field in response.json()["errors"], (params, response.json())


async def check_count_of_a_foreign_workspace_is_404(client: httpx.AsyncClient, world: World, january: dict) -> None:
    response = await client.get(
        COUNT, params={"workspace_uuid": world.ws["B"], **JAN}, headers=world.operator_a.headers
    )
    assert response.status_code == 404


async def test_count_filters(client: httpx.AsyncClient, world: World, january: dict) -> None:
    """Totals and by_status over a date range, by workspace or organization, with every filter."""
    await check_counts_by_status_in_a_date_range(client, world, january)
    await check_count_by_organization_multiplai_id(client, world, january)
    await check_count_status_filter(client, world, january)
    await check_count_of_a_foreign_workspace_is_404(client, world, january)
    await check_count_requires_human_review_and_command_room(client, world, january)
    await check_count_excludes_soft_deleted(client, world, january)
