"""Search over execution content (issue 20, item 4): node names, node input and output text and
metadata values, bounded and folded when written (migration 0016)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text

from app.services import Services
from tests.conftest import (
    EXECUTIONS,
    IS_POSTGRES,
    Actor,
    World,
    create_execution,
    list_executions,
    patch_execution,
)


async def test_search_covers_execution_content(client: httpx.AsyncClient, world: World) -> None:
    """Issue 20, item 4: a node's name, its input and output text and metadata values are searched
    (case-insensitively, each value's first 1,000 characters), besides workflow name and error."""
    wf = world.workflows["Invoice approval"]
    by_output = await create_execution(client, world.operator_a, wf, status="running")
    by_input = await create_execution(
        client,
        world.operator_a,
        wf,
        execution_data={"workflow_data": [{"node_id": "fetch", "status": "success", "input": {"q": "Kestrel Ltd"}}]},
    )
    by_metadata = await create_execution(
        client, world.operator_a, wf, execution_data={"metadata": {"customer": "Osprey GmbH"}}
    )
    too_deep = await create_execution(
        client, world.operator_a, wf, execution_data={"metadata": {"notes": "x" * 1000 + " Heron"}}
    )
    other = await create_execution(client, world.operator_a, wf)
    runs = [
        {
            "node_id": "ship",
            "node_name": "Ship Parcel",
            "run_index": 0,
            "status": "success",
            "output": {"text": "Refund ISSUED"},
        }
    ]
    assert (await patch_execution(client, world.operator_a, by_output["uuid"], node_runs=runs)).status_code == 200

    async def found(term: str) -> set[str]:
        body = (
            await client.get(
                EXECUTIONS, params={"workspace_uuid": world.ws["A"], "search": term}, headers=world.viewer_a.headers
            )
        ).json()
        assert body["meta"]["total"] == len(body["data"]), term
        return {e["uuid"] for e in body["data"]}

    assert await found("refund issued") == {by_output["uuid"]}  # node output text
    assert await found("ship parcel") == {by_output["uuid"]}  # node name
    assert await found("KESTREL") == {by_input["uuid"]}  # node input
    assert await found("osprey") == {by_metadata["uuid"]}  # metadata value
    assert await found("heron") == set()  # past the first 1,000 characters of its value
    assert await found("nothing like it") == set()
    assert other["uuid"] in await found("invoice approval")  # the workflow name still matches every one
    # A new report of the same run replaces what is searched.
    runs[0]["output"] = {"text": "Parcel returned"}
    assert (await patch_execution(client, world.operator_a, by_output["uuid"], node_runs=runs)).status_code == 200
    assert await found("refund issued") == set()
    assert await found("parcel returned") == {by_output["uuid"]}
    assert too_deep["uuid"] not in await found("osprey")


async def test_content_search_pages_exactly_within_the_listed_workspaces(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    """Issue 20, items 2 and 4: a client paging a content search from 1 to ``last_page`` sees each
    match once and the page after it is empty; matches in a workspace that is not listed never
    appear, those in every listed one do (PostgreSQL reads the data rows by workspace, migration
    0019; the total is counted beside the page's ids)."""
    runs = [{"node_id": "ship", "node_name": "Ship", "status": "success", "output": {"note": "by Kingfisher courier"}}]
    in_a = [
        (await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="running"))[
            "uuid"
        ]
        for _ in range(7)
    ]
    in_b = [
        (await create_execution(client, world.operator_b, world.workflows["Invoice sync"], status="running"))["uuid"]
        for _ in range(3)
    ]
    for uuid, actor in [*((u, world.operator_a) for u in in_a), *((u, world.operator_b) for u in in_b)]:
        assert (await patch_execution(client, actor, uuid, node_runs=runs)).status_code == 200
    await create_execution(client, world.operator_a, world.workflows["Invoice approval"])  # no match
    for uuid in in_a[:2]:
        assert (await patch_execution(client, world.operator_a, uuid, status="failed")).status_code == 200

    async def paged(actor: Actor, **params: Any) -> tuple[int, list[str]]:
        params |= {"search": "kingfisher", "per_page": 3}
        first = await list_executions(client, actor, **params)
        total, last_page = first["meta"]["total"], first["meta"]["last_page"]
        assert last_page == max(1, -(-total // 3)), params
        seen: list[str] = []
        for page in range(1, last_page + 2):
            body = await list_executions(client, actor, page=page, **params)
            assert (body["meta"]["total"], body["meta"]["total_capped"]) == (total, False), (params, page)
            seen += [e["uuid"] for e in body["data"]]
        return total, seen

    total, seen = await paged(world.viewer_a, workspace_uuid=world.ws["A"])
    assert total == 7 and sorted(seen) == sorted(in_a)
    total, seen = await paged(world.operator_b, workspace_uuid=world.ws["B"])
    assert total == 3 and sorted(seen) == sorted(in_b)
    total, seen = await paged(world.multi, organization_multiplai_id="org-1")
    assert total == 10 and sorted(seen) == sorted(in_a + in_b)
    total, seen = await paged(world.viewer_a, workspace_uuid=world.ws["A"], status="failed")
    assert total == 2 and sorted(seen) == sorted(in_a[:2])
    if IS_POSTGRES:  # the trigger gave every data row its execution's workspace
        async with services.db.read() as session:
            mismatched = await session.execute(
                text(
                    "SELECT count(*) FROM workflow_execution_data d JOIN workflow_executions e"
                    " ON e.id = d.execution_id WHERE d.workspace_id IS DISTINCT FROM e.workspace_id"
                )
            )
            assert mismatched.scalar_one() == 0
