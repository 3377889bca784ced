"""In a real browser, under the CSP: the same user signed in from two browsers (two contexts, two
cookies). The sessions page lists both, this browser's marked; "Sign out" of the other sends the
other to the sign-in page at its next page load; "Sign out everywhere" ends both."""

from __future__ import annotations

from typing import Any

from tests.browser.test_csp import RECORD_VIOLATIONS
from tests.conftest import World
from tests.servers import AppServer


async def sign_in(browser: Any, server: AppServer, email: str) -> Any:
    """A new browser context (its own cookies) signed in through the real form."""
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    page = await context.new_page()
    await page.goto(f"{server.base_url}/executions")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", "correct horse")
    await page.click("button[type=submit]")
    await page.wait_for_url("**/executions**")
    return page


async def browser_rows(page: Any) -> tuple[str, list[str]]:
    """(this browser's session uuid, the other browser sessions' uuids) as the page lists them."""
    here = await page.get_attribute("tr.session-current", "data-uuid")
    others = await page.locator("tr.session:not(.session-current):has-text('Browser session')").evaluate_all(
        "rows => rows.map(r => r.dataset.uuid)"
    )
    return here, others


async def test_sign_out_another_browser_then_everywhere(browser: Any, server: AppServer, world: World) -> None:
    email = world.operator_a.email
    first = await sign_in(browser, server, email)
    second = await sign_in(browser, server, email)
    violations: list[str] = []
    errors: list[str] = []
    await first.expose_function("reportCspViolation", lambda v: violations.append(v))
    await first.add_init_script(RECORD_VIOLATIONS)
    first.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    # The header's user name leads to the sessions page.
    await first.click("a.whoami")
    await first.wait_for_url("**/account")
    here, others = await browser_rows(first)
    assert here and len(others) == 1, (here, others)
    assert "this browser" in (await first.inner_text(f"#session-{here}")).lower()
    assert await first.locator("tr.session:has-text('API token')").count() == 1  # the tests' own token
    await second.goto(f"{server.base_url}/account")
    assert (await browser_rows(second))[0] == others[0]  # each browser sees itself as "this browser"

    # Sign out the other browser: the list swaps in place (htmx), the other is out at its next load.
    await first.click(f"#session-{others[0]} button")
    await first.wait_for_selector(".sessions-notice")
    assert await first.locator(f"#session-{others[0]}").count() == 0
    assert first.url.endswith("/account")
    await second.goto(f"{server.base_url}/executions")
    assert "/sign-in" in second.url

    # Sign in again there; then "Sign out everywhere" (after its confirmation) from the first.
    second = await sign_in(browser, server, email)
    await first.reload()
    assert len((await browser_rows(first))[1]) == 1
    first.once("dialog", lambda dialog: dialog.accept())
    await first.click("button:has-text('Sign out everywhere')")
    await first.wait_for_url("**/sign-in**")
    await first.goto(f"{server.base_url}/account")
    assert "/sign-in" in first.url
    await second.reload()
    assert "/sign-in" in second.url
    assert violations == [] and errors == [], (violations, errors)
