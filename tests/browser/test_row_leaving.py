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
# No slide under way: no row painted off its place, no transform transition running.
SETTLED = """() => ![...document.querySelectorAll('#execution-rows tr')].some(r => r.style.transform
  || r.getAnimations().some(a => a.transitionProperty === 'transform'))"""


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


# Two socket messages within one slide, as htmx frames them (the events around the swap), each
# inserting a row on top. For every row already shown: how far its painted top moved at the second
# message, before any frame. A slide starts where the row is seen, so none moves.
TWO_MESSAGES = """async () => {
  const body = document.getElementById('execution-rows');
  const frame = () => new Promise(r => requestAnimationFrame(() => r()));
  const message = (n) => {
    document.dispatchEvent(new CustomEvent('htmx:wsBeforeMessage'));
    const row = body.rows[body.rows.length - 1].cloneNode(true);
    row.removeAttribute('style');
    row.id = 'row-synthetic-' + n;
    body.insertBefore(row, body.firstChild);
    document.dispatchEvent(new CustomEvent('htmx:wsAfterMessage'));
  };
  const slidingNow = () => [...body.rows].filter(r => r.getAnimations()
    .some(a => a.transitionProperty === 'transform' && a.playState === 'running' && a.currentTime > 0)).length;
  message(1);
  for (let i = 0; i < 200 && !slidingNow(); i++) await frame();  // until the first slide is under way
  const sliding = slidingNow();
  const seen = new Map([...body.rows].map(r => [r.id, r.getBoundingClientRect().top]));
  message(2);
  const moved = [...body.rows].filter(r => seen.has(r.id))
    .map(r => [r.id, Math.round(r.getBoundingClientRect().top - seen.get(r.id))])
    .filter(([, dy]) => dy !== 0);
  return {sliding, moved};
}"""


async def test_rows_still_sliding_when_another_row_arrives_do_not_jump(
    signed_in_page: Any, server: AppServer, world: World
) -> None:
    page = signed_in_page
    api = Api(server, world)
    for _ in range(5):
        await api.create()
    await page.goto(f"{server.base_url}/executions?workspace={world.ws['A']}")
    await page.wait_for_function(LIVE)
    await page.mouse.move(2, 2)
    result = await page.evaluate(TWO_MESSAGES)
    assert result["sliding"] >= 5, result  # the rows under the first new row were sliding
    assert result["moved"] == [], result  # none jumped at the second message
    await api.client.aclose()
