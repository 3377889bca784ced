"""Issue 19, item 4, in headless Chromium: a failed execution's page shows each node run's input,
output and error (or says none was recorded), its graph shows every node at 1,280 and 1,440 px with
a scroll region the keyboard reaches, and Retry asks for a retry that the page then links."""

from __future__ import annotations

from typing import Any

import httpx

from tests.browser.test_dashboard import LIVE, api, create
from tests.conftest import Actor, World
from tests.servers import AppServer

# A POST from the page as htmx sends it (the CSRF token is on <body hx-headers>): [status, body].
POST_RETRY = """async (uuid) => {
    const headers = JSON.parse(document.body.getAttribute('hx-headers'));
    const r = await fetch(`/executions/${uuid}/retry`, {method: 'POST', headers: {...headers, 'HX-Request': 'true'}});
    return [r.status, await r.text()];
}"""
LONG_NOTE = "x" * 6000  # one unbroken 6,000-character value: it must scroll in its box, not widen the page
FAILED_RUNS = [
    {"node_id": "start", "node_name": "Start", "status": "success", "input": {"event": "created"},
     "output": {"invoice_id": "INV-1042"}},
    {"node_id": "review", "node_name": "Review", "status": "running",
     "input": {"invoice_id": "INV-1042", "amount": 1250.5, "note": LONG_NOTE}},
    {"node_id": "review", "node_name": "Review", "status": "error",
     "error": "HTTP 502 from erp.example after 3 retries"},
]  # fmt: skip


async def call(server: AppServer, actor: Actor, method: str, path: str, **kw: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.base_url, headers=actor.headers) as c:
        r = await c.request(method, path, **kw)
        assert r.status_code < 300, r.text
        return r.json() if r.content else {}


async def failed_execution(server: AppServer, world: World, workflow: str | None = None) -> dict[str, Any]:
    """An execution that failed at its node "review", with the input that node received."""
    body = {"workflow_uuid": workflow} if workflow else {}
    execution = await create(server, world, status="running", **body)
    path = f"/api/v1/workflow-executions/{execution['uuid']}"
    await api(server, world, "PATCH", path, json={"node_runs": FAILED_RUNS[:2]})
    await api(server, world, "PATCH", path, json={"status": "failed", "node_runs": FAILED_RUNS[2:]})
    return execution


async def test_the_failed_node_shows_its_input_output_and_error(
    signed_in_page: Any, server: AppServer, world: World
) -> None:
    page = signed_in_page
    execution = await failed_execution(server, world)
    await page.goto(f"{server.base_url}/executions/{execution['uuid']}")

    failed = page.locator("details.run[data-node-id=review]")
    assert await failed.get_attribute("open") is not None  # the failed run starts open
    assert "INV-1042" in await failed.locator(".io-input .io-value").inner_text()
    assert "HTTP 502 from erp.example" in await failed.locator(".io-error .io-value").inner_text()
    assert (await failed.locator(".io-output").inner_text()).strip().endswith("No output recorded.")

    first = page.locator("details.run[data-node-id=start]")
    await first.locator("summary").click()
    assert "INV-1042" in await first.locator(".io-output .io-value").inner_text()
    assert "No error recorded." in await first.locator(".io-error").inner_text()

    # The long input scrolls inside its box (reachable by keyboard), the page does not scroll sideways.
    value = failed.locator(".io-input .io-value")
    assert await value.get_attribute("tabindex") == "0"
    box = await value.bounding_box()
    assert box is not None and box["height"] <= 16 * 14 + 2  # max-height 16rem
    assert await value.evaluate("el => el.scrollHeight > el.clientHeight")
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


async def wide_workflow(server: AppServer, world: World) -> str:
    """Twelve steps in a row with a side branch: 12 columns, about 2,500 px at full size."""
    nodes = [{"id": f"step{i}", "name": f"Step {i}", "type": "code"} for i in range(12)]
    nodes.append({"id": "review", "name": "Review", "type": "approval"})
    edges = [{"source": f"step{i}", "target": f"step{i + 1}"} for i in range(11)]
    edges += [{"source": "step10", "target": "review"}, {"source": "step0", "target": "step5"}]
    body = {"workspace_uuid": world.ws["A"], "name": "Very long pipeline", "nodes": nodes, "edges": edges}
    return (await call(server, world.admin_a, "POST", "/api/v1/workflows", json=body))["data"]["uuid"]


