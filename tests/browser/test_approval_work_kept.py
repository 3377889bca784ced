"""Issue 19 items 9 and 10 in headless Chromium, two approvers in two browser contexts.

A colleague's decision never wipes what I was doing: the card I work on stays, marked "Approved by
A at ...", with my draft kept read-only and its buttons disabled, the j/k highlight where it was,
and the nav badge equal to the page's count. The riskiest review gets the most friction: its data
open and its approval confirmed in a dialog (button and ``a`` key). Approvers land on /approvals.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from tests.browser.test_approvals import LIVE, api, badge_shows, request, sign_in, waiting
from tests.clock import clear_of_the_turn
from tests.conftest import World
from tests.servers import AppServer

PAGE_COUNT = "() => document.querySelector('#approvals-list .pager span').textContent.trim()"


async def page_says_pending(page: Any, count: int, within: float = 5000) -> None:
    """The pager's "N pending reviews" and the nav badge show the same number (``within``, ms: how long
    the pushes and the list's reload may take to bring it)."""
    text = f"{count} pending review{'' if count == 1 else 's'}"
    await page.wait_for_function(f"() => ({PAGE_COUNT})() === '{text}'", timeout=within)
    await badge_shows(page, count, within)


async def highlighted(page: Any) -> list[str]:
    return await page.eval_on_selector_all(".kb-active", "els => els.map(e => e.id)")


async def test_a_colleagues_decision_keeps_my_draft_my_highlight_and_the_counts(
    browser: Any, server: AppServer, world: World
) -> None:
    first, second, third = [
        await request(server, world.operator_a, await waiting(server, world), title)
        for title in ("First review", "Second review", "Third review")
    ]
    mine = await sign_in(browser, server, world.approver_a)  # B
    colleague = await sign_in(browser, server, world.admin_a)  # A, another browser context
    await page_says_pending(mine, 3)

    # B highlights the second review and types a rejection comment into it.
    await mine.keyboard.press("j")
    await mine.keyboard.press("j")
    card = mine.locator(f"#approval-{second['uuid']}")
    await mine.wait_for_selector(f"#approval-{second['uuid']}.kb-active")
    box = f"#comment-{second['uuid']}"
    await mine.click(box)
    await mine.keyboard.type("Wrong vendor: see ticket 4411")

    # A approves that review from their own inbox. B's notice gives a decision of today (UTC) its
    # clock time, an older one its date too: the decision and the notice (within the 5 s below) on
    # one day.
    await clear_of_the_turn(dt.timedelta(days=1), margin=dt.timedelta(seconds=15))
    await colleague.click(f"#approval-{second['uuid']} button:has-text('Approve')")
    await colleague.wait_for_selector(f"#approval-{second['uuid']} .approval-done:has-text('Approved by you')")

    # B's card stays in place, says who decided and when; the draft is intact, read-only; nothing can be sent.
    await mine.wait_for_selector(f"#approval-{second['uuid']}.is-decided", timeout=5000)
    banner = await card.locator(".ai-decided-banner").inner_text()
    assert re.search(r"Approved by admin_a@example\.test at \d\d:\d\d", banner), banner
    assert await mine.input_value(box) == "Wrong vendor: see ticket 4411"
    assert await mine.evaluate(f"document.querySelector('{box}').readOnly")
    assert await mine.evaluate(f"document.activeElement === document.querySelector('{box}')")  # focus kept
    for label in ("Approve", "Reject"):
        assert await card.locator(f"button:has-text('{label}')").is_disabled()
    assert await highlighted(mine) == [f"approval-{second['uuid']}"]
    ids = await mine.eval_on_selector_all("#approval-items .approval-item", "els => els.map(e => e.id)")
    assert ids == [f"approval-{a['uuid']}" for a in (first, second, third)]  # in place, nothing moved
    await page_says_pending(mine, 2)  # the badge and the page agree: the decided card is not counted

    # A later reload of the list (A claims the third review) keeps the decided card and the draft.
    await colleague.click(f"#approval-{third['uuid']} button:has-text('Claim')")
    await mine.wait_for_selector(f"#approval-{third['uuid']} dd:has-text('admin_a@example.test')", timeout=5000)
    assert await mine.input_value(box) == "Wrong vendor: see ticket 4411"
    assert await card.locator(".ai-decided-banner").count() == 1

    # "a" on the decided card approves nothing, least of all another review.
    await mine.locator("h1").click()  # leave the comment box so keys act on the list
    await mine.keyboard.press("a")
    await mine.wait_for_timeout(500)
    for other in (first, third):
        state = (await api(server, world.admin_a, "GET", f"/api/v1/workflow-approvals/{other['uuid']}"))["data"]
        assert state["status"] == "pending"
    assert await highlighted(mine) == [f"approval-{second['uuid']}"]

    # A decides the first review, which B is not working on: it says who and leaves; the highlight stays.
    await api(server, world.admin_a, "POST", f"/api/v1/workflow-approvals/{first['uuid']}/approve")
    gone = mine.locator(f"#approval-{first['uuid']}")
    assert "Approved by admin_a@example.test at" in await gone.locator(".approval-done").inner_text()
    await gone.wait_for(state="detached", timeout=8000)
    assert await highlighted(mine) == [f"approval-{second['uuid']}"]
    await page_says_pending(mine, 1)

    # B moves on: the card with the draft stays until dismissed; dismissing it keeps the highlight.
    await mine.keyboard.press("j")
    assert await highlighted(mine) == [f"approval-{third['uuid']}"]
    assert await card.count() == 1
    await card.locator("button:has-text('Dismiss')").click()
    await card.wait_for(state="detached")
    assert await highlighted(mine) == [f"approval-{third['uuid']}"]
    await page_says_pending(mine, 1)


