"""Filter state is easy to read (issue 19 item 6), in headless Chromium: statuses as removable chips
(several at once), tiles saying their periods, times in the viewer's timezone with UTC on hover, and
"All of <organization>" shown as such in the workspace select."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from tests.clock import clear_of_the_turn
from tests.conftest import World
from tests.servers import AppServer

LIVE = "() => document.querySelector('#conn').dataset.state === 'live'"
TOKYO = "Asia/Tokyo"
ROW_STATUSES = (
    "() => Array.from(document.querySelectorAll('#execution-rows .col-status .badge')).map(b => b.textContent)"
)


async def _sign_in(browser: Any, server: AppServer, email: str, path: str) -> Any:
    context = await browser.new_context(viewport={"width": 1400, "height": 900}, timezone_id=TOKYO)
    page = await context.new_page()
    await page.goto(f"{server.base_url}{path}")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", "correct horse")
    await page.click("button[type=submit]")
    await page.wait_for_url("**/executions**")
    await page.wait_for_function(LIVE)
    return page


async def test_statuses_are_chips_tiles_say_their_period_times_are_local(
    browser: Any, server: AppServer, world: World
) -> None:
    # The page shows a time of today (in Tokyo) as a clock time, else with its date: the executions
    # created here and the page that shows them at the end (a few seconds) are on one Tokyo day
    # (its midnight is 15:00 UTC).
    await clear_of_the_turn(dt.timedelta(days=1), margin=dt.timedelta(seconds=30), zone=ZoneInfo(TOKYO))
    async with httpx.AsyncClient(base_url=server.base_url, headers=world.operator_a.headers) as api:
        for status in ("running", "failed", "completed"):
            body = {"workflow_uuid": world.workflows["Invoice approval"], "status": "running"}
            created = (await api.post("/api/v1/workflow-executions", json=body)).json()["data"]
            if status != "running":
                patched = await api.patch(f"/api/v1/workflow-executions/{created['uuid']}", json={"status": status})
                assert patched.status_code == 200, patched.text
    ws = world.ws["A"]
    page = await _sign_in(browser, server, world.operator_a.email, f"/executions?workspace={ws}&status=running,failed")

    # Two statuses at once, each a removable chip; the multi-select in the filter bar agrees.
    chips = page.locator(".active-filters .chip-status")
    assert sorted(t.split()[1] for t in await chips.all_inner_texts()) == ["failed", "running"]
    assert sorted(await page.evaluate(ROW_STATUSES)) == ["failed", "running"]
    selected = await page.eval_on_selector_all("#status-select option:checked", "els => els.map(e => e.value)")
    assert sorted(selected) == ["failed", "running"]
    # The chip is a link: wait for the page it leads to, not for the old page still being live.
    async with page.expect_navigation(url=f"**/executions?workspace={ws}&status=running"):
        await page.click(".chip-status:has-text('failed') a")
    await page.wait_for_function(LIVE)
    assert await page.evaluate(ROW_STATUSES) == ["running"]
    chips_left = await page.locator(".active-filters .chip-status").all_inner_texts()
    assert [" ".join(t.split()[:2]) for t in chips_left] == ["Status: running"]

    # Tiles say which period their numbers and their lines cover.
    period = await page.inner_text("#tiles .tiles-period")
    assert "created in all time" in period and "per day" in period
    await page.goto(f"{server.base_url}/executions?workspace={ws}&range=7d")
    assert "the last 7 days" in await page.inner_text("#tiles .tiles-period")

    # Times: the viewer's timezone (Tokyo here) in the header, local time in the cell, UTC on hover.
    assert "GMT+9" in await page.inner_text("th.col-started") or "JST" in await page.inner_text("th.col-started")
    cell = page.locator("#execution-rows tr:first-child td time").first
    iso = await cell.get_attribute("datetime")
    expected = await page.evaluate(
        "iso => new Intl.DateTimeFormat(undefined, {hour: '2-digit', minute: '2-digit', second: '2-digit',"
        " hour12: false}).format(new Date(iso))",
        iso,
    )
    assert (await cell.inner_text()) == expected
    assert (await cell.get_attribute("title")).endswith(" UTC")
    await page.context.close()


async def test_all_of_an_organization_is_what_the_workspace_select_shows(
    browser: Any, server: AppServer, world: World
) -> None:
    page = await _sign_in(browser, server, world.multi.email, "/executions?organization=org-1")
    assert (await page.eval_on_selector("#ws-select", "s => s.options[s.selectedIndex].text")) == "All of org-1"
    await page.select_option("#ws-select", label="Workspace B")
    await page.wait_for_url(f"**/executions?workspace={world.ws['B']}")
    assert (await page.eval_on_selector("#ws-select", "s => s.options[s.selectedIndex].text")) == "Workspace B"
    await page.context.close()
