"""The route table of the pages: one ``Page`` per page, its routes and its live behaviour.

Adding a page = a package here (controller, view state, live class) and one line in ``PAGES``.
The page socket's host (app/web/live.py) tries each page's ``LivePage.wants`` in this order, the
default live page (the executions list) last.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.web.approvals import ApprovalPages
from app.web.command_room import CommandRoomPages
from app.web.controllers import AuthPages, ExecutionPages
from app.web.insights import InsightsPages
from app.web.list_views import ListViewPages
from app.web.operations import OperationPages
from app.web.pages.account import AccountPages
from app.web.pages.approvals.live import ApprovalsLive
from app.web.pages.command_room.live import CommandRoomLive
from app.web.pages.execution_detail import ExecutionDetailActions
from app.web.pages.execution_detail.live import ExecutionDetailLive
from app.web.pages.executions.live import ExecutionsLive
from app.web.pages.live import LivePage
from app.web.pages.recent_failures import RecentFailuresLive, RecentFailuresPages
from app.web.trash_pages import AuditPages, TrashPages


@dataclass(frozen=True)
class Page:
    name: str
    routes: tuple[Any, ...] = ()
    live: type[LivePage] | None = None
    default: bool = False  # the live page of a socket no other page wants (tried last)


# Routes are mounted in this order, which is the order they had before the table (it is not
# indifferent: tests/test_listpage_cache.py's cached list page answers without a statement only so).
PAGES: tuple[Page, ...] = (
    Page("sign-in", (AuthPages,)),
    Page("executions", (ExecutionPages, ListViewPages), ExecutionsLive, default=True),
    Page("command-room", (CommandRoomPages,), CommandRoomLive),
    Page("approvals", (ApprovalPages,), ApprovalsLive),
    Page("execution", (ExecutionDetailActions,), ExecutionDetailLive),  # its page route is ExecutionPages'
    Page("insights", (InsightsPages,)),
    Page("trash", (TrashPages,)),
    Page("audit", (AuditPages,)),
    Page("operations", (OperationPages,)),
    Page("failures", (RecentFailuresPages,), RecentFailuresLive),
    Page("account", (AccountPages,)),
)

ROUTES: list[Any] = [route for page in PAGES for route in page.routes]
LIVE_PAGES: tuple[type[LivePage], ...] = tuple(
    page.live for page in sorted(PAGES, key=lambda p: p.default) if page.live is not None
)
