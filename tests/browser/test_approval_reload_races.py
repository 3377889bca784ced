"""The inbox's list reloads on every change; in headless Chromium, a reload that lands at the wrong
moment must not take a reviewer's decision away.

The root cause of a CI flake (test_approvals.py::test_keyboard_moves_approves_and_rejects on a
loaded machine): the reload brought by the first review's approval landed while the rejection of
the second was in flight. The reload replaced the second card, so htmx swapped the answer
("Rejected by you") into the detached old card: the review was rejected, the page never said so.
Here the requests are held with Playwright's routing, so the race happens every time.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tests.browser.test_approvals import api, request, sign_in, waiting
from tests.conftest import World
from tests.servers import AppServer


class Held:
    """Holds the browser's requests to one URL until released (the server sees them then)."""

    def __init__(self) -> None:
        self.arrived = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, route: Any) -> None:
        self.arrived.set()
        await self.release.wait()
        await route.continue_()


async def test_a_reload_during_my_rejection_keeps_the_card_it_answers(
    browser: Any, server: AppServer, world: World
) -> None:
    first = await request(server, world.operator_a, await waiting(server, world), "First review")
    second = await request(server, world.operator_a, await waiting(server, world), "Second review")
    page = await sign_in(browser, server, world.approver_a)
    held = Held()
    await page.route(f"**/approvals/{second['uuid']}/reject", held)

    await page.keyboard.press("j")
    await page.keyboard.press("j")
    await page.wait_for_selector(f"#approval-{second['uuid']}.kb-active")
    await page.keyboard.press("r")
    await page.keyboard.type("Wrong vendor")
    await page.keyboard.press("Enter")
    await asyncio.wait_for(held.arrived.wait(), 10)

    # While the rejection is on its way, two changes reload the list: a colleague approves the
    # first review and claims the second. The second card shows the claim, updated in place.
    await api(server, world.admin_a, "POST", f"/api/v1/workflow-approvals/{first['uuid']}/approve")
    await api(server, world.admin_a, "POST", f"/api/v1/workflow-approvals/{second['uuid']}/assign")
    card = page.locator(f"#approval-{second['uuid']}")
    await card.locator("dd:has-text('admin_a@example.test')").wait_for(timeout=5000)
    assert await page.input_value(f"#comment-{second['uuid']}") == "Wrong vendor"
    await page.locator(f"#approval-{first['uuid']}").wait_for(state="detached", timeout=8000)

    held.release.set()  # the answer lands on the card on screen
    await card.locator(".approval-done:has-text('Rejected by you')").wait_for(timeout=5000)
    decided = (await api(server, world.admin_a, "GET", f"/api/v1/workflow-approvals/{second['uuid']}"))["data"]
    assert (decided["status"], decided["comment"]) == ("rejected", "Wrong vendor")


async def test_a_reload_while_the_confirmation_is_open_still_approves_on_confirm(
    browser: Any, server: AppServer, world: World
) -> None:
    body = {"payload": {"vendor": "ACME", "currency": "EUR", "amount": 21840.0}, "high_risk": True}
    risky = await request(server, world.operator_a, await waiting(server, world), "Pay ACME", **body)
    page = await sign_in(browser, server, world.approver_a)
    card = page.locator(f"#approval-{risky['uuid']}")
    await card.locator("button:has-text('Approve')").click()
    dialog = page.locator("#approve-confirm")
    await dialog.wait_for(state="visible")

    # A colleague claims it while the dialog asks: the list reloads behind the dialog.
    await api(server, world.admin_a, "POST", f"/api/v1/workflow-approvals/{risky['uuid']}/assign")
    await card.locator("dd:has-text('admin_a@example.test')").wait_for(timeout=5000)
    await dialog.locator("button:has-text('Approve')").click()
    await card.locator(".approval-done:has-text('approval 1 of 2')").wait_for(timeout=5000)
    state = (await api(server, world.admin_a, "GET", f"/api/v1/workflow-approvals/{risky['uuid']}"))["data"]
    assert (state["status"], state["approvals_count"]) == ("pending", 1)
