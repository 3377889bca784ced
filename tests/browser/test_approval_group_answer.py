"""Issue 19 items 9 and 10: my own "Approve all" on a group of identical reviews, in headless
Chromium, with the list's reloads and the decision's answer landing in the order a loaded machine
gives them (held with Playwright's routing, so the race happens every time).

Each review of the group is decided in its own transaction, so the page gets a notice and a list
reload per review while the decision is on its way. The reviewer expects: the group card keeps
saying nothing until the answer says what was done ("3 approved", never "decided elsewhere" or
"Approved by <me>" with a Dismiss button); the answer then fades and leaves like a single card's;
a draft typed in another card survives every reload; the counts agree.

What the old code did here: the notices of my own decision marked the card "Approved by <me>"
with a Dismiss button (and "decided elsewhere" lines) while the answer was on its way; reloads ran
concurrently, and an older one answering after a newer one landed on the detached list, where
htmx's hx-preserve handling still took the live comment boxes out of the page (the draft and the
box to reject with gone from every card); the group's note never faded and hid the refused review.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Any

from tests.browser.test_approval_work_kept import page_says_pending
from tests.browser.test_approvals import api, request, sign_in, waiting
from tests.conftest import World
from tests.servers import AppServer

SAME = {"vendor": "ACME", "amount": 120}


class Answers:
    """Lets the browser's requests reach the server but holds their answers: the group decision's
    until released, and the first list reload's until a later reload has been answered (or 4 s)."""

    def __init__(self) -> None:
        self.decided = asyncio.Event()
        self.release = asyncio.Event()
        self.reloads = 0
        self.later_reload_answered = asyncio.Event()
        self.first_reload_read = asyncio.Event()  # the server has answered the first reload (still held)

    async def decision(self, route: Any) -> None:
        response = await route.fetch()
        self.decided.set()
        await self.release.wait()
        await route.fulfill(response=response)

    async def reload(self, route: Any) -> None:
        if route.request.headers.get("hx-target") != "approvals-list":
            await route.continue_()
            return
        self.reloads += 1
        first = self.reloads == 1
        response = await route.fetch()
        if first:  # the older answer arrives last, as it may under load
            self.first_reload_read.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.later_reload_answered.wait(), 4)
        await route.fulfill(response=response)
        if not first:
            self.later_reload_answered.set()


async def test_my_approve_all_is_answered_on_its_card_and_keeps_my_draft_elsewhere(
    browser: Any, server: AppServer, world: World
) -> None:
    wf = world.workflows["Invoice approval"]
    await api(server, world.admin_a, "PATCH", f"/api/v1/workflows/{wf}/settings", json={"four_eyes": True})
    members = [
        await request(server, world.operator_a, await waiting(server, world), "Pay ACME", payload=SAME)
        for _ in range(2)
    ]
    mine = await request(  # triggered by the reviewer: the four-eyes rule refuses it
        server, world.admin_a, await waiting(server, world, actor=world.admin_a), "Pay ACME", payload=SAME
    )
    other = await request(server, world.operator_a, await waiting(server, world), "Another review")
    page = await sign_in(browser, server, world.admin_a)
    await page_says_pending(page, 4)
    group = page.locator(".approval-group")
    group_id = await group.get_attribute("id")
    box = page.locator(f"#comment-{other['uuid']}")
    await box.fill("Ask the vendor for the PO first")

    answers = Answers()
    await page.route("**/approvals/group/approve", answers.decision)
    await page.route(re.compile(r".*/approvals(\?.*)?$"), answers.reload)
    await group.get_by_role("button", name="Approve all 3").click()
    await page.locator("#approve-confirm").get_by_role("button", name="Approve all 3").click()
    await asyncio.wait_for(answers.decided.wait(), 15)
    for m in members:  # decided on the server, the answer still held
        state = (await api(server, world.viewer_a, "GET", f"/api/v1/workflow-approvals/{m['uuid']}"))["data"]
        assert state["status"] == "approved"
    # One more change while the answer is held: the list reloads again. (After the server has read
    # the first reload: otherwise the page may get the decision's and this change's notices in one
    # frame, and one reload shows both: no race to test.)
    await asyncio.wait_for(answers.first_reload_read.wait(), 15)
    await api(server, world.admin_a, "POST", f"/api/v1/workflow-approvals/{other['uuid']}/assign")
    await page.locator(f"#approval-{other['uuid']} .ai-facts dd", has_text=re.compile(r"^\s*you\s*$")).wait_for(
        timeout=10000
    )  # claimed by me: the list reloaded
    await page_says_pending(page, 2)  # the group's refused review and the other one
    assert answers.reloads >= 2

    # Until its answer comes, my decision is not "decided elsewhere", nor a colleague's to dismiss.
    assert await group.locator(".ai-decided-banner, .group-decided-line, .member-decided").count() == 0
    assert "is-decided" not in (await group.get_attribute("class") or "")
    # The draft in the other card went through every reload.
    assert await box.input_value() == "Ask the vendor for the PO first"

    answers.release.set()
    # (A handle, not a locator: the note may have faded and left by the time its text is read.)
    note = await page.wait_for_selector(f"#decided-{group_id} .group-done", state="attached", timeout=10000)
    assert note is not None
    text = await note.text_content() or ""
    assert "2 approved, 1 refused" in text and "Four-eyes rule" in text, text
    # It fades and leaves like a single card's "Approved by you"; the refused review, still pending,
    # is a card of its own again (it says I may not approve it).
    await page.locator(f"#decided-{group_id}").wait_for(state="detached", timeout=10000)
    left = page.locator(f"#approval-{mine['uuid']}")
    await left.wait_for(timeout=10000)
    assert await left.locator(".ai-approve button").is_disabled()
    assert await page.locator(f"#{group_id}").count() == 0
    assert await box.input_value() == "Ask the vendor for the PO first"
    await page_says_pending(page, 2)
    await page.close()
