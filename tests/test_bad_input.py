"""Bad input answers 4xx (422 naming the field where there is one), never 500; search is literal.

Related checks share one test (and one fresh database, which costs ~0.4 s on PostgreSQL); each
``check_*`` helper names what failed in the traceback.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from app.services import Services
from tests.conftest import (
    API,
    EXECUTIONS,
    IS_POSTGRES,
    World,
    create_execution,
    get_execution,
    list_uuids,
    read_events,
)


async def test_bad_list_parameters_name_the_field(client: httpx.AsyncClient, world: World) -> None:
    a = world.ws["A"]
    cases: list[tuple[dict[str, Any], str]] = [
        ({"date_from": "garbage"}, "date_from"),
        ({"date_from": "2025-13-45"}, "date_from"),
        ({"date_to": "2025-01-01T25:00:00"}, "date_to"),
        ({"date_to": "'; DROP TABLE workflow_executions; --"}, "date_to"),
        ({"date_from": "0001-01-01"}, "date_from"),
        ({"date_from": "2025-01-01T00:00:00+25:00"}, "date_from"),
        ({"sort_by": "id"}, "sort_by"),
        ({"sort_by": "created_at; DROP TABLE users"}, "sort_by"),
        ({"sort_direction": "sideways"}, "sort_direction"),
        ({"status": "done"}, "status"),
        ({"status": "running,bogus"}, "status"),
        ({"with": "workflow,secrets"}, "with"),
        ({"with_count": "everything"}, "with_count"),
        ({"page": 0}, "page"),
        ({"page": "first"}, "page"),
        ({"per_page": "1; --"}, "per_page"),
        ({"workflow_uuid": "not-a-uuid"}, "workflow_uuid"),
        ({"workflow_uuids": "123"}, "workflow_uuids"),
        ({"workspace_uuid": "' OR '1'='1"}, "workspace_uuid"),
        ({"search": "x" * 201}, "search"),
    ]
    for params, field in cases:
        query = {"workspace_uuid": a, **params}
        response = await client.get(EXECUTIONS, params=query, headers=world.viewer_a.headers)
        assert response.status_code == 422, (params, response.text)
        body = response.json()
        assert field in body["errors"], (params, body)
        assert body["message"]
    # The tables are still there.
    assert (
        await client.get(EXECUTIONS, params={"workspace_uuid": a}, headers=world.viewer_a.headers)
    ).status_code == 200


async def test_search_is_literal_text(client: httpx.AsyncClient, world: World, services: Services) -> None:
    """SQL-ish strings are plain text, and LIKE wildcards match only themselves."""
    from app.domain.workflows.schemas import WorkflowCreate

    current = await services.accounts.authenticate_token(world.admin_a.token)
    assert current is not None
    names = {
        "pct": "Refund 100% done_ok",
        "lookalike": "Refund 1000 doneXok",
        "quote": 'O\'Brien "quoted" \\ path',
    }
    made: dict[str, str] = {}
    for key, name in names.items():
        wf = await services.workflows.create_workflow(
            current, WorkflowCreate(workspace_uuid=uuid.UUID(world.ws["A"]), name=name)
        )
        made[key] = (await create_execution(client, world.operator_a, wf["uuid"]))["uuid"]
    plain = (await create_execution(client, world.operator_a, world.workflows["Invoice approval"]))["uuid"]

    async def search(term: str) -> set[str]:
        return set(await list_uuids(client, world.viewer_a, workspace_uuid=world.ws["A"], search=term))

    assert await search("%") == {made["pct"]}
    assert await search("_") == {made["pct"]}
    assert await search("0% d") == {made["pct"]}
    assert await search("done_ok") == {made["pct"]}
    assert await search("100_") == set()  # "_" is not "any character"
    assert await search("%%") == set()
    assert await search("Refund%done") == set()
    assert await search("Refund") == {made["pct"], made["lookalike"]}
    assert await search("O'Brien") == {made["quote"]}
    assert await search('"quoted"') == {made["quote"]}
    assert await search("\\") == {made["quote"]}
    assert await search("\\ path") == {made["quote"]}
    for injection in (
        "' OR '1'='1",
        "' OR 1=1 --",
        '" OR ""="',
        "'; DROP TABLE workflow_executions; --",
        "1) OR (1=1",
        "%' OR '%'='",
        "*",
        "[a-z]",
        "\\%",
    ):
        assert await search(injection) == set(), injection
    everything = await search("")
    assert everything == {*made.values(), plain}
    # Nothing was dropped or changed by the attempts.
    assert (await get_execution(client, world.viewer_a, plain))["status"] == "pending"


async def test_nul_characters_never_cause_a_server_error(client: httpx.AsyncClient, world: World) -> None:
    """PostgreSQL cannot store NUL: it answers 422; SQLite stores it. Neither answers 500 or over-matches.
    A search with a NUL is a 422 on both (on SQLite the LIKE pattern ended at the NUL: "\x00" matched all)."""
    execution = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="running")
    for term in ("Invoice\x00", "\x00"):
        response = await client.get(
            EXECUTIONS, params={"workspace_uuid": world.ws["A"], "search": term}, headers=world.viewer_a.headers
        )
        assert response.status_code == 422 and "search" in response.json()["errors"], response.text
    for body in ({"mode": "a\x00b"}, {"execution_data": {"metadata": {"note": "a\x00b"}}}):
        response = await client.patch(f"{EXECUTIONS}/{execution['uuid']}", json=body, headers=world.operator_a.headers)
        assert response.status_code == (422 if IS_POSTGRES else 200), response.text
    if IS_POSTGRES:
        assert (await get_execution(client, world.viewer_a, execution["uuid"]))["version"] == 1


async def check_bad_bodies(client: httpx.AsyncClient, world: World, services: Services) -> None:
    execution = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="running")
    url = f"{EXECUTIONS}/{execution['uuid']}"
    headers = world.operator_a.headers
    events = await read_events(services)

    # Malformed JSON: 400 with a JSON message.
    for raw in (b"{not json", b'{"status": "running"', b"", b"\xff\xfe"):
        response = await client.patch(url, content=raw, headers={**headers, "content-type": "application/json"})
        assert response.status_code in (400, 422), (raw, response.text)
        assert response.json()["message"]

    cases: list[tuple[str, str, Any, str]] = [
        ("PATCH", url, {"foo": 1}, "foo"),
        ("PATCH", url, {"status": "done"}, "status"),
        ("PATCH", url, {"status": 5}, "status"),
        ("PATCH", url, {"version": 0}, "version"),
        ("PATCH", url, {"wait_till": "tomorrow"}, "wait_till"),
        ("PATCH", url, {"wait_till": "9999-12-31T23:59:59-05:00"}, "wait_till"),
        ("PATCH", url, {"wait_till": "0001-01-01T00:00:00+05:00"}, "wait_till"),
        ("PATCH", url, {"mode": "m" * 51}, "mode"),
        ("PATCH", url, {"node_runs": [{"node_id": "a", "status": "exploded"}]}, "node_runs[0].status"),
        ("PATCH", url, {"node_runs": [{"status": "running"}]}, "node_runs[0].node_id"),
        ("PATCH", url, {"node_runs": [{"node_id": "a", "status": "running", "extra": 1}]}, "node_runs[0].extra"),
        (
            "PATCH",
            url,
            {"node_runs": [{"node_id": "a", "status": "running", "started_at": "9999-12-31T23:59:59-12:00"}]},
            "node_runs[0].started_at",
        ),
        (
            "PATCH",
            url,
            {"node_runs": [{"node_id": "a", "status": "running", "run_index": -1}]},
            "node_runs[0].run_index",
        ),
        ("PATCH", url, {"execution_data": {"metadata": [1, 2]}}, "execution_data.metadata"),
        ("PUT", url, {"unknown": True}, "unknown"),
        ("POST", EXECUTIONS, {}, "workflow_uuid"),
        ("POST", EXECUTIONS, {"workflow_uuid": "nope"}, "workflow_uuid"),
        ("POST", EXECUTIONS, {"workflow_uuid": world.workflows["Invoice approval"], "status": "weird"}, "status"),
        ("POST", EXECUTIONS, {"workflow_uuid": world.workflows["Invoice approval"], "id": 5}, "id"),
        (
            "POST",
            EXECUTIONS,
            {"workflow_uuid": world.workflows["Invoice approval"], "wait_till": "1969-12-31T23:59:59Z"},
            "wait_till",
        ),
        ("POST", f"{API}/workflow-approvals", {"execution_uuid": execution["uuid"], "node_id": "n"}, "title"),
        (
            "POST",
            f"{API}/workflow-approvals",
            {"execution_uuid": execution["uuid"], "node_id": "n", "title": ""},
            "title",
        ),
        ("POST", f"{API}/command-room-tasks", {"execution_uuid": "x"}, "execution_uuid"),
        ("POST", f"{API}/auth/sign-in", {"email": "a@b.c"}, "password"),
    ]
    for method, target, body, field in cases:
        response = await client.request(method, target, json=body, headers=headers)
        assert response.status_code == 422, (method, body, response.text)
        assert field in response.json()["errors"], (method, body, response.json())
    # A JSON array where an object is expected.
    response = await client.patch(url, json=[{"status": "completed"}], headers=headers)
    assert response.status_code == 422

    # Nothing above changed the execution or wrote an event.
    assert (await get_execution(client, world.viewer_a, execution["uuid"]))["version"] == 1
    assert await read_events(services) == events


async def check_naive_body_datetimes_mean_utc(client: httpx.AsyncClient, world: World) -> None:
    execution = await create_execution(
        client, world.operator_a, world.workflows["Invoice approval"], status="running", wait_till="2030-01-01T08:00:00"
    )
    assert execution["wait_till"] == "2030-01-01T08:00:00.000000Z"


async def test_invalid_and_unknown_path_ids(client: httpx.AsyncClient, world: World) -> None:
    headers = world.operator_a.headers
    for path in (
        f"{EXECUTIONS}/not-a-uuid",
        f"{EXECUTIONS}/1",
        f"{EXECUTIONS}/' OR 1=1 --",
        f"{EXECUTIONS}/{uuid.uuid4()}",
        f"{API}/workflows/not-a-uuid",
        f"{API}/workspaces/123",
    ):
        response = await client.get(path, headers=headers)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["message"]
    for method in ("PATCH", "PUT"):
        response = await client.request(method, f"{EXECUTIONS}/nope", json={"mode": "x"}, headers=headers)
        assert 400 <= response.status_code < 500
    for method, path in (("DELETE", f"{EXECUTIONS}/nope"), ("POST", f"{EXECUTIONS}/nope/stop")):
        response = await client.request(method, path, headers=headers)
        assert 400 <= response.status_code < 500
    response = await client.post(f"{EXECUTIONS}/{uuid.uuid4()}/stop", headers=headers)
    assert response.status_code == 404


async def test_bad_bodies_and_naive_datetimes(client: httpx.AsyncClient, world: World, services: Services) -> None:
    """Malformed and invalid bodies are 4xx naming the field; naive date-times are UTC."""
    await check_bad_bodies(client, world, services)
    await check_naive_body_datetimes_mean_utc(client, world)
