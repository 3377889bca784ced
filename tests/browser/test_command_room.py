"""The command room in headless Chromium: flags appear and leave live; operators flag from an execution."""

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
    path = "/api/v1/workflow-executions"
    return (await api(server, world, "POST", path, json={"workflow_uuid": workflow, **body}))["data"]


async def test_flags_appear_live_and_remove_takes_them_out(
    signed_in_page: Any, server: AppServer, world: World
) -> None:
    page = signed_in_page
    execution = await create(server, world, status="running")
    await page.goto(f"{server.base_url}/command-room")
    await page.wait_for_function(LIVE)
    assert "Nothing in the command room" in await page.inner_text("#command-room-list")
    await page.evaluate("window.__sameDocument = true")  # gone if anything reloads the page

    body = {"execution_uuid": execution["uuid"], "note": "Customer is waiting on this one"}
    task = (await api(server, world, "POST", "/api/v1/command-room-tasks", json=body))["data"]["uuid"]
    row = page.locator(f"#task-{task}")
    await row.wait_for(timeout=5000)
    text = await row.inner_text()
    assert "Customer is waiting on this one" in text and "Invoice approval" in text
    assert world.operator_a.email in text and execution["uuid"][-8:] in text
    assert await row.locator(f'a[href="/executions/{execution["uuid"]}"]').count() == 1

    # A flagged execution's status follows live too.
    await api(server, world, "PATCH", f"/api/v1/workflow-executions/{execution['uuid']}", json={"status": "failed"})
    await page.wait_for_selector(f"#task-{task} .badge-failed", timeout=5000)

    dialogs: list[str] = []

    async def accept(dialog: Any) -> None:
        dialogs.append(dialog.message)
        await dialog.accept()

    page.on("dialog", accept)
    await row.locator("button:has-text('Remove')").click()
    await row.wait_for(state="detached", timeout=5000)
    await page.wait_for_selector("#command-room-list .empty", timeout=5000)  # the live refresh follows
    assert dialogs and "Remove" in dialogs[0]
    assert await page.evaluate("window.__sameDocument === true")
    await page.reload()
    assert await page.locator("#command-room-rows tr").count() == 0


async def test_operator_flags_from_the_execution_page(signed_in_page: Any, server: AppServer, world: World) -> None:
    page = signed_in_page
    execution = await create(server, world, status="running")
    await page.goto(f"{server.base_url}/executions/{execution['uuid']}")
    await page.wait_for_function(LIVE)
    await page.fill("textarea[name=note]", "Check the invoice total")
    # A live refresh of the page while typing keeps the note (the form is hx-preserve).
    await api(server, world, "PATCH", f"/api/v1/workflow-executions/{execution['uuid']}", json={"status": "waiting"})
    await page.wait_for_selector(".detail-head .badge-waiting", timeout=5000)
    assert await page.input_value("textarea[name=note]") == "Check the invoice total"

    await page.click("button:has-text('Flag for command room')")
    await page.wait_for_selector("button:has-text('Remove from command room')", timeout=5000)
    assert await page.locator("textarea[name=note]").count() == 0
    assert "Check the invoice total" in await page.inner_text(".room-history")
    await page.click("nav a:has-text('Command room')")
    await page.wait_for_url("**/command-room")
    assert "Check the invoice total" in await page.inner_text("#command-room-rows")