async def test_every_node_of_a_wide_graph_is_visible_at_1280_and_1440_px(
    signed_in_page: Any, server: AppServer, world: World
) -> None:
    page = signed_in_page
    execution = await failed_execution(server, world, await wide_workflow(server, world))
    for width in (1280, 1440):
        await page.set_viewport_size({"width": width, "height": 900})
        await page.goto(f"{server.base_url}/executions/{execution['uuid']}")
        nodes = page.locator(".graph .node")
        assert await nodes.count() == 13
        for i in range(13):
            box = await nodes.nth(i).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, (width, i, box)
            assert box["width"] >= 120  # scaled at most a little: still readable
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        failed_node = page.locator(".graph .node-err")
        assert await failed_node.count() == 1 and await failed_node.get_attribute("data-node-id") == "review"

    # On a phone the graph stays legible (not scaled to the screen's width): its labels are at least
    # 9 px high and its region scrolls sideways, the page does not.
    await page.set_viewport_size({"width": 390, "height": 844})
    await page.goto(f"{server.base_url}/executions/{execution['uuid']}")
    label = await page.locator(".graph .node-name").first.bounding_box()
    assert label is not None and label["height"] >= 9, label
    assert await page.locator(".graph-wrap").evaluate("el => el.scrollWidth > el.clientWidth")
    assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    await page.set_viewport_size({"width": 1280, "height": 900})

    # The graph's box is a named region the keyboard reaches (Tab), with a visible focus ring.
    region = page.locator(".graph-wrap")
    assert await region.get_attribute("role") == "region"
    assert await region.evaluate("el => document.getElementById(el.getAttribute('aria-labelledby')).textContent") == (
        "Graph"
    )
    await page.evaluate("document.activeElement && document.activeElement.blur()")
    for _ in range(80):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.classList.contains('graph-wrap')"):
            break
    else:
        raise AssertionError("Tab never reached the graph's region")
    outline = await region.evaluate("el => getComputedStyle(el).outlineStyle + ' ' + getComputedStyle(el).outlineWidth")
    assert outline.startswith("solid") and not outline.endswith(" 0px")


async def test_retry_asks_once_and_the_page_links_the_retry_when_it_starts(
    signed_in_page: Any, server: AppServer, world: World
) -> None:
    page = signed_in_page
    execution = await failed_execution(server, world)
    await page.goto(f"{server.base_url}/executions/{execution['uuid']}")
    await page.wait_for_function(LIVE)

    button = page.locator(".detail-head .retry-button")
    await button.evaluate("el => { el.click(); el.click(); }")  # a double click sends one request
    await page.wait_for_selector(".retry-box .retry-pending")
    assert world.operator_a.email in await page.inner_text(".retry-pending")
    assert await page.locator(".detail-head .retry-button").count() == 0  # asked already: no second request
    assert await page.locator("#toasts .toast-error").count() == 0  # the second click sent nothing (no 409)
    audit = await call(server, world.admin_a, "GET", "/api/v1/audit", params={"action": "retry_request"})
    assert [a["execution_uuid"] for a in audit["data"]] == [execution["uuid"]]

    # Asked again from another tab (the button gone here): refused with why, nothing recorded.
    answer = await page.evaluate(POST_RETRY, execution["uuid"])
    assert answer[0] == 409 and "already requested" in answer[1]

    # The engine starts the retry: the page links it, live, and says the request was answered.
    retry = await create(server, world, status="running", mode="retry", retry_of=execution["uuid"])
    link = page.locator(f".retry-list a[href='/executions/{retry['uuid']}']")
    await link.wait_for(timeout=5000)
    assert await page.locator(".retry-pending").count() == 0
    assert await page.locator(".retry-button").count() == 0  # no second retry while this one runs
    await link.click()
    await page.wait_for_url(f"**/executions/{retry['uuid']}")
    assert execution["uuid"][-8:] in await page.inner_text(".facts")  # "Retry of" links back


async def test_viewers_get_no_retry_button_and_are_refused(browser: Any, server: AppServer, world: World) -> None:
    failed = await failed_execution(server, world)
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    await page.goto(f"{server.base_url}/sign-in")
    await page.fill("input[name=email]", world.viewer_a.email)
    await page.fill("input[name=password]", "correct horse")
    await page.click("button[type=submit]")
    await page.wait_for_url("**/executions**")
    await page.goto(f"{server.base_url}/executions/{failed['uuid']}")
    assert await page.locator(".retry-button").count() == 0
    status, _ = await page.evaluate(POST_RETRY, failed["uuid"])
    assert status == 403
    await page.close()