async def test_a_decided_card_without_a_draft_leaves_when_the_highlight_moves_on(
    browser: Any, server: AppServer, world: World
) -> None:
    first = await request(server, world.operator_a, await waiting(server, world), "First review")
    second = await request(server, world.operator_a, await waiting(server, world), "Second review")
    mine = await sign_in(browser, server, world.approver_a)
    await mine.keyboard.press("j")
    await mine.wait_for_selector(f"#approval-{first['uuid']}.kb-active")

    await api(
        server, world.admin_a, "POST", f"/api/v1/workflow-approvals/{first['uuid']}/reject", json={"comment": "No"}
    )
    card = mine.locator(f"#approval-{first['uuid']}.is-decided")
    await card.wait_for(timeout=5000)  # highlighted, so it stays: "a" now cannot reach the next review
    assert "Rejected by admin_a@example.test at" in await card.inner_text()
    await mine.keyboard.press("a")
    await mine.wait_for_timeout(500)
    state = (await api(server, world.admin_a, "GET", f"/api/v1/workflow-approvals/{second['uuid']}"))["data"]
    assert state["status"] == "pending"

    await mine.keyboard.press("j")  # moving on leaves it behind
    await card.wait_for(state="detached")
    assert await highlighted(mine) == [f"approval-{second['uuid']}"]
    await page_says_pending(mine, 1)


