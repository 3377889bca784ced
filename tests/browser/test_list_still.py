"""The executions list keeps still and never contradicts the user (issue 19 items 1, 5 and 7), in
headless Chromium: act, then look at the same screen."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import World
from tests.servers import AppServer

LIVE = "() => document.querySelector('#conn').dataset.state === 'live'"
OBSERVERS = (Path(__file__).parents[2] / "bench" / "list_cls.js").read_text()
STILL = "() => window.__still"
# How far below the top of the table's panel its first content starts, the bulk bar or the table
# (its border is 1 px).
FIRST_IN_RESULTS = """() => {
  const results = document.querySelector('#results');
  const first = [...results.querySelectorAll('.bulk-bar, .table-wrap')]
    .find(el => el.getBoundingClientRect().height > 0);
  return first.getBoundingClientRect().top - results.getBoundingClientRect().top;
}"""
# The list tools the shown held bar covers (none), and whether it sits in their line at all.
BAR_OVER_TOOLS = """() => {
  const bar = document.querySelector('#freeze-bar').getBoundingClientRect();
  const line = document.querySelector('.list-tools').getBoundingClientRect();
  const meets = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  const covered = [...document.querySelectorAll('.list-tools > *')].filter(el => meets(bar, el.getBoundingClientRect()))
    .map(el => el.textContent.trim());
  return meets(bar, line) ? covered : ['not in the list-tools line'];
}"""


class Api:
    def __init__(self, server: AppServer, world: World) -> None:
        self.client = httpx.AsyncClient(base_url=server.base_url, headers=world.operator_a.headers, timeout=30)
        self.workflow = world.workflows["Invoice approval"]

    async def call(self, method: str, path: str, **kw: Any) -> dict[str, Any]:
        response = await self.client.request(method, f"/api/v1/workflow-executions{path}", **kw)
        assert response.status_code < 300, response.text
        return response.json()["data"] if response.content else {}

    async def create(self, **body: Any) -> dict[str, Any]:
        return await self.call("POST", "", json={"workflow_uuid": self.workflow, "status": "running", **body})


async def test_held_rows_show_their_status_and_a_bulk_stop_unticks_them(
    signed_in_page: Any, server: AppServer, world: World
) -> None:
    page = signed_in_page
    api = Api(server, world)
    rows = [await api.create() for _ in range(4)]
    await page.goto(f"{server.base_url}/executions?workspace={world.ws['A']}&status=running")
    await page.wait_for_function(LIVE)
    for row in rows:
        await page.check(f"#row-{row['uuid']} input[name=ids]")
    # The bar says how many (it counts right after the change event).
    await page.wait_for_function("() => document.querySelector('#ticked-count').textContent === '4 ticked'")

    # Two finish on their own while the table is held (rows ticked): they no longer match "running"
    # but stay on screen, showing their real status, marked as leaving.
    for row in rows[:2]:
        await api.call("PATCH", f"/{row['uuid']}", json={"status": "completed"})
    for row in rows[:2]:
        await page.wait_for_selector(f"#row-{row['uuid']}.row-leaving .badge-completed", timeout=10_000)
    await page.wait_for_function("() => !document.querySelector('#freeze-bar').hidden")

    # Bulk stop of the four ticked rows: two stopped, two skipped (already completed).
    await page.select_option("#bulk-action", "stop")
    await page.fill("#bulk-reason", "bad deploy")
    await page.click("#bulk-preview")
    await page.locator("#bulk-dialog").wait_for()
    await page.click("#bulk-confirm")
    await page.wait_for_selector("#operation-progress[data-status=done] .op-report", timeout=30_000)
    assert (await page.inner_text(".rep-done")).strip() == "2"
    assert (await page.inner_text(".rep-skipped")).strip() == "2"

    # The screen agrees with the report: no row says RUNNING or offers Stop, none is ticked.
    for row in rows[2:]:
        await page.wait_for_selector(f"#row-{row['uuid']} .badge-cancelled", timeout=10_000)
    for row in rows:
        tr = page.locator(f"#row-{row['uuid']}")
        assert await tr.locator(".badge-running").count() == 0
        assert await tr.locator("button:has-text('Stop')").count() == 0
        assert not await tr.locator("input[name=ids]").is_checked()
    assert (await page.inner_text("#ticked-count")).strip() == "No rows ticked"

    # Apply: the rows that left the "running" view leave the table.
    await page.click("#freeze-bar .freeze-apply")
    await page.wait_for_function("() => document.querySelectorAll('#execution-rows tr').length === 0")
    await api.client.aclose()


async def _traffic(api: Api, rounds: int, per_second: float, running: list[str]) -> None:
    """The demo's kind of traffic, ``rounds`` new executions at about ``per_second`` (slower when the
    server is): node progress on recent ones, and some finishing with an error."""
    for i in range(rounds):
        created = await api.create()
        running.append(created["uuid"])
        for uuid in running[-4:-1]:
            await api.call("PATCH", f"/{uuid}", json={"running_node": f"node-{i}"})
        if i % 5 == 4:
            body = {"status": "failed", "error": "Timeout calling the ledger API " * 6}
            await api.call("PATCH", f"/{running[-5]}", json=body)
        await asyncio.sleep(1 / per_second)


async def test_the_list_keeps_still_untouched_and_under_the_pointer(
    signed_in_page: Any, server: AppServer, world: World
) -> None:
    page = signed_in_page
    api = Api(server, world)
    running = [(await api.create())["uuid"] for _ in range(12)]
    await page.goto(f"{server.base_url}/executions?workspace={world.ws['A']}")
    await page.wait_for_function(LIVE)
    await page.mouse.move(2, 2)
    await page.evaluate(OBSERVERS)
    # Nothing is reserved for the held bar: the table's panel starts with its first control (the bulk
    # bar), no empty lines above it.
    assert await page.evaluate(FIRST_IN_RESULTS) <= 2

    # Untouched, 24 new executions at up to 2 a second plus their updates: rows slide, nothing jumps.
    await _traffic(api, 24, 2, running)
    await page.wait_for_function("() => window.__still.inserted === 24", timeout=30_000)  # it stayed live
    still = await page.evaluate(STILL)
    assert still["cls"] <= 0.1, still
    assert still["noTarget"] == 0, still
    first = await page.evaluate("() => document.querySelector('#execution-rows tr').id")
    assert first == f"row-{running[-1]}"

    # The pointer rests on a row: whatever arrives, that row does not move, and the held bar takes
    # no space that rows move for.
    target = page.locator("#execution-rows tr:nth-child(4)")
    await target.hover()
    await page.mouse.move(*(await _centre(target)))
    before = await target.bounding_box()
    await _traffic(api, 8, 2, running)
    await page.wait_for_function("() => !document.querySelector('#freeze-bar').hidden", timeout=10_000)
    await page.wait_for_timeout(500)
    assert await target.bounding_box() == before
    # The bar lies over the list-tools line, beside its buttons, not over them.
    assert await page.evaluate(BAR_OVER_TOOLS) == [], "the held bar covers a list tool"
    assert (await page.evaluate(STILL))["noTarget"] == 0

    # Ticking a row moves nothing.
    boxes = await page.evaluate(
        "() => Array.from(document.querySelectorAll('#execution-rows tr')).map(r => r.getBoundingClientRect().top)"
    )
    await target.locator("input[name=ids]").check()
    await page.wait_for_timeout(300)
    after = await page.evaluate(
        "() => Array.from(document.querySelectorAll('#execution-rows tr')).map(r => r.getBoundingClientRect().top)"
    )
    assert after == boxes
    await api.client.aclose()


async def _centre(locator: Any) -> tuple[float, float]:
    box = await locator.bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


async def test_stop_dialog_is_a_modal_that_names_the_cascade_and_stays_current(
    signed_in_page: Any, server: AppServer, world: World
) -> None:
    page = signed_in_page
    api = Api(server, world)
    parent = await api.create()
    children = [await api.create(parent_execution_uuid=parent["uuid"]) for _ in range(7)]
    await page.goto(f"{server.base_url}/executions?workspace={world.ws['A']}")
    await page.wait_for_function(LIVE)
    await page.click(f"#row-{parent['uuid']} button:has-text('Stop')")
    dialog = page.locator("#stop-dialog")
    await dialog.wait_for()
    assert await dialog.evaluate("d => d.matches(':modal')")  # backdrop, the page behind is inert
    assert await page.evaluate("() => document.activeElement.id") == "stop-cancel"
    for _ in range(6):  # Tab never leaves the dialog
        await page.keyboard.press("Tab")
        assert await page.evaluate("() => !!document.activeElement.closest('#stop-dialog')")
    names = await dialog.locator(".stop-cascade li").all_inner_texts()
    assert len(names) == 6 and all("Invoice approval" in n for n in names[:5])
    assert names[5].strip() == "and 2 more"
    assert (await dialog.locator(".stop-n").inner_text()) == "8"

    # Counts stay live while it is open.
    children.append(await api.create(parent_execution_uuid=parent["uuid"]))
    await page.wait_for_function(
        "() => document.querySelector('#stop-dialog .stop-n').textContent === '9'", timeout=10_000
    )
    assert (await dialog.locator(".cascade-more").inner_text()).strip() == "and 3 more"

    # Esc closes it, and it leaves the page.
    await page.keyboard.press("Escape")
    await dialog.wait_for(state="detached")
    state = await api.call("GET", f"/{parent['uuid']}")
    assert state["status"] == "running"

    # A stop confirmed with numbers that changed meanwhile is refused with the new numbers.
    await page.click(f"#row-{parent['uuid']} button:has-text('Stop')")
    await dialog.wait_for()
    # One more child before the dialog's next refresh: the refresh is taken out (the counts are
    # replaced by an unprocessed copy) so the race is certain, not a matter of timing.
    await dialog.evaluate(
        "d => { const live = d.querySelector('#stop-live'); live.replaceWith(live.cloneNode(true)); }"
    )
    await api.create(parent_execution_uuid=parent["uuid"])
    await dialog.locator("#stop-confirm").click()
    await page.wait_for_selector("#stop-dialog .stop-changed")
    assert (await dialog.locator(".stop-n").inner_text()) == "10"
    assert (await api.call("GET", f"/{parent['uuid']}"))["status"] == "running"
    await dialog.locator("#stop-confirm").click()
    await dialog.wait_for(state="detached")
    await page.wait_for_selector(f"#row-{parent['uuid']} .badge-cancelled", timeout=10_000)
    with contextlib.suppress(Exception):
        await api.client.aclose()


async def test_on_a_phone_the_held_bar_covers_neither_the_last_card_nor_is_covered_by_a_toast(
    signed_in_page: Any, server: AppServer, world: World
) -> None:
    page = signed_in_page
    api = Api(server, world)
    rows = [await api.create() for _ in range(3)]
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.goto(f"{server.base_url}/executions?workspace={world.ws['A']}")
    await page.wait_for_function(LIVE)
    # A ticked card holds the list; the next execution waits in the bar fixed to the window's bottom.
    await page.check(f"#row-{rows[0]['uuid']} input[name=ids]")
    await api.create()
    await page.wait_for_function("() => !document.querySelector('#freeze-bar').hidden", timeout=10_000)
    # Scrolled to the end, the last card ends above the bar: the user can read and tick it.
    await page.evaluate("() => window.scrollTo(0, document.documentElement.scrollHeight)")
    gap = await page.evaluate(
        """() => document.querySelector('#freeze-bar').getBoundingClientRect().top
                 - document.querySelector('#execution-rows tr:last-child').getBoundingClientRect().bottom"""
    )
    assert gap >= 0, f"the held bar covers the last card by {-gap:.0f} px"
    # A stop's toast shows above the bar, not over its counts and its apply button.
    await page.click(f"#row-{rows[1]['uuid']} button:has-text('Stop')")
    await page.click("#stop-confirm")
    toast = page.locator("#toasts .toast").last
    await toast.wait_for()
    apart = await page.evaluate(
        """() => document.querySelector('#freeze-bar').getBoundingClientRect().top
                 - document.querySelector('#toasts').getBoundingClientRect().bottom"""
    )
    assert apart >= 0, f"the toast covers the held bar by {-apart:.0f} px"
    await api.client.aclose()


async def test_the_stop_button_counts_in_words_that_agree(signed_in_page: Any, server: AppServer, world: World) -> None:
    """Walked: the dialog open on a run that finished meanwhile said "Nothing to stop" over a button
    reading "Stop 0 execution" (the number followed the refresh, the word kept its first form)."""
    page = signed_in_page
    api = Api(server, world)
    parent = await api.create()
    await page.goto(f"{server.base_url}/executions?workspace={world.ws['A']}")
    await page.wait_for_function(LIVE)
    await page.click(f"#row-{parent['uuid']} button:has-text('Stop')")
    confirm = page.locator("#stop-dialog #stop-confirm")

    async def label() -> str:
        return " ".join((await confirm.text_content() or "").split())

    assert await label() == "Stop 1 execution"
    await api.create(parent_execution_uuid=parent["uuid"])
    await page.wait_for_function("() => document.querySelector('#stop-confirm .stop-n').textContent === '2'")
    assert await label() == "Stop 2 executions"
    await api.call("PATCH", f"/{parent['uuid']}", json={"status": "completed"})
    await page.locator("#stop-dialog .stop-nothing").wait_for(timeout=10_000)
    await page.wait_for_function("() => document.querySelector('#stop-confirm').disabled")
    assert await label() == "Stop 0 executions"
    with contextlib.suppress(Exception):
        await api.client.aclose()
