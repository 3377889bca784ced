"""The route table of the pages: one ``Page`` per page package, its routes and its live behaviour.

Adding a page = a package here (controller, view state, live class, its ``PAGE``) and one line in
``PAGES``. The page socket's host (app/web/live.py) tries each page's ``LivePage.wants`` in this
order, the default live page (the executions list) last.
"""

from __future__ import annotations

from typing import Any

from app.web.pages import (
    account,
    approvals,
    audit,
    command_room,
    execution_detail,
    executions,
    insights,
    operations,
    recent_failures,
    sign_in,
    trash,
)
from app.web.pages.live import LivePage
from app.web.pages.page import Page

# Routes are mounted in this order (it is not indifferent: tests/test_listpage_cache.py's cached
# list page answers without a statement only so).
PAGES: tuple[Page, ...] = (
    sign_in.PAGE,
    executions.PAGE,
    command_room.PAGE,
    approvals.PAGE,
    execution_detail.PAGE,
    insights.PAGE,
    trash.PAGE,
    audit.PAGE,
    operations.PAGE,
    recent_failures.PAGE,
    account.PAGE,
)

ROUTES: list[Any] = [route for page in PAGES for route in page.routes]
LIVE_PAGES: tuple[type[LivePage], ...] = tuple(
    page.live for page in sorted(PAGES, key=lambda p: p.default) if page.live is not None
)