async def test_a_high_risk_review_shows_its_data_and_asks_before_approving(
    browser: Any, server: AppServer, world: World
) -> None:
    lines = [{"description": f"Line {i}", "quantity": i, "unit_price": 1040.0} for i in range(1, 7)]
    payload = {"vendor": "ACME", "currency": "EUR", "amount": 21840.0, "lines": lines}
    risky = await request(
        server, world.operator_a, await waiting(server, world), "Pay ACME", payload=payload, high_risk=True
    )
    plain = await request(server, world.operator_a, await waiting(server, world), "Small one", payload={"lines": lines})
    page = await sign_in(browser, server, world.approver_a)
    card = page.locator(f"#approval-{risky['uuid']}")
    assert await card.locator("details.ai-json").get_attribute("open") is not None  # 30+ lines, open anyway
    assert await page.locator(f"#approval-{plain['uuid']} details.ai-json").get_attribute("open") is None

    await page.keyboard.press("j")
    await page.wait_for_selector(f"#approval-{risky['uuid']}.kb-active")
    await page.keyboard.press("a")
    dialog = page.locator("#approve-confirm")
    await dialog.wait_for(state="visible")
    question = await dialog.inner_text()
    assert "“Pay ACME”" in question and "EUR 21,840.00" in question, question
    assert await page.evaluate("document.activeElement.textContent.trim() === 'Cancel'")  # the safe default
    await page.keyboard.press("a")  # shortcuts do not act behind the dialog
    await page.keyboard.press("Escape")
    await dialog.wait_for(state="hidden")
    await page.wait_for_timeout(300)
    state = (await api(server, world.admin_a, "GET", f"/api/v1/workflow-approvals/{risky['uuid']}"))["data"]
    assert (state["status"], state["approvals_count"]) == ("pending", 0)
    assert await card.locator(".approval-done").count() == 0

    await card.locator("button:has-text('Approve')").click()  # the button asks too; this time confirm
    await dialog.wait_for(state="visible")
    await dialog.locator("button:has-text('Approve')").click()
    await page.wait_for_selector(f"#approval-{risky['uuid']} .approval-done:has-text('approval 1 of 2')")
    state = (await api(server, world.admin_a, "GET", f"/api/v1/workflow-approvals/{risky['uuid']}"))["data"]
    assert (state["status"], state["approvals_count"]) == ("pending", 1)

    # A small review needs no confirmation: "a" approves it at once.
    await page.wait_for_selector(f"#approval-{plain['uuid']}.kb-active")
    await page.keyboard.press("a")
    await page.wait_for_selector(f"#approval-{plain['uuid']} .approval-done:has-text('Approved by you')")
    assert not await dialog.is_visible()


async def test_a_rejection_leaves_the_same_trace_as_an_approval(browser: Any, server: AppServer, world: World) -> None:
    approved = await request(server, world.operator_a, await waiting(server, world), "To approve")
    rejected = await request(server, world.operator_a, await waiting(server, world), "To reject")
    page = await sign_in(browser, server, world.approver_a)
    traces = {}
    for item, verb, button in ((approved, "Approved", "Approve"), (rejected, "Rejected", "Reject")):
        if verb == "Rejected":
            await page.fill(f"#comment-{item['uuid']}", "Duplicate")
        await page.click(f"#approval-{item['uuid']} button:has-text('{button}')")
        note = page.locator(f"#approval-{item['uuid']} .approval-done")
        await note.wait_for(timeout=5000)
        # htmx marks fresh content "htmx-added" until it settles: not part of the trace.
        classes = " ".join(c for c in (await note.get_attribute("class") or "").split() if not c.startswith("htmx-"))
        traces[verb] = (await note.inner_text(), classes, await note.get_attribute("role"))
    assert traces == {
        "Approved": ("Approved by you.", "approval-done approval-approved", "status"),
        "Rejected": ("Rejected by you.", "approval-done approval-rejected", "status"),
    }
    await page_says_pending(page, 0)  # counted out at once, while the traces are still on screen
    for item in (approved, rejected):
        await page.locator(f"#approval-{item['uuid']}").wait_for(state="detached", timeout=8000)


async def test_approvers_land_on_their_inbox_after_signing_in(browser: Any, server: AppServer, world: World) -> None:
    async def land(email: str, path: str = "/sign-in") -> str:
        page = await browser.new_page()
        await page.goto(f"{server.base_url}{path}")
        await page.fill("input[name=email]", email)
        await page.fill("input[name=password]", "correct horse")
        await page.click("button[type=submit]")
        await page.wait_for_load_state("load")
        url = page.url.removeprefix(server.base_url)
        if url.startswith("/approvals") or url.startswith("/executions"):
            await page.wait_for_function(LIVE)
        await page.context.close()
        return url

    assert await land(world.approver_a.email) == "/approvals"
    assert await land(world.operator_a.email) == "/executions"
    assert await land(world.admin_a.email) == "/executions"
    assert await land(world.approver_a.email, "/command-room") == "/command-room"  # a next page still wins


