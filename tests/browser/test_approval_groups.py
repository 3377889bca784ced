"""Headless Chromium: a group of identical reviews decided with one click (four-eyes refusals named),
and presence between two browsers ("admin_a is reviewing this", "operator_a is stopping this")."""

from __future__ import annotations

from typing import Any

from tests.browser.test_approvals import api, request, sign_in, waiting
from tests.conftest import World
from tests.servers import AppServer

SAME = {"vendor": "ACME", "amount": 120}


async def test_group_decided_at_once_with_refusals_named(browser: Any, server: AppServer, world: World) -> None:
    wf = world.workflows["Invoice approval"]
    await api(server, world.admin_a, "PATCH", f"/api/v1/workflows/{wf}/settings", json={"four_eyes": True})
    theirs = [
        await request(server, world.operator_a, await waiting(server, world), "Pay ACME", payload=SAME)
        for _ in range(3)
    ]
    mine = await request(
        server, world.admin_a, await waiting(server, world, actor=world.admin_a), "Pay ACME", payload=SAME
    )

    page = await sign_in(browser, server, world.admin_a)
    group = page.locator(".approval-group")
    await group.wait_for()
    assert "4 identical reviews" in await group.locator(".ai-title").inner_text()
    assert "1 of them you may not approve" in await group.inner_text()
    await group.locator(".ai-comment-box").fill("same invoice, fine")
    await group.get_by_role("button", name="Approve all 4").click()
    confirm = page.locator("#approve-confirm")  # the page's own dialog asks first
    assert "Approve all 4 identical reviews “Pay ACME”" in await confirm.inner_text()
    await confirm.get_by_role("button", name="Approve all 4").click()
    # A handle, not a locator: the note fades and leaves after a few seconds, as a single card's does.
    done = await page.wait_for_selector(".group-done", state="attached")
    assert done is not None
    text = await done.text_content() or ""
    assert "3 approved, 1 refused: you triggered them." in text and "Four-eyes rule" in text
    for a in theirs:
        got = (await api(server, world.viewer_a, "GET", f"/api/v1/workflow-approvals/{a['uuid']}"))["data"]
        assert got["status"] == "approved" and got["comment"] == "same invoice, fine"
    got = (await api(server, world.viewer_a, "GET", f"/api/v1/workflow-approvals/{mine['uuid']}"))["data"]
    assert got["status"] == "pending"

    # The one left I triggered: "a" on it cannot approve, and says why (it did nothing, silently).
    await page.locator(f"#approval-{mine['uuid']}").wait_for()
    await page.evaluate("document.activeElement && document.activeElement.blur()")
    for _ in range(6):
        await page.keyboard.press("j")
        if await page.locator(f"#approval-{mine['uuid']}.kb-active").count():
            break
    await page.keyboard.press("a")
    said = page.locator("#toasts .toast", has_text="You triggered this execution")
    await said.wait_for(timeout=5000)
    assert "another approver must approve it" in await said.inner_text()
    got = (await api(server, world.viewer_a, "GET", f"/api/v1/workflow-approvals/{mine['uuid']}"))["data"]
    assert got["status"] == "pending"
    await page.close()


async def test_presence_between_two_browsers(browser: Any, server: AppServer, world: World) -> None:
    execution_uuid = await waiting(server, world)
    review = await request(server, world.operator_a, execution_uuid, "Check the totals")
    watcher = await sign_in(browser, server, world.approver_a)
    reviewer = await sign_in(browser, server, world.admin_a)

    # Ana opens the review (focus in its comment box): Bo's inbox says so, live.
    await reviewer.locator(f"#comment-{review['uuid']}").focus()
    marker = watcher.locator(f"[data-presence-approval='{review['uuid']}']").first
    await marker.wait_for(state="visible", timeout=15000)
    assert await marker.inner_text() == "admin_a is reviewing this"
    # She leaves it: the marker goes away.
    await reviewer.locator("input[type=search]").focus()
    await marker.wait_for(state="hidden", timeout=15000)

    # The stop dialog on the executions page: the execution's row elsewhere says who is stopping it.
    rows = await sign_in(browser, server, world.viewer_a, f"/executions?workspace={world.ws['A']}")
    stopper = await sign_in(browser, server, world.operator_a, f"/executions?workspace={world.ws['A']}")
    await stopper.locator(f"#row-{execution_uuid} button", has_text="Stop").click()
    await stopper.locator("#stop-dialog").wait_for()
    row_marker = rows.locator(f"#row-{execution_uuid} [data-presence-execution]")
    await row_marker.wait_for(state="visible", timeout=15000)
    assert await row_marker.inner_text() == "operator_a is stopping this"
    await stopper.get_by_role("button", name="Cancel").click()
    await row_marker.wait_for(state="hidden", timeout=15000)
    for page in (watcher, reviewer, rows, stopper):
        await page.close()
