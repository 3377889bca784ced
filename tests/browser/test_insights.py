"""The insights page in headless Chromium: the seeded numbers are on the charts and in their tables,
both themes colour the charts from the theme, and the current hour follows new executions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from app.services import Services
from tests.clock import clear_of_the_turn
from tests.conftest import World
from tests.metrics_seed import seed_metrics
from tests.servers import AppServer

FILL = "(sel) => getComputedStyle(document.querySelector(sel)).fill"


async def test_charts_show_the_seeded_numbers_in_both_themes(
    browser: Any, server: AppServer, world: World, services: Services, signed_in_page: Any
) -> None:
    await seed_metrics(services, world)
    page = signed_in_page
    await page.goto(f"{server.base_url}/insights?workspace={world.ws['A']}&from=2025-03-03&to=2025-03-04&interval=hour")
    assert (await page.inner_text("#stat-total")).strip() == "6"
    assert (await page.inner_text("#stat-failure")).strip() == "20.0%"
    # The 10:00 bar: 2 completed and 1 failed, stacked, with its numbers in its title.
    titles = await page.locator("#chart-volume svg.chart title").all_text_contents()
    assert "Mar 03 10:00: 3 (Completed 2, Failed 1)" in titles
    bar = page.locator("#chart-volume g.bar", has=page.locator("title", has_text="Mar 03 10:00"))
    assert await bar.locator("rect.s-completed").count() == 1 and await bar.locator("rect.s-failed").count() == 1
    completed_h = float(await bar.locator("rect.s-completed").get_attribute("height") or 0)
    failed_h = float(await bar.locator("rect.s-failed").get_attribute("height") or 0)
    assert abs(completed_h - 2 * failed_h) < 0.2
    # The table view: hidden until opened, then the same numbers.
    table = page.locator("#chart-volume details.chart-table")
    row = table.locator("tr", has=page.locator("th", has_text="Mar 03 10:00"))
    assert not await row.is_visible()
    await table.locator("summary").click()
    assert (await row.locator("td").all_inner_texts())[:3] == ["3", "2", "1"]
    light = await page.evaluate(FILL, "#chart-volume rect.s-completed")
    light_axis = await page.evaluate(FILL, "#chart-volume .axis")
    await page.emulate_media(color_scheme="dark")
    dark_axis = await page.evaluate(FILL, "#chart-volume .axis")
    assert light == await page.evaluate(FILL, "#chart-volume rect.s-completed") == "rgb(47, 158, 68)"
    assert light_axis == "rgb(102, 112, 133)" and dark_axis == "rgb(139, 148, 158)"  # --muted per theme


async def test_the_current_hour_follows_new_executions(
    browser: Any, server: AppServer, world: World, signed_in_page: Any
) -> None:
    page = signed_in_page
    # The page refreshes every 10 s and the wait below allows 15: all of it within one hour.
    await clear_of_the_turn(dt.timedelta(hours=1), margin=dt.timedelta(seconds=40))
    await page.goto(f"{server.base_url}/insights?workspace={world.ws['A']}&range=24h")
    assert (await page.inner_text("#now .now-total")).strip() == "0"
    assert (await page.inner_text("#conn .conn-label")).strip() == "live · 10 s"
    async with httpx.AsyncClient(base_url=server.base_url, headers=world.operator_a.headers) as api:
        for status in ("failed", "completed", "completed"):
            response = await api.post(
                "/api/v1/workflow-executions",
                json={"workflow_uuid": world.workflows["Invoice approval"], "status": status},
            )
            assert response.status_code == 201, response.text
    await page.wait_for_function(
        "() => document.querySelector('#now .now-total').textContent.trim() === '3'", timeout=15000
    )
    assert (await page.inner_text("#now .now-failure")).strip() == "33.3%"
    bar_title = await page.locator("#bar-current title").text_content()
    assert bar_title and ": 3 (Completed 2, Failed 1)" in bar_title
