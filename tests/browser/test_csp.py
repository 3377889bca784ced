"""Item 14 in a real browser: the pages work under their Content-Security-Policy.

Chromium reports every blocked script, style or connection as a ``securitypolicyviolation`` event
and a console error. The main pages are opened, go live over their WebSocket, and are used (a
timeline drawn by app.js, an htmx swap); not one violation may be reported.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from tests.conftest import World
from tests.servers import AppServer

LIVE = "() => document.querySelector('#conn').dataset.state === 'live'"
RECORD_VIOLATIONS = """
document.addEventListener('securitypolicyviolation', (e) => {
  window.reportCspViolation(location.pathname + ': ' + e.violatedDirective + ' ' + (e.blockedURI || 'inline'));
});
"""


async def test_main_pages_report_no_csp_violation(signed_in_page: Any, server: AppServer, world: World) -> None:
    page = signed_in_page
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    violations: list[str] = []
    await page.expose_function("reportCspViolation", lambda v: violations.append(v))
    await page.add_init_script(RECORD_VIOLATIONS)
    async with httpx.AsyncClient(base_url=server.base_url, headers=world.operator_a.headers) as c:
        wf = world.workflows["Invoice approval"]
        created = await c.post("/api/v1/workflow-executions", json={"workflow_uuid": wf, "status": "running"})
        assert created.status_code == 201, created.text
        execution = created.json()["data"]
        t0 = dt.datetime.fromisoformat(execution["created_at"])
        runs = [
            {"node_id": "start", "status": "success", "started_at": (t0 + dt.timedelta(milliseconds=100)).isoformat(),
             "stopped_at": (t0 + dt.timedelta(milliseconds=400)).isoformat()},
            {"node_id": "review", "status": "running", "started_at": (t0 + dt.timedelta(milliseconds=500)).isoformat()},
        ]  # fmt: skip
        patched = await c.patch(f"/api/v1/workflow-executions/{execution['uuid']}", json={"node_runs": runs})
        assert patched.status_code == 200, patched.text

    response = await page.goto(f"{server.base_url}/executions")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-eval" not in csp and "unsafe-inline" not in csp
    await page.wait_for_function(LIVE, timeout=10000)
    await page.click(f"#row-{execution['uuid']} button:has-text('Stop')")  # htmx swaps in the dialog
    await page.locator("#stop-dialog").wait_for()
    await page.goto(f"{server.base_url}/executions/{execution['uuid']}")
    await page.wait_for_selector(".timeline .tl-lane-bar")
    await page.wait_for_function(LIVE, timeout=10000)
    # app.js placed the bars (one lane per loop iteration) from their data attributes (no style="").
    widths = await page.eval_on_selector_all(".tl-lane-bar", "bars => bars.map(b => b.style.width)")
    assert len(widths) == 2 and all(w.endswith("%") and float(w[:-1]) > 0 for w in widths), widths
    await page.goto(f"{server.base_url}/command-room")
    await page.wait_for_function(LIVE, timeout=10000)
    await page.goto(f"{server.base_url}/approvals")  # an operator is told this page is not for them
    await page.wait_for_load_state("load")
    await page.goto(f"{server.base_url}/insights")  # server-drawn SVG charts, polled "now" panel
    await page.wait_for_selector("svg")
    await page.goto(f"{server.base_url}/executions?status=running&range=24h")
    await page.wait_for_function(LIVE, timeout=10000)
    assert violations == [], violations
    assert not [e for e in console_errors if "Content Security Policy" in e], console_errors

    # The listener does hear violations: an inline style attribute injected now is reported.
    await page.evaluate("document.body.insertAdjacentHTML('beforeend', '<b style=\\'color:red\\'>x</b>')")
    await page.wait_for_timeout(300)
    assert any("style-src" in v for v in violations), violations
