"""Accessibility in a real browser: axe-core finds no serious or critical violation on any page, in
the light and the dark theme, and the sign-in page shows no app navigation and no live badge.

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


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_every_page_has_no_serious_axe_violation(
    browser: Any, server: AppServer, world: World, axe_path: Path, scheme: str
) -> None:
    tour = await seed_tour(server, world)
    context = await browser.new_context(viewport={"width": 1400, "height": 900}, color_scheme=scheme, bypass_csp=True)
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


async def test_sign_in_page_shows_no_app_navigation_and_no_live_badge(browser: Any, server: AppServer) -> None:
    page = await browser.new_page(viewport={"width": 1400, "height": 900})
    await page.goto(f"{server.base_url}/executions")
    assert "/sign-in" in page.url
    assert await page.locator("nav.mainnav, #conn, .whoami").count() == 0
    assert "offline" not in (await page.inner_text("body")).lower()
    # The brand still says where you are, and the form has a main landmark around it.
    assert await page.locator("header .brand").count() == 1
    assert await page.locator("main form input[name=email]").count() == 1
