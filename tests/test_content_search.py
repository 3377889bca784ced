"""Search over execution content (issue 20, item 4): node names, node input and output text and
metadata values, bounded and folded when written (migration 0016)."""

from __future__ import annotations

import httpx

from tests.conftest import EXECUTIONS, World, create_execution, patch_execution


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
