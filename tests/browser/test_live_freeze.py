"""The live table stays still while the operator works on it (issue 9), in headless Chromium."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.conftest import World
from tests.servers import AppServer

LIVE = "() => document.querySelector('#conn').dataset.state === 'live'"
ROW_IDS = "() => Array.from(document.querySelectorAll('#execution-rows tr')).map(tr => tr.id.slice(4))"


async def test_burst_while_held_keeps_rows_still_then_apply_catches_up(
    signed_in_page: Any, server: AppServer, world: World
) -> None:
    page = signed_in_page
    workflow = world.workflows["Invoice approval"]
    async with httpx.AsyncClient(base_url=server.base_url, headers=world.operator_a.headers, timeout=30) as api:

        async def call(method: str, path: str, **kw: Any) -> dict[str, Any]:
            response = await api.request(method, f"/api/v1/workflow-executions{path}", **kw)
            assert response.status_code < 300, response.text
            return response.json() if response.content else {}

        async def create() -> dict[str, Any]:
            return (await call("POST", "", json={"workflow_uuid": workflow, "status": "running"}))["data"]

        shown = [await create() for _ in range(10)]
        await page.reload()
        await page.wait_for_function(LIVE)
        before = await page.evaluate(ROW_IDS)
        assert before == [e["uuid"] for e in reversed(shown)]

        # Work on the table: tick a row, keep the pointer over it.
        await page.check(f"#row-{before[0]} input[name=ids]")
        await page.hover(f"#row-{before[1]}")

        # A burst of 500 events: 470 new executions, 5 rows finishing, 3 deleted, 22 node updates
        # (in batches of 25 concurrent requests).
        finishing, deleted, busy = before[:5], before[5:8], before[8:]
        jobs: list[Any] = [create() for _ in range(470)]
        jobs += [call("PATCH", f"/{u}", json={"status": "completed"}) for u in finishing]
        jobs += [call("DELETE", f"/{u}") for u in deleted]

        async def node_updates(execution_uuid: str) -> None:  # one row's updates in order: no write races
            for i in range(11):
                await call("PATCH", f"/{execution_uuid}", json={"running_node": f"node-{i}"})

        jobs += [node_updates(u) for u in busy]
        for start in range(0, len(jobs), 25):
            await asyncio.gather(*jobs[start : start + 25])

        # Everything arrived: counted in the bar, nothing moved or left, statuses updated in place.
        await page.wait_for_function(
            "() => document.querySelector('#freeze-bar .freeze-new').textContent === '+470'"
            " && document.querySelector('#freeze-bar .freeze-changed').textContent === '3'",
            timeout=60_000,
        )
        node = (await call("GET", f"/{busy[1]}"))["data"]["running_node"]  # the last of concurrent patches
        await page.wait_for_function(
            "([id, node]) => document.querySelector('#row-' + id + ' td.mono.small').textContent === node",
            arg=[busy[1], node],
            timeout=10_000,
        )
        assert await page.evaluate(ROW_IDS) == before
        for execution_uuid in finishing:
            assert await page.locator(f"#row-{execution_uuid} .badge-completed").count() == 1
        assert await page.is_visible("#freeze-bar")
        assert await page.is_checked(f"#row-{before[0]} input[name=ids]")  # updated in place, still ticked

        # Apply: the table is the database's first page.
        await page.click("#freeze-bar .freeze-apply")
        listed = (
            await api.get("/api/v1/workflow-executions", params={"workspace_uuid": world.ws["A"], "per_page": 50})
        ).json()
        expected = [e["uuid"] for e in listed["data"]]
        await page.wait_for_function(
            "(ids) => Array.from(document.querySelectorAll('#execution-rows tr'))"
            ".map(tr => tr.id.slice(4)).join() === ids.join()",
            arg=expected,
            timeout=10_000,
        )
        assert await page.is_hidden("#freeze-bar")
        assert not set(deleted) & set(await page.evaluate(ROW_IDS))

        # No longer held: the next new execution slides in at the top at once.
        await page.mouse.move(5, 5)
        await page.wait_for_function(LIVE)
        fresh = await create()
        await page.wait_for_selector(f"#execution-rows tr:first-child#row-{fresh['uuid']}", timeout=10_000)
