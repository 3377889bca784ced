"""A row leaving the executions list never paints over the row below it (issue 19 item 5), in
headless Chromium: every animation frame, the painted boxes (slides included) of neighbouring rows
are compared while a row leaves."""

from __future__ import annotations

from typing import Any

from tests.browser.test_list_still import LIVE, Api
from tests.conftest import World
from tests.servers import AppServer

# From now on, every frame: the pairs of neighbouring rows whose boxes (transforms included) overlap.
SAMPLE = """() => {
  window.__overlaps = []; window.__frames = 0;
  const tick = () => {
    const rows = [...document.querySelectorAll('#execution-rows tr')];
    window.__frames += 1;
    for (let i = 0; i + 1 < rows.length; i++) {
      const a = rows[i].getBoundingClientRect(), b = rows[i + 1].getBoundingClientRect();
      if (a.bottom > b.top + 0.5) window.__overlaps.push(
        `${rows[i].id} (${rows[i].className}) over ${rows[i + 1].id} by ${(a.bottom - b.top).toFixed(1)} px`);
    }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""
SAMPLED = "() => ({frames: window.__frames, overlaps: window.__overlaps})"
HEIGHT = "(id) => document.getElementById(id).getBoundingClientRect().height"
SETTLED = "() => !document.querySelector('#execution-rows tr[style]')"  # no slide under way


async def test_a_leaving_row_never_overlaps_the_next_row(signed_in_page: Any, server: AppServer, world: World) -> None:
    page = signed_in_page
    api = Api(server, world)
    rows = [(await api.create())["uuid"] for _ in range(6)]  # shown newest first: rows[5] on top
    await page.goto(f"{server.base_url}/executions?workspace={world.ws['A']}&status=running")
    await page.wait_for_function(LIVE)
    await page.mouse.move(2, 2)
    await page.evaluate(SAMPLE)

    # Not held: a row that finishes leaves the "running" view; the rows below slide up.
    await api.call("PATCH", f"/{rows[3]}", json={"status": "completed"})
    await page.wait_for_selector(f"#row-{rows[3]}", state="detached", timeout=10_000)
    await page.wait_for_function(SETTLED, timeout=10_000)
    sampled = await page.evaluate(SAMPLED)
    assert sampled["overlaps"] == [], sampled

    # Held (a row ticked): a row that fails stays, marked as leaving, and grows by its error line;
    # the rows below move down for it, never over it.
    await page.check(f"#row-{rows[5]} input[name=ids]")
    was = await page.evaluate(HEIGHT, f"row-{rows[1]}")
    frames = sampled["frames"]
    await api.call("PATCH", f"/{rows[1]}", json={"status": "failed", "error": "Ledger timeout " * 20})
    await page.wait_for_selector(f"#row-{rows[1]}.row-leaving .err-line", timeout=10_000)
    await page.wait_for_function(SETTLED, timeout=10_000)
    await page.wait_for_function(f"() => window.__frames > {frames + 2}")
    assert await page.evaluate(HEIGHT, f"row-{rows[1]}") > was + 5  # it did grow
    sampled = await page.evaluate(SAMPLED)
    assert sampled["overlaps"] == [], sampled

    # Another leaves while held, nearer the top (more rows slide below it): same.
    await api.call("PATCH", f"/{rows[4]}", json={"status": "failed", "error": "Bank API 503 " * 20})
    await page.wait_for_selector(f"#row-{rows[4]}.row-leaving .err-line", timeout=10_000)
    await page.wait_for_function(SETTLED, timeout=10_000)
    sampled = await page.evaluate(SAMPLED)
    assert sampled["overlaps"] == [], sampled
    await api.client.aclose()