async def test_a_card_decided_elsewhere_stops_saying_it_is_waiting(
    browser: Any, server: AppServer, world: World
) -> None:
    """Walked: the kept card said "Approved by admin at 00:32:24" above a "Waiting 3m 17s" that went on
    counting. Its clocks stop where the decision found them, and it says "Waited"."""
    kept, other = [
        await request(server, world.operator_a, await waiting(server, world), title)
        for title in ("Kept review", "Other review")
    ]
    mine = await sign_in(browser, server, world.approver_a)
    await page_says_pending(mine, 2)
    card = mine.locator(f"#approval-{kept['uuid']}")
    await mine.fill(f"#comment-{kept['uuid']}", "half-written rejection")
    await api(server, world.admin_a, "POST", f"/api/v1/workflow-approvals/{kept['uuid']}/approve")
    await mine.wait_for_selector(f"#approval-{kept['uuid']}.is-decided", timeout=5000)
    facts = card.locator(".ai-facts")
    frozen = await facts.inner_text()
    assert "Waited" in frozen and "Waiting" not in frozen, frozen
    # The page's clocks have ticked since (the other card's "Waiting" changed): the kept card's did not.
    ticking = f"#approval-{other['uuid']} .ai-facts [data-started]"
    was = await mine.inner_text(ticking)
    await mine.wait_for_function(f"was => document.querySelector('{ticking}').textContent !== was", arg=was)
    assert await facts.inner_text() == frozen
    assert await mine.input_value(f"#comment-{kept['uuid']}") == "half-written rejection"


async def test_a_colleagues_decision_on_the_execution_page_keeps_my_draft(
    browser: Any, server: AppServer, world: World
) -> None:
    """Walked: on the execution page, the review's comment box held my half-written rejection; a
    colleague decided the review and the page's refresh dropped the box, draft and all, without a word.
    The draft stays, read-only, with the review now saying who decided."""
    execution = await waiting(server, world)
    review, other = [await request(server, world.operator_a, execution, title) for title in ("Kept", "Other")]
    mine = await sign_in(browser, server, world.approver_a, f"/executions/{execution}")
    await mine.fill(f"#decide-comment-{review['uuid']}", "Wrong vendor: see ticket 4411")
    await mine.fill(f"#decide-comment-{other['uuid']}", "still pending, still mine")
    await api(server, world.admin_a, "POST", f"/api/v1/workflow-approvals/{review['uuid']}/approve")
    item = mine.locator(f"#detail-approval-{review['uuid']}")
    await item.locator(".badge-approval-approved").wait_for(timeout=5000)
    assert "admin_a@example.test" in await item.inner_text()
    kept = item.locator(".kept-draft")
    await kept.wait_for(timeout=2000)
    assert await kept.locator("textarea, input").input_value() == "Wrong vendor: see ticket 4411"
    assert await kept.locator("textarea, input").evaluate("b => b.readOnly")
    assert "Approved by admin_a@example.test" in await kept.inner_text()
    # The review still pending keeps its box as it was, editable.
    assert await mine.input_value(f"#decide-comment-{other['uuid']}") == "still pending, still mine"
    assert await item.locator(".kept-draft").count() == 1
    # The next refresh (the other review decided too) keeps the first draft and keeps the second.
    await api(
        server, world.admin_a, "POST", f"/api/v1/workflow-approvals/{other['uuid']}/reject", json={"comment": "no"}
    )
    second = mine.locator(f"#detail-approval-{other['uuid']} .kept-draft")
    await second.wait_for(timeout=5000)
    assert await second.locator("textarea").input_value() == "still pending, still mine"
    assert "Rejected by admin_a@example.test" in await second.inner_text()
    assert await kept.locator("textarea").input_value() == "Wrong vendor: see ticket 4411"
