"""Browser tests: one Chromium per test process, a fresh browser context (or several) per test.

Launching Chromium (and Playwright's driver) for every test cost ~1.5 s of wall time and ~0.75 s of
CPU per test on an idle machine, more than the test's own pages often took. Chromium is now launched
once per test process and each test gets a ``TestBrowser``: ``new_page`` and ``new_context`` open
contexts of their own (cookies, storage, cache: nothing is shared between contexts), and every one
the test opened is closed when it ends.

Playwright's objects belong to the event loop that started them, so the browser tests and the async
fixtures they use (``app``, ``world``, ``browser``, ``signed_in_page``) run on the process's one
session-scoped loop; every other test keeps its own loop per test (``asyncio_default_*_loop_scope``).
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from app.config import Settings
from app.services import Services
from tests.conftest import World, built_app, need_service, seed_world
from tests.servers import AppServer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The browser tests run on the session's event loop, where the shared Chromium lives."""
    on_session_loop = pytest.mark.asyncio(loop_scope="session")
    for item in items:
        if pytest_asyncio.is_async_test(item) and HERE in Path(str(item.path)).parents:
            item.add_marker(on_session_loop, append=False)


# The conftest's app and world, built on the session loop like the tests that use them (a test that
# reads the database through ``services`` must use the engine on its own loop).
@pytest_asyncio.fixture(loop_scope="session")
async def app(settings: Settings) -> AsyncIterator[Any]:
    async with built_app(settings) as application:
        yield application


@pytest_asyncio.fixture(loop_scope="session")
async def world(services: Services) -> World:
    return await seed_world(services)


@pytest.fixture
def server(database_url: str, tmp_path: Path, world: World) -> Iterator[AppServer]:
    app_server = AppServer(database_url, None, tmp_path)
    app_server.start()
    yield app_server
    app_server.stop()


class Chromium:
    """The test process's Chromium, launched on first use (and again if it ever died)."""

    def __init__(self, playwright: Any) -> None:
        self.playwright = playwright
        self.instance: Any = None

    async def get(self) -> Any:
        if self.instance is None or not self.instance.is_connected():
            self.instance = await self.playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        return self.instance


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def chromium() -> AsyncIterator[Chromium]:
    if not shutil.which(CHROMIUM):
        need_service("Chromium", f"{CHROMIUM} not found (apt-get install chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        shared = Chromium(p)
        yield shared
        if shared.instance is not None:
            await shared.instance.close()


class TestBrowser:
    """What a test sees as ``browser``: Playwright's Browser, whose contexts close when the test ends.
    ``new_page`` opens a context of its own for its page, as Playwright's does."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, instance: Any) -> None:
        self._instance = instance
        self._contexts: list[Any] = []

    async def new_context(self, **options: Any) -> Any:
        context = await self._instance.new_context(**options)
        self._contexts.append(context)
        return context

    async def new_page(self, **options: Any) -> Any:
        page = await self._instance.new_page(**options)
        self._contexts.append(page.context)
        return page

    def __getattr__(self, name: str) -> Any:
        return getattr(self._instance, name)

    async def close_contexts(self) -> None:
        for context in self._contexts:
            await context.close()


@pytest_asyncio.fixture(loop_scope="session")
async def browser(chromium: Chromium) -> AsyncIterator[TestBrowser]:
    test_browser = TestBrowser(await chromium.get())
    yield test_browser
    await test_browser.close_contexts()


@pytest_asyncio.fixture(loop_scope="session")
async def signed_in_page(browser: TestBrowser, server: AppServer, world: World) -> Any:
    """A page signed in as operator_a through the real sign-in form."""
    page = await browser.new_page(viewport={"width": 1400, "height": 900})
    await page.goto(f"{server.base_url}/executions")
    assert "/sign-in" in page.url
    await page.fill("input[name=email]", world.operator_a.email)
    await page.fill("input[name=password]", "correct horse")
    await page.click("button[type=submit]")
    await page.wait_for_url("**/executions**")
    return page
