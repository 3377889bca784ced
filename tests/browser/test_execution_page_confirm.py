"""Issue 19 item 10 on the execution page, in headless Chromium: its pending HIGH RISK review shows
its data open, and Approve asks first like the inbox does (the same dialog, naming the title and
the amount), from the button and from the keyboard. The page's body is re-rendered live on every
change: a re-render while the dialog asks does not lose the answer."""

from __future__ import annotations

from typing import Any

from tests.browser.test_approvals import api, request, sign_in, waiting
from tests.conftest import World
from tests.servers import AppServer

PAYLOAD = {"vendor": "ACME", "currency": "EUR", "amount": 21840.0}


async def test_a_high_risk_review_on_the_execution_page_asks_before_approving(
    browser: Any, server: AppServer, world: World
) -> None:
    execution = await waiting(server, world)
    risky = await request(server, world.operator_a, execution, "Pay ACME", payload=PAYLOAD, high_risk=True)
    page = await sign_in(browser, server, world.approver_a, f"/executions/{execution}")
    item = page.locator(f"#detail-approval-{risky['uuid']}")
    assert await item.locator(".badge-risk").count() == 1
    assert await item.locator("details.approval-data").get_attribute("open") is not None
    approve = item.locator("button:has-text('Approve')")
    dialog = page.locator("#approve-confirm")

    # The key: Enter on the focused button asks; Cancel has the focus; Esc cancels.
    await approve.focus()
    await page.keyboard.press("Enter")
    await dialog.wait_for(state="visible")
    question = await dialog.inner_text()
    assert "“Pay ACME”" in question and "EUR 21,840.00" in question, question
    assert await page.evaluate("document.activeElement.textContent.trim() === 'Cancel'")
    await page.keyboard.press("Escape")
    await dialog.wait_for(state="hidden")
    state = (await api(server, world.admin_a, "GET", f"/api/v1/workflow-approvals/{risky['uuid']}"))["data"]
    assert (state["status"], state["approvals_count"]) == ("pending", 0)

    # The button asks too. While it asks, a colleague flags the execution: the body re-renders
    # behind the dialog (a new form in place of the one that asked); confirming still approves.
    await approve.click()
    await dialog.wait_for(state="visible")
    flag = {"execution_uuid": execution, "note": "Customer is waiting"}
    await api(server, world.operator_a, "POST", "/api/v1/command-room-tasks", json=flag)
    await page.locator(".room-history:has-text('Customer is waiting')").wait_for(timeout=5000)
    await dialog.locator("button:has-text('Approve')").click()
    await item.locator(".badge-count:has-text('1 of 2 approvals')").wait_for(timeout=5000)
    state = (await api(server, world.admin_a, "GET", f"/api/v1/workflow-approvals/{risky['uuid']}"))["data"]
    assert (state["status"], state["approvals_count"]) == ("pending", 1)

    # A review that is not high risk approves at once, as before.
    other = await request(server, world.operator_a, execution, "Small one", payload={"amount": 12})
    small = page.locator(f"#detail-approval-{other['uuid']}")
    await small.wait_for(timeout=5000)
    await small.locator("button:has-text('Approve')").click()
    await small.locator(".badge-approval-approved").wait_for(timeout=5000)
    assert not await dialog.is_visible()
