"""The seed's request forms (issue 20): its literal curl, empty parameters as "not given", bracket
lists, enums in any case, and timestamps with six fraction digits."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import httpx

from app.services import Services
from tests.conftest import API, EXECUTIONS, World, create_execution, patch_execution, set_created_at

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
SEED_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


async def test_the_seed_curl_answers_200(client: httpx.AsyncClient, world: World, services: Services) -> None:
    """The seed's example request as written (placeholders filled in): every optional parameter
    present and empty, ``workflow_uuids`` repeated, an empty ``X-Multiplai-Authorization``."""
    wf1, wf2 = world.workflows["Invoice approval"], world.workflows["Customer onboarding"]
    made = await create_execution(client, world.operator_a, wf1)
    await set_created_at(services, made["uuid"], dt.datetime(2025, 1, 15, 10, tzinfo=dt.UTC))
    query = (
        f"workspace_uuid={world.ws['A']}&organization_multiplai_id=org-123&user_multiplai_id="
        f"&workflow_uuid={wf1}&workflow_uuids={wf1}&workflow_uuids={wf2}&search=&page=&sort_by="
        "&sort_direction=&date_from=2025-01-01&date_to=2025-01-31&with=&with_count="
    )
    headers = {"X-Multiplai-Authorization": "", "Authorization": f"Bearer {world.viewer_a.token}"}
    response = await client.get(f"{EXECUTIONS}?{query}", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [e["uuid"] for e in body["data"]] == [made["uuid"]]
    assert body["meta"]["current_page"] == 1 and body["meta"]["total"] == 1
    assert "workflow" not in body["data"][0]  # with= empty: nothing extra loaded
    # The links carry no empty parameter.
    assert "search=" not in body["links"]["first"] and "with=" not in body["links"]["first"]
    # The token in X-Multiplai-Authorization alone works the same.
    alone = await client.get(
        f"{EXECUTIONS}?{query}", headers={"X-Multiplai-Authorization": f"Bearer {world.viewer_a.token}"}
    )
    assert alone.status_code == 200 and alone.json()["data"] == body["data"]


async def test_empty_means_not_given_everywhere(client: httpx.AsyncClient, world: World) -> None:
    a, headers = world.ws["A"], world.admin_a.headers
    empty_lists = "&status=&search=&page=&per_page=&date_from=&date_to="
    requests = [
        f"{EXECUTIONS}?workspace_uuid={a}&sort_by=&sort_direction=&with=&with_count=&cursor={empty_lists}",
        f"{EXECUTIONS}/count?workspace_uuid={a}&multiplai_id=&start_date=2025-01-01&end_date=2025-01-31"
        "&status=&requires_human_review=&has_command_room_task=&time_axis=",
        f"{API}/workflow-approvals?workspace_uuid={a}&organization_multiplai_id=&workflow_uuid=&status="
        "&assigned=&decided_by=&overdue=&search=&sort_by=&page=&per_page=",
        f"{API}/audit?workspace_uuid=&action=&actor=&execution_uuid=&date_from=&date_to=&page=&per_page=",
        f"{API}/metrics/workflow-executions?workspace_uuid={a}&organization_multiplai_id=&date_from=&date_to="
        "&interval=&time_axis=",
    ]
    for url in requests:
        response = await client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.text)


async def test_present_wrong_values_still_name_the_field(client: httpx.AsyncClient, world: World) -> None:
    a, headers = world.ws["A"], world.viewer_a.headers
    cases = {
        f"workspace_uuid={a}&page=x": "page",
        f"workspace_uuid={a}&sort_by=name": "sort_by",
        f"workspace_uuid={a}&status[]=done": "status",
        f"workspace_uuid={a}&with[]=secrets": "with",
        f"workspace_uuid={a}&with_count[]=everything": "with_count",
        f"workspace_uuid={a}&statuses[]=failed": "statuses[]",
        f"workspace_uuid={a}&filter[status]=failed": "filter[status]",
        f"workspace_uuid={a}&status[x]=failed": "status[x]",
        # A declared bracket parameter is named as sent, never by the handler's own argument name.
        f"workspace_uuid={a}&workflow_uuids[]=nope": "workflow_uuids[]",
        f"workspace_uuid={a}&workflow_uuids=nope": "workflow_uuids",
        "workspace_uuid=": "workspace_uuid",  # empty is "not given": the required scope is missing
    }
    for query, field in cases.items():
        response = await client.get(f"{EXECUTIONS}?{query}", headers=headers)
        assert response.status_code == 422, (query, response.text)
        assert list(response.json()["errors"]) == [field], (query, response.json())


async def test_bracket_lists_and_enums_in_any_case(client: httpx.AsyncClient, world: World) -> None:
    a, wf = world.ws["A"], world.workflows["Invoice approval"]
    first = await create_execution(client, world.operator_a, wf)
    second = await create_execution(client, world.operator_a, wf)
    assert (await patch_execution(client, world.operator_a, second["uuid"], status="running")).status_code == 200
    headers = world.viewer_a.headers

    async def uuids(query: str) -> list[str]:
        response = await client.get(f"{EXECUTIONS}?workspace_uuid={a}&{query}", headers=headers)
        assert response.status_code == 200, (query, response.text)
        return [e["uuid"] for e in response.json()["data"]]

    assert await uuids("status[]=running") == [second["uuid"]]
    assert await uuids("status[0]=running&status[1]=pending") == [second["uuid"], first["uuid"]]
    assert await uuids("status[]=pending,running&sort_direction=ASC") == [first["uuid"], second["uuid"]]
    assert await uuids("sort_by=CREATED_AT&sort_direction=Desc") == [second["uuid"], first["uuid"]]
    assert await uuids(f"workflow_uuids[]={wf}&status=running") == [second["uuid"]]
    response = await client.get(
        f"{EXECUTIONS}?workspace_uuid={a}&with[]=workflow&with[]=workflowExecutionData"
        "&with_count[]=pendingWorkflowApprovals",
        headers=headers,
    )
    row = response.json()["data"][0]
    assert row["workflow"]["uuid"] == wf
    assert "workflow_execution_data" in row and row["pending_workflow_approvals_count"] == 0
    # Comma lists, as the seed writes them.
    row = (
        await client.get(
            f"{EXECUTIONS}?workspace_uuid={a}&with=workflow,workflowExecutionData"
            "&with_count=workflowApprovals,pendingWorkflowApprovals",
            headers=headers,
        )
    ).json()["data"][0]
    assert row["workflow"]["uuid"] == wf and row["workflow_approvals_count"] == 0


def _timestamps(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [t for v in value.values() for t in _timestamps(v)]
    if isinstance(value, list):
        return [t for v in value for t in _timestamps(v)]
    return [value] if isinstance(value, str) and TIMESTAMP.match(value) else []


async def test_every_timestamp_has_six_fraction_digits(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    a, wf = world.ws["A"], world.workflows["Invoice approval"]
    made = await create_execution(client, world.operator_a, wf)
    await set_created_at(services, made["uuid"], dt.datetime(2026, 12, 8, 9, tzinfo=dt.UTC))  # a zero fraction
    headers = world.admin_a.headers
    urls = [
        f"{EXECUTIONS}?workspace_uuid={a}&with=workflow,workflowExecutionData",
        f"{EXECUTIONS}/{made['uuid']}?with=workflow",
        f"{API}/metrics/workflow-executions?workspace_uuid={a}&date_from=2026-12-01&date_to=2026-12-09",
        f"{API}/workflow-approvals?workspace_uuid={a}",
    ]
    seen: list[str] = []
    for url in urls:
        response = await client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.text)
        seen += _timestamps(response.json())
    assert "2026-12-08T09:00:00.000000Z" in seen
    assert seen and all(SEED_TIMESTAMP.match(t) for t in seen), [t for t in seen if not SEED_TIMESTAMP.match(t)]


async def test_options_lists_every_method_of_each_api_path(app: Any, client: httpx.AsyncClient) -> None:
    """Issue 20 item 7: ``Allow`` on ``OPTIONS`` names every method the path has, on list paths and on
    paths with an id (``GET``/``PUT``/``PATCH``/``DELETE`` of one execution were left out)."""
    paths = 0
    for route in app.routes:
        methods = getattr(route, "methods", None)
        if not methods or not route.path.startswith(API):
            continue
        path = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), route.path)
        response = await client.options(path)
        assert response.status_code == 204, (path, response.status_code)
        assert set(response.headers["allow"].split(", ")) == set(methods), (route.path, response.headers["allow"])
        paths += 1
    assert paths > 30
