"""A decided card fades and leaves on time in a busy inbox (issue 19, approvers; seen in the demo).

Every change pushes a reload of the list, and a reload carries a kept card (a decided one) into the
new list: moving an element starts its CSS animations again, so in the demo's inbox (a reload every
second or two) "5 approved, 2 refused." stayed at full strength for as long as the reloads came.
Headless Chromium, 1,400 x 900."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.browser.test_approvals import request, sign_in, waiting
from tests.conftest import World
from tests.servers import AppServer


async def test_my_decided_card_fades_and_leaves_while_reloads_keep_coming(
    browser: Any, server: AppServer, world: World
) -> None:
    decided = await request(server, world.operator_a, await waiting(server, world), "Pay ACME invoice")
    page = await sign_in(browser, server, world.approver_a)
    item = page.locator(f"#approval-{decided['uuid']}")
    await item.wait_for()

    await item.locator("button:has-text('Approve')").click()
    await page.wait_for_selector(f"#approval-{decided['uuid']} .approval-done:has-text('Approved by you')")
    shown = time.monotonic()

    async def new_reviews() -> int:  # a busy inbox: a new review (and so a reload) every 0.7 s
        count = 0
        while True:
            await request(server, world.operator_a, await waiting(server, world), f"Review {count}")
            count += 1
            await asyncio.sleep(0.7)

    busy = asyncio.create_task(new_reviews())
    try:
        # The note shows for 3 s and fades over 0.6 s; the reloads in between must not start it again.
        await item.wait_for(state="detached", timeout=12_000)
        left_after = time.monotonic() - shown
    finally:
        busy.cancel()
    arrived = await page.locator("#approval-items > .approval-item").count()
    assert arrived >= 3, arrived  # the reloads did land while the note was shown
    assert left_after < 8, left_after
