"""The dashboard in headless Chromium: what an operator sees and does."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import World
from tests.servers import AppServer

# Function predicates: Playwright evaluates a string predicate with eval(), which the CSP forbids.
LIVE = "() => document.querySelector('#conn').dataset.state === 'live'"


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
        "() => document.querySelector('.tile-completed .tile-count').textContent.trim() === '1'", timeout=5000
    )
    assert await page.locator("#execution-rows tr").count() == 2


async def test_stop_names_the_cascade_and_cancels_the_whole_tree(
    signed_in_page: Any, server: AppServer, world: World
) -> None:
    page = signed_in_page
    parent = await create(server, world, status="running")
    await api(server, world, "PATCH", f"/api/v1/workflow-executions/{parent['uuid']}", json={"status": "waiting"})
    child = await create(server, world, status="running", parent_execution_uuid=parent["uuid"])
    sibling = await create(server, world, status="running", parent_execution_uuid=parent["uuid"])
    await page.reload()
    await page.wait_for_function(LIVE)
    await page.click(f"#row-{child['uuid']} button:has-text('Stop')")
    dialog = page.locator("#stop-dialog")
    await dialog.wait_for()
    assert await dialog.locator(".cascade-parents").inner_text() == "1"
    assert await dialog.locator(".cascade-children").inner_text() == "1"
    await dialog.locator("button:has-text('Stop 3 executions')").click()
    for execution in (child, parent, sibling):
        await page.wait_for_selector(f"#row-{execution['uuid']} .badge-cancelled", timeout=5000)
    assert await page.locator("#stop-dialog").count() == 0
    state = await api(server, world, "GET", f"/api/v1/workflow-executions/{parent['uuid']}")
    assert state["data"]["status"] == "cancelled"


async def test_viewer_sees_no_actions(browser: Any, server: AppServer, world: World) -> None:
    await create(server, world, status="running")
    page = await browser.new_page()
    await page.goto(f"{server.base_url}/sign-in")
    await page.fill("input[name=email]", world.viewer_a.email)
    await page.fill("input[name=password]", "correct horse")
    await page.click("button[type=submit]")
    await page.wait_for_function(LIVE)
    assert await page.locator("#execution-rows tr").count() == 1
    assert await page.locator("button:has-text('Stop'):visible").count() == 0
    assert await page.locator("#bulk-form:visible").count() == 0
    await create(server, world, status="running")  # a row pushed live carries no actions either
    await page.wait_for_function("() => document.querySelectorAll('#execution-rows tr').length === 2")
    assert await page.locator("button:has-text('Stop'):visible").count() == 0


async def test_page_reconnects_and_resyncs_after_the_server_drops(
    signed_in_page: Any, server: AppServer, world: World
) -> None:
    page = signed_in_page
    await page.wait_for_function(LIVE)
    server.stop()
    await page.wait_for_function("() => document.querySelector('#conn').dataset.state !== 'live'", timeout=10000)
    server.start()  # same port, same database
    missed = await create(server, world, status="running")
    await page.wait_for_selector(f"#row-{missed['uuid']}", timeout=20000)
    await page.wait_for_function(LIVE + " || document.querySelector('#conn').dataset.state === 'resynced'")


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
