"""In a real browser, under the CSP: delete through the dialog with a reason, the row leaves the
list at once, the trash and the audit log show who did it and why."""

from __future__ import annotations

from typing import Any

import httpx

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
