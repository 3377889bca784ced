"""The dashboard in headless Chromium: what an operator sees and does."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import World
from tests.servers import AppServer

LIVE = "document.querySelector('#conn').dataset.state === 'live'"


async def api(server: AppServer, world: World, method: str, path: str, **kw: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.base_url, headers=world.operator_a.headers) as c:
        r = await c.request(method, path, **kw)
        assert r.status_code < 300, r.text
        return r.json() if r.content else {}


async def create(server: AppServer, world: World, **body: Any) -> dict[str, Any]:
    workflow = world.workflows["Invoice approval"]
    return (await api(server, world, "POST", "/api/v1/workflow-executions", json={"workflow_uuid": workflow, **body}))[
        "data"
    ]


async def test_sign_in_redirects_back_and_rejects_wrong_password(browser: Any, server: AppServer, world: World) -> None:
    page = await browser.new_page()
    await page.goto(f"{server.base_url}/executions?range=24h")
    await page.fill("input[name=email]", world.operator_a.email)
    await page.fill("input[name=password]", "wrong")
    await page.click("button[type=submit]")
    assert await page.inner_text(".alert-error") == "Wrong email or password."
    await page.fill("input[name=password]", "correct horse")
    await page.click("button[type=submit]")
    await page.wait_for_url("**/executions?range=24h")
    cookies = {c["name"]: c for c in await page.context.cookies()}
    assert cookies["athena_session"]["httpOnly"] and cookies["athena_session"]["sameSite"] == "Lax"


async def test_live_list_inserts_updates_and_counts(signed_in_page: Any, server: AppServer, world: World) -> None:
    page = signed_in_page
    existing = await create(server, world, status="running")
    await page.reload()
    await page.wait_for_function(LIVE)
    assert await page.locator("#execution-rows tr").count() == 1
    assert (await page.inner_text(".tile-running .tile-count")).strip() == "1"

    created = await create(server, world, status="running")  # slides in at the top
    await page.wait_for_selector(f"#execution-rows tr:first-child#row-{created['uuid']}", timeout=5000)
    await api(server, world, "PATCH", f"/api/v1/workflow-executions/{existing['uuid']}", json={"status": "completed"})
    await page.wait_for_selector(f"#row-{existing['uuid']} .badge-completed", timeout=5000)
    await page.wait_for_function(
        "document.querySelector('.tile-completed .tile-count').textContent.trim() === '1'", timeout=5000
    )
    assert await page.locator("#execution-rows tr").count() == 2


async def test_operator_stops_from_the_row_after_confirming(
    signed_in_page: Any, server: AppServer, world: World
) -> None:
    page = signed_in_page
    running = await create(server, world, status="running")
    await page.reload()
    await page.wait_for_function(LIVE)
    dialogs: list[str] = []

    async def accept(dialog: Any) -> None:
        dialogs.append(dialog.message)
        await dialog.accept()

    page.on("dialog", accept)
    await page.click(f"#row-{running['uuid']} button:has-text('Stop')")
    await page.wait_for_selector(f"#row-{running['uuid']} .badge-cancelled", timeout=5000)
    assert dialogs and "Stop" in dialogs[0]
    state = await api(server, world, "GET", f"/api/v1/workflow-executions/{running['uuid']}")
    assert state["data"]["status"] == "cancelled"


async def test_filters_live_in_the_url(signed_in_page: Any, server: AppServer, world: World) -> None:
    page = signed_in_page
    await create(server, world, status="running")
    failed = await create(server, world, status="running")
    await api(server, world, "PATCH", f"/api/v1/workflow-executions/{failed['uuid']}", json={"status": "failed"})
    await page.goto(f"{server.base_url}/executions?workspace={world.ws['A']}")
    await page.click(".tile-failed")
    await page.wait_for_url("**status=failed**")
    rows = page.locator("#execution-rows tr")
    assert await rows.count() == 1
    assert await rows.first.get_attribute("id") == f"row-{failed['uuid']}"


async def test_execution_detail_draws_the_graph_and_runs(signed_in_page: Any, server: AppServer, world: World) -> None:
    page = signed_in_page
    execution = await create(server, world, status="running")
    await api(
        server, world, "PATCH", f"/api/v1/workflow-executions/{execution['uuid']}",
        json={"node_runs": [{"node_id": "start", "status": "success", "output": {"ok": True}},
                            {"node_id": "review", "status": "running"}]},
    )  # fmt: skip
    await page.goto(f"{server.base_url}/executions/{execution['uuid']}")
    await page.wait_for_function(LIVE)
    assert await page.locator("svg.graph g.node").count() == 3
    assert await page.locator("svg.graph g.node-ok").count() == 1
    assert await page.locator("svg.graph g.node-run").count() == 1
    # The page follows the execution live.
    await api(server, world, "PATCH", f"/api/v1/workflow-executions/{execution['uuid']}", json={"status": "completed"})
    await page.wait_for_selector(".detail-head .badge-completed", timeout=5000)
