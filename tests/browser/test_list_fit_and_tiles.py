"""The executions list at laptop widths and its tiles' periods (issue 19, operators, items 2 and 3),
in headless Chromium on the page as a user sees it.

- At 1,280 and 1,366 px the default table fits its window: nothing scrolls sideways (the page or the
  table), the Updated column and the row's actions are on screen, and clicking Stop (then closing
  its dialog) moves nothing.
- Each status tile's number is the sum of its sparkline, and the line under the tiles says the
  period (the view's range, or all time) and the lines' step."""

from __future__ import annotations

from typing import Any

from tests.browser.test_list_still import LIVE, Api
from tests.conftest import World
from tests.servers import AppServer

LONG_ERROR = "Timeout calling the ledger API at https://ledger.internal.example/v2/postings/batch " * 4
GEOMETRY = """() => {
  const wrap = document.querySelector('.table-wrap');
  const status = document.querySelector('#execution-rows tr .col-status');
  const last = document.querySelector('.grid thead th:last-child');
  const updated = document.querySelector('.grid th.col-updated');
  return {page: document.scrollingElement.scrollWidth, window: innerWidth,
          wrap: wrap.scrollWidth, wrapBox: wrap.clientWidth, scrollX: window.scrollX, scrollLeft: wrap.scrollLeft,
          updatedRight: updated.getBoundingClientRect().right, lastRight: last.getBoundingClientRect().right,
          statusLeft: status.getBoundingClientRect().left};
}"""


async def test_the_default_table_fits_1280_and_1366_and_stop_moves_nothing(
    signed_in_page: Any, server: AppServer, world: World
) -> None:
    page = signed_in_page
    api = Api(server, world)
    parent = await api.create()
    await api.call("PATCH", f"/{parent['uuid']}", json={"running_node": "Reconcile ledger postings"})
    await api.create(parent_execution_uuid=parent["uuid"], mode="webhook")
    failed = await api.create()
    await api.call("PATCH", f"/{failed['uuid']}", json={"status": "failed", "error": LONG_ERROR})
    retried = await api.create(status="failed")
    await api.create(retry_of=retried["uuid"], mode="retry")
    for width in (1280, 1366):
        await page.set_viewport_size({"width": width, "height": 768})
        await page.goto(f"{server.base_url}/executions?workspace={world.ws['A']}")
        await page.wait_for_function(LIVE)
        before = await page.evaluate(GEOMETRY)
        assert before["page"] <= width and before["wrap"] <= before["wrapBox"], (width, before)
        assert before["updatedRight"] <= width and before["lastRight"] <= width, (width, before)
        assert f"{LONG_ERROR[:40]}" in await page.inner_text(f"#row-{failed['uuid']}")  # cut, not widening

        stop = page.locator(f"#row-{parent['uuid']} button:has-text('Stop')")
        await stop.click()
        await page.locator("#stop-dialog").wait_for()
        assert await page.evaluate(GEOMETRY) == before
        await page.keyboard.press("Escape")
        await page.locator("#stop-dialog").wait_for(state="detached")
        assert await page.evaluate(GEOMETRY) == before  # the focus back on Stop scrolls nothing either
    await api.client.aclose()


TILES = """() => Array.from(document.querySelectorAll('#tiles .tile[class*=tile-]:not(.tile-review)')).map(t => [
  t.className.match(/tile-(\\w+)/)[1], t.querySelector('.tile-count').textContent.replace(/,/g, '').trim(),
  t.querySelector('.tile-spark') && t.querySelector('.tile-spark').dataset.sum,
  t.querySelectorAll('.tile-spark svg polyline').length])"""


async def test_each_tile_is_the_sum_of_its_line_and_says_its_period(
    signed_in_page: Any, server: AppServer, world: World
) -> None:
    page = signed_in_page
    api = Api(server, world)
    for status in ("completed", "completed", "failed"):
        made = await api.create()
        await api.call("PATCH", f"/{made['uuid']}", json={"status": status})
    await api.create()
    for query, period, step in (("", "all time", "day"), ("&range=1h", "the last hour", "5 min")):
        await page.goto(f"{server.base_url}/executions?workspace={world.ws['A']}{query}")
        await page.wait_for_function(LIVE)
        tiles = {key: (count, line, drawn) for key, count, line, drawn in await page.evaluate(TILES)}
        assert tiles["completed"][:2] == ("2", "2") and tiles["failed"][:2] == ("1", "1"), tiles
        assert tiles["running"][:2] == ("1", "1") and tiles["paused"][:2] == ("0", "0"), tiles
        assert all(drawn == 1 for _, _, drawn in tiles.values())
        said = await page.inner_text("#tiles .tiles-period")
        assert f"created in {period}" in said and f"per {step}" in said, said

    # Live: a new execution raises its tile and its line together.
    await api.create()
    await page.wait_for_function(
        "() => document.querySelector('#tiles .tile-running .tile-count').textContent.trim() === '2'"
    )
    assert await page.get_attribute("#tiles .tile-running .tile-spark", "data-sum") == "2"
    await api.client.aclose()
