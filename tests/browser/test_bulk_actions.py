"""Bulk actions in the browser: select all matching → preview (dry run) → type the count → progress
bar → report, which is still there after a reload."""

from __future__ import annotations

from typing import Any

import httpx
import pytest_asyncio
from sqlalchemy import func, insert, select

from app.db.models import WorkflowExecution
from app.db.models.base import new_uuid, utcnow
from app.services import Services
from tests.conftest import World
from tests.fault_helpers import ids_of
from tests.servers import AppServer

E = WorkflowExecution
COUNT = 120


@pytest_asyncio.fixture(loop_scope="session")  # the loop of the browser tests' app (tests/browser/conftest.py)
async def seeded(services: Services, world: World) -> int:
    """COUNT running executions in workspace A, inserted without events (fast seeding). Listed
    before ``signed_in_page`` so they exist before the sign-in's first page: a page the server had
    already cached would not show them until its lifetime ended (app/domain/dashboard/pagecache.py)."""
    workspace_id, workflow_id = await ids_of(services, world.ws["A"], world.workflows["Invoice approval"])
    now = utcnow()
    rows = [
        {"uuid": new_uuid(), "workspace_id": workspace_id, "workflow_id": workflow_id, "status": "running",
         "version": 1, "started_at": now, "created_at": now, "updated_at": now}
        for _ in range(COUNT)
    ]  # fmt: skip
    async with services.db.write() as session:
        await session.execute(insert(E), rows)
    return workspace_id


async def test_select_all_matching_preview_confirm_progress_report(
    seeded: int, signed_in_page: Any, server: AppServer, world: World, services: Services
) -> None:
    workspace_id = seeded
    page = signed_in_page
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await page.goto(f"{server.base_url}/executions?workspace={world.ws['A']}")
    await page.click("#select-matching")
    await page.wait_for_selector("#selection-count")
    assert (await page.text_content("#selection-count")).strip() == str(COUNT)

    await page.select_option("#bulk-action", "stop")
    await page.fill("#bulk-reason", "bad deploy")
    await page.click("#bulk-preview")
    dialog = page.locator("#bulk-dialog")
    await dialog.wait_for()
    assert (await dialog.locator(".pv-applicable").text_content()).strip() == str(COUNT)
    assert (await dialog.locator(".pv-skipped").text_content()).strip() == "0"
    async with services.db.read() as session:  # the preview changed nothing
        running = (
            await session.execute(select(func.count()).where(E.workspace_id == workspace_id, E.status == "running"))
        ).scalar_one()
    assert running == COUNT

    await page.fill("#confirm-count", "12")  # wrong: refused, the dialog stays
    await page.click("#bulk-confirm")
    await page.wait_for_selector(".toast-error")
    assert await dialog.is_visible()
    await page.fill("#confirm-count", str(COUNT))
    await page.click("#bulk-confirm")
    await page.wait_for_selector("#operation-progress")
    await dialog.wait_for(state="detached")

    await page.reload()  # the progress (or its report) survives a reload
    await page.wait_for_selector("#operation-progress")
    await page.wait_for_selector("#operation-progress[data-status=done] .op-report", timeout=30000)
    assert (await page.text_content(".rep-done")).strip() == str(COUNT)
    assert (await page.text_content(".rep-skipped")).strip() == "0"
    await page.wait_for_selector("#execution-rows .badge-cancelled")
    assert not [e for e in errors if "422" not in e], errors  # the wrong count's 422 is expected


async def test_a_dismissed_report_stays_dismissed_after_a_reload(
    signed_in_page: Any, server: AppServer, world: World
) -> None:
    """Walked: Dismiss took a finished bulk stop's report away, and the next page load (a filter
    applied, a reload) brought it back for the ten minutes a report is kept."""
    page = signed_in_page
    async with httpx.AsyncClient(base_url=server.base_url, headers=world.operator_a.headers) as c:
        body = {"workflow_uuid": world.workflows["Invoice approval"], "status": "running"}
        made = [(await c.post("/api/v1/workflow-executions", json=body)).json()["data"]["uuid"] for _ in range(2)]
    await page.goto(f"{server.base_url}/executions?workspace={world.ws['A']}&status=running")
    for uuid in made:
        await page.check(f"#row-{uuid} input[name=ids]")
    await page.select_option("#bulk-action", "stop")
    await page.click("#bulk-preview")
    await page.locator("#bulk-dialog").wait_for()
    await page.click("#bulk-confirm")
    report = page.locator("#operation-progress[data-status=done] .op-report")
    await report.wait_for(timeout=30000)
    await page.click("#operation-progress .dismiss-op")
    await page.locator("#operation-progress").wait_for(state="detached")

    async with page.expect_response(lambda r: r.url.endswith("/executions/operations/current")) as answer:
        await page.reload()
    assert "op-report" in await (await answer.value).text()  # the server still offers it...
    await page.wait_for_function("() => !htmx.find('#operation-slot.htmx-request')")
    await page.evaluate("() => new Promise(r => requestAnimationFrame(() => setTimeout(r, 50)))")
    assert await page.locator("#operation-progress").count() == 0  # ...and the page keeps it dismissed
