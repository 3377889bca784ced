"""The approver inbox in headless Chromium: reviews appear live, are decided inline (mouse and keyboard),
leave at once when someone else decides them, and the nav badge follows on every page."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx

from tests.clock import clear_of_the_turn
from tests.conftest import Actor, World
from tests.servers import AppServer

# Function predicates: Playwright evaluates a string predicate with eval(), which the CSP forbids.
LIVE = "() => document.querySelector('#conn').dataset.state === 'live'"
BADGE = "#approvals-badge"


async def api(server: AppServer, actor: Actor, method: str, path: str, **kw: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.base_url, headers=actor.headers) as c:
        r = await c.request(method, path, **kw)
        assert r.status_code < 300, r.text
        return r.json() if r.content else {}


async def waiting(
    server: AppServer, world: World, workflow: str = "Invoice approval", actor: Actor | None = None
) -> str:
    """A waiting execution (created running, then PATCHed), as an engine would leave it for a review."""
    actor = actor or world.operator_a
    body = {"workflow_uuid": world.workflows[workflow], "status": "running"}
    execution = (await api(server, actor, "POST", "/api/v1/workflow-executions", json=body))["data"]
    path = f"/api/v1/workflow-executions/{execution['uuid']}"
    await api(server, actor, "PATCH", path, json={"status": "waiting"})
    return execution["uuid"]


async def request(server: AppServer, actor: Actor, execution_uuid: str, title: str, **body: Any) -> dict[str, Any]:
    payload = {"execution_uuid": execution_uuid, "node_id": "review", "title": title, **body}
    return (await api(server, actor, "POST", "/api/v1/workflow-approvals", json=payload))["data"]


async def sign_in(browser: Any, server: AppServer, actor: Actor, path: str = "/approvals") -> Any:
    page = await browser.new_page(viewport={"width": 1400, "height": 900})
    await page.goto(f"{server.base_url}{path}")
    await page.fill("input[name=email]", actor.email)
    await page.fill("input[name=password]", "correct horse")
    await page.click("button[type=submit]")
    await page.wait_for_url(f"**{path}")
    await page.wait_for_function(LIVE)
    return page


async def badge_shows(page: Any, count: int, within: float = 5000) -> None:
    if count:
        script = f"() => (b => b && !b.hidden && b.textContent.trim() === '{count}')(document.querySelector('{BADGE}'))"
    else:
        script = f"() => (b => b && b.hidden)(document.querySelector('{BADGE}'))"
    await page.wait_for_function(script, timeout=within)


async def test_a_new_review_appears_live_and_approving_it_resumes_the_execution(
    browser: Any, server: AppServer, world: World
) -> None:
    execution = await waiting(server, world)
    page = await sign_in(browser, server, world.approver_a)
    assert "All caught up" in await page.inner_text("#approvals-list")
    await badge_shows(page, 0)
    await page.evaluate("window.__sameDocument = true")  # gone if anything reloads the page

    body = {"payload": {"amount": 1200, "vendor": "ACME", "reason": "Duplicate invoice?"}}
    approval = await request(server, world.operator_a, execution, "Pay ACME invoice", **body)
    item = page.locator(f"#approval-{approval['uuid']}")
    await item.wait_for(timeout=5000)
    await badge_shows(page, 1)
    text = await item.inner_text()
    assert "Pay ACME invoice" in text and "Invoice approval" in text and "review" in text and "ACME" in text
    assert "unassigned" in text

    # Reject needs a comment: the browser refuses to send an empty one.
    await item.locator("button:has-text('Reject')").click()
    assert await page.evaluate(f"document.getElementById('comment-{approval['uuid']}').validity.valueMissing")
    assert await item.locator(".approval-done").count() == 0

    await item.locator("button:has-text('Approve')").click()
    await page.wait_for_selector(f"#approval-{approval['uuid']} .approval-done:has-text('Approved by you')")
    await item.wait_for(state="detached", timeout=8000)  # the note fades, then the item leaves
    await badge_shows(page, 0)
    status = (await api(server, world.admin_a, "GET", f"/api/v1/workflow-executions/{execution}"))["data"]["status"]
    assert status == "running"
    # The list reloaded after the decision: it says so (innerText leaves hidden elements out).
    assert "All caught up" in await page.inner_text("#approvals-list")
    assert await page.evaluate("window.__sameDocument === true")


async def test_a_review_decided_elsewhere_leaves_at_once_naming_who(
    browser: Any, server: AppServer, world: World
) -> None:
    first = await request(server, world.operator_a, await waiting(server, world), "First review")
    second = await request(server, world.operator_a, await waiting(server, world), "Second review")
    page = await sign_in(browser, server, world.approver_a)
    await badge_shows(page, 2)
    await page.fill(f"#comment-{second['uuid']}", "half-typed")

    # The notice gives a decision of today (UTC) its clock time, an older one its date too: the
    # decision and the notice (within the 5 s below) on one day.
    await clear_of_the_turn(dt.timedelta(days=1), margin=dt.timedelta(seconds=10))
    await api(server, world.admin_a, "POST", f"/api/v1/workflow-approvals/{first['uuid']}/approve")
    note = page.locator(f"#approval-{first['uuid']} .approval-done")
    await note.wait_for(timeout=5000)
    assert re.fullmatch(r"Approved by admin_a@example\.test at \d\d:\d\d:\d\d\.", await note.inner_text())
    await badge_shows(page, 1)
    await page.locator(f"#approval-{first['uuid']}").wait_for(state="detached", timeout=8000)
    # The other review stays, with what was being typed.
    assert await page.input_value(f"#comment-{second['uuid']}") == "half-typed"

    # Someone claims it: the list refreshes and still keeps the comment being typed.
    await api(server, world.admin_a, "POST", f"/api/v1/workflow-approvals/{second['uuid']}/assign")
    await page.wait_for_selector(f"#approval-{second['uuid']} dd:has-text('admin_a@example.test')", timeout=5000)
    assert await page.input_value(f"#comment-{second['uuid']}") == "half-typed"


async def test_keyboard_moves_approves_and_rejects(browser: Any, server: AppServer, world: World) -> None:
    first = await request(server, world.operator_a, await waiting(server, world), "First review")
    second = await request(server, world.operator_a, await waiting(server, world), "Second review")
    page = await sign_in(browser, server, world.approver_a)

    await page.keyboard.press("j")
    await page.wait_for_selector(f"#approval-{first['uuid']}.kb-active")
    await page.keyboard.press("j")
    await page.wait_for_selector(f"#approval-{second['uuid']}.kb-active")
    await page.keyboard.press("k")
    await page.wait_for_selector(f"#approval-{first['uuid']}.kb-active")
    await page.keyboard.press("a")
    await page.wait_for_selector(f"#approval-{first['uuid']} .approval-done:has-text('Approved by you')")
    # The selection moves on to the review now in its place: "r" writes its rejection, Enter sends it.
    await page.wait_for_selector(f"#approval-{second['uuid']}.kb-active")
    await page.keyboard.press("r")
    assert await page.evaluate(f"document.activeElement.id === 'comment-{second['uuid']}'")
    assert await page.input_value(f"#comment-{second['uuid']}") == ""  # the "r" is not typed into it
    await page.keyboard.type("Wrong vendor")
    await page.keyboard.press("Enter")
    await page.wait_for_selector(f"#approval-{second['uuid']} .approval-done:has-text('Rejected by you')")
    decided = (await api(server, world.admin_a, "GET", f"/api/v1/workflow-approvals/{second['uuid']}"))["data"]
    assert (decided["status"], decided["comment"]) == ("rejected", "Wrong vendor")


async def test_the_badge_follows_on_other_pages_and_the_execution_page_decides(
    browser: Any, server: AppServer, world: World
) -> None:
    # multi approves only in workspace C; its executions list shows workspace A (viewer) by default.
    page = await sign_in(browser, server, world.multi, "/executions")
    await badge_shows(page, 0)
    execution = await waiting(server, world, "Payroll run", world.multi)
    approval = await request(server, world.multi, execution, "Payroll over budget", payload={"total": 98000})
    await badge_shows(page, 1)

    await page.goto(f"{server.base_url}/executions/{execution}")
    await page.wait_for_function(LIVE)
    await badge_shows(page, 1)
    await page.fill(f"#decide-comment-{approval['uuid']}", "Budget not approved")
    await page.click(f"#detail-approval-{approval['uuid']} button:has-text('Reject')")
    await page.wait_for_selector(".approvals-list .badge-approval-rejected", timeout=5000)
    assert "Budget not approved" in await page.inner_text(".approvals-list")
    await page.wait_for_selector(".detail-head .badge-running", timeout=5000)
    await badge_shows(page, 0)
