"""Accessibility in a real browser: axe-core finds no serious or critical violation on any page, in
the light and the dark theme, at a desktop and a phone's width (390 x 844), nor with a dialog or a
menu open (the approval's confirmation, the stop dialog, the saved views and columns menus); and the
sign-in page shows no app navigation and no live badge.

axe-core comes from npm (tests/browser/package.json; `npm ci --prefix tests/browser`, which .ci/run
does). It is injected with Playwright into a context that bypasses the CSP; the app's own CSP is
unchanged. The theme follows `prefers-color-scheme`, which the context emulates.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.browser.page_tour import open_page, seed_tour, sign_in
from tests.conftest import World, need_service
from tests.servers import AppServer

AXE = Path(__file__).parent / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.x A/AA rules and axe's best practices; "serious" and "critical" must be absent.
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  return result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 4).map(n => n.target.join(' ') + ' | ' + n.failureSummary.split('\\n')[1]),
    count: v.nodes.length,
  }));
}"""


@pytest.fixture
def axe_path() -> Path:
    if not AXE.exists():
        need_service("axe-core", f"{AXE} missing (npm ci --prefix tests/browser)")
    return AXE


async def axe_violations(page: Any, axe: Path) -> list[dict[str, Any]]:
    """Serious and critical violations on the page as it is now."""
    await page.add_script_tag(path=str(axe))
    return await page.evaluate(RUN_AXE)


VIEWPORTS = {"desktop": {"width": 1400, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_every_page_has_no_serious_axe_violation(
    browser: Any, server: AppServer, world: World, axe_path: Path, scheme: str, viewport: str
) -> None:
    tour = await seed_tour(server, world)
    context = await browser.new_context(viewport=VIEWPORTS[viewport], color_scheme=scheme, bypass_csp=True)
    page = await context.new_page()
    found: dict[str, list[dict[str, Any]]] = {}
    await open_page(page, server, "/sign-in")
    found["/sign-in"] = await axe_violations(page, axe_path)
    await sign_in(page, server, world.admin_a)
    for path in tour.paths:
        await open_page(page, server, path)
        found[path] = await axe_violations(page, axe_path)
    await context.close()
    failing = {path: v for path, v in found.items() if v}
    assert not failing, json.dumps(failing, indent=1)


async def _open_views_menu(page: Any) -> None:
    """The saved views menu, open, with a saved view in it (its buttons are what the menu adds)."""
    await page.click("#views-menu summary")
    await page.fill("#views-menu-body form.save-view input[name=name]", "Failing in A")
    await page.click("#views-menu-body form.save-view button[type=submit]")
    await page.locator("#views-menu-body .saved-view").first.wait_for()


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_open_dialogs_and_menus_have_no_serious_axe_violation(
    browser: Any, server: AppServer, world: World, axe_path: Path, scheme: str
) -> None:
    await seed_tour(server, world)
    found: dict[str, list[dict[str, Any]]] = {}
    for viewport in ("desktop", "phone"):
        context = await browser.new_context(viewport=VIEWPORTS[viewport], color_scheme=scheme, bypass_csp=True)
        page = await context.new_page()
        await sign_in(page, server, world.admin_a)

        await open_page(page, server, "/approvals")  # the seeded review is high risk: Approve asks
        await page.locator(".approval-item .ai-approve button[type=submit]").first.click()
        await page.locator("#approve-confirm").wait_for(state="visible")
        found[f"{viewport} approvals: confirm dialog"] = await axe_violations(page, axe_path)

        await open_page(page, server, "/executions")
        await page.locator("#execution-rows button:has-text('Stop')").first.click()
        await page.locator("#stop-dialog").wait_for(state="visible")
        found[f"{viewport} executions: stop dialog"] = await axe_violations(page, axe_path)

        await open_page(page, server, "/executions")
        await _open_views_menu(page)
        found[f"{viewport} executions: saved views menu"] = await axe_violations(page, axe_path)

        await open_page(page, server, "/executions")
        await page.click("#col-picker summary")
        await page.locator("#col-picker .menu-body").wait_for(state="visible")
        found[f"{viewport} executions: columns menu"] = await axe_violations(page, axe_path)
        await context.close()
    failing = {where: v for where, v in found.items() if v}
    assert not failing, json.dumps(failing, indent=1)


async def test_sign_in_page_shows_no_app_navigation_and_no_live_badge(browser: Any, server: AppServer) -> None:
    page = await browser.new_page(viewport={"width": 1400, "height": 900})
    await page.goto(f"{server.base_url}/executions")
    assert "/sign-in" in page.url
    assert await page.locator("nav.mainnav, #conn, .whoami").count() == 0
    assert "offline" not in (await page.inner_text("body")).lower()
    # The brand still says where you are, and the form has a main landmark around it.
    assert await page.locator("header .brand").count() == 1
    assert await page.locator("main form input[name=email]").count() == 1
