"""In a real browser, under the CSP: delete through the dialog with a reason, the row leaves the
list at once, the trash and the audit log show who did it and why."""

from __future__ import annotations

from typing import Any

import httpx

from tests.browser.page_tour import LIVE, sign_in
from tests.browser.test_csp import RECORD_VIOLATIONS
from tests.conftest import World
from tests.servers import AppServer


async def test_delete_dialog_trash_and_audit_log(signed_in_page: Any, server: AppServer, world: World) -> None:
    page = signed_in_page
    violations: list[str] = []
    await page.expose_function("reportCspViolation", lambda v: violations.append(v))
    await page.add_init_script(RECORD_VIOLATIONS)
    async with httpx.AsyncClient(base_url=server.base_url, headers=world.operator_a.headers) as c:
        wf = world.workflows["Invoice approval"]
        created = await c.post("/api/v1/workflow-executions", json={"workflow_uuid": wf, "status": "running"})
        assert created.status_code == 201, created.text
        target = created.json()["data"]["uuid"]
    await page.goto(f"{server.base_url}/executions")
    await page.wait_for_function(LIVE)  # htmx has taken the page over: the button opens the dialog
    await page.click(f"#row-{target} button:has-text('Delete')")
    await page.locator("#delete-dialog").wait_for()
    await page.fill("#delete-reason", "Started against the wrong tenant")
    await page.click("#delete-dialog button.btn-danger")
    await page.wait_for_function(
        f"() => !document.querySelector('#row-{target}') && !document.querySelector('#delete-dialog')"
    )
    await page.click("a.trash-link")
    row = page.locator(f"#trash-{target}")
    await row.wait_for()
    assert "Started against the wrong tenant" in await row.inner_text()
    assert world.operator_a.email in await row.inner_text()
    await page.click("nav a[href='/audit']")
    await page.wait_for_selector(".audit")
    text = await page.inner_text(".audit")
    assert "Started against the wrong tenant" in text and world.operator_a.email in text
    assert violations == []


async def two_deleted(server: AppServer, world: World) -> list[str]:
    """Two completed executions of workspace A, deleted (in the trash), oldest first."""
    uuids = []
    async with httpx.AsyncClient(base_url=server.base_url, headers=world.admin_a.headers) as c:
        wf = world.workflows["Invoice approval"]
        for _ in range(2):
            created = await c.post("/api/v1/workflow-executions", json={"workflow_uuid": wf, "status": "completed"})
            assert created.status_code == 201, created.text
            uuids.append(created.json()["data"]["uuid"])
            gone = await c.request("DELETE", f"/api/v1/workflow-executions/{uuids[-1]}", json={"reason": "duplicate"})
            assert gone.status_code < 300, gone.text
    return uuids


async def test_a_restored_row_leaves_the_trash_without_a_reload(browser: Any, server: AppServer, world: World) -> None:
    uuids = await two_deleted(server, world)
    page = await browser.new_page(viewport={"width": 1366, "height": 800})
    await sign_in(page, server, world.admin_a)
    await page.goto(f"{server.base_url}/executions/trash")
    restored, kept = uuids
    await page.locator(f"#trash-{restored}").wait_for()
    await page.evaluate("() => { window.__sameDocument = true; }")  # gone after a reload
    await page.fill(f"#trash-{restored} input[name=reason]", "deleted by mistake")
    await page.click(f"#trash-{restored} button:has-text('Restore')")
    await page.locator(".toast", has_text="Restored").wait_for()
    await page.locator(f"#trash-{restored}").wait_for(state="detached", timeout=10_000)
    assert await page.evaluate("() => window.__sameDocument === true")
    assert await page.locator(f"#trash-{kept}").is_visible()


async def test_the_trash_count_follows_a_restore(browser: Any, server: AppServer, world: World) -> None:
    """Walked: restoring a row took it out of the table while the footer kept saying "7 deleted
    executions" over 6 rows, until a reload."""
    uuids = await two_deleted(server, world)
    page = await browser.new_page(viewport={"width": 1366, "height": 800})
    await sign_in(page, server, world.admin_a)
    await page.goto(f"{server.base_url}/executions/trash")
    rows = page.locator("#trash-rows tr")
    before = await rows.count()
    assert before >= 2
    assert f"{before} deleted executions" in await page.inner_text(".results .pager")
    await page.click(f"#trash-{uuids[0]} button:has-text('Restore')")
    await page.locator(f"#trash-{uuids[0]}").wait_for(state="detached", timeout=10_000)
    assert await rows.count() == before - 1
    after = "1 deleted execution" if before == 2 else f"{before - 1} deleted executions"
    await page.wait_for_function(
        "want => document.querySelector('.results .pager').textContent.trim().startsWith(want)", arg=after
    )
    # and a reload agrees with what the page now says
    await page.reload()
    assert (await page.inner_text(".results .pager")).strip().startswith(after)
