"""Issue 19, items 2 and 3, in headless Chromium: the id the list shows finds the execution (search,
URL), and a stopped execution's page shows no running node but who stopped it, when and why."""

from __future__ import annotations

from typing import Any

from tests.browser.test_dashboard import LIVE, api, create
from tests.conftest import World
from tests.servers import AppServer

RUNS = [
    {"node_id": "start", "node_name": "Start", "status": "success"},
    {"node_id": "review", "node_name": "Review", "status": "running"},
]


async def test_the_short_id_from_the_list_finds_and_opens_the_execution(
    signed_in_page: Any, server: AppServer, world: World
) -> None:
    page = signed_in_page
    wanted = await create(server, world, status="running")
    other = await create(server, world, status="running")
    await page.goto(f"{server.base_url}/executions?workspace={world.ws['A']}")
    await page.wait_for_function(LIVE)
    shown = (await page.inner_text(f"#row-{wanted['uuid']} button.copy")).strip()
    assert len(shown) == 8 and wanted["uuid"].endswith(shown)

    await page.fill("#filters input[name=q]", shown)  # typed as read from the ID column
    await page.press("#filters input[name=q]", "Enter")
    await page.wait_for_url(f"**q={shown}**")
    await page.wait_for_selector(f"#row-{wanted['uuid']}")
    assert await page.locator(f"#row-{other['uuid']}").count() == 0
    assert await page.locator("#execution-rows tr").count() == 1

    await page.goto(f"{server.base_url}/executions/{shown}")
    assert page.url == f"{server.base_url}/executions/{wanted['uuid']}"  # redirected to the canonical page
    assert wanted["uuid"] in await page.inner_text(".detail-head")


async def test_stopping_in_the_ui_leaves_no_running_node_and_says_who_stopped_it(
    signed_in_page: Any, server: AppServer, world: World
) -> None:
    page = signed_in_page
    execution = await create(server, world, status="running")
    path = f"/api/v1/workflow-executions/{execution['uuid']}"
    await api(server, world, "PATCH", path, json={"node_runs": RUNS})
    await page.goto(f"{server.base_url}/executions/{execution['uuid']}")
    await page.wait_for_function(LIVE)
    assert (await page.inner_text(".facts")).count("Running node") == 1
    assert await page.locator(".tl-lane-bar.run-running").count() == 1

    await page.click(".detail-head button:has-text('Stop')")
    dialog = page.locator("#stop-dialog")
    await dialog.wait_for()
    await dialog.locator("#stop-reason").fill("customer asked to cancel")
    await dialog.locator("button.btn-danger").click()
    await page.wait_for_selector(".detail-head .badge-cancelled", timeout=5000)  # the page refreshes live

    await page.reload()  # the same page, as anyone opening it later sees it
    await page.wait_for_selector(".stop-note")
    note = await page.inner_text(".stop-note")
    assert "Stopped by" in note and world.operator_a.email in note and "customer asked to cancel" in note
    assert await page.locator(".stop-note time").get_attribute("datetime")
    assert "Running node" not in await page.inner_text(".facts")
    assert await page.locator(".tl-lane-bar.run-running").count() == 0
    assert await page.locator(".tl-lane-bar.run-cancelled").count() == 1
    bar = page.locator(".tl-lane-bar.run-cancelled")
    running_blue = "rgb(28, 126, 214)"  # --running
    assert running_blue not in await bar.evaluate(
        "el => getComputedStyle(el).backgroundImage + getComputedStyle(el).backgroundColor"
    )
    # The note sits at the top: above the facts and the graph.
    note_box, facts_box = await page.locator(".stop-note").bounding_box(), await page.locator(".facts").bounding_box()
    assert note_box["y"] < facts_box["y"]
    state = await api(server, world, "GET", path, params={"with": "workflowExecutionData"})
    runs = {r["node_id"]: r for r in state["data"]["workflow_execution_data"][0]["workflow_data"]}
    assert runs["review"]["status"] == "cancelled" and runs["review"]["stopped_at"] == state["data"]["stopped_at"]
