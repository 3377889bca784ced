"""``GET /failures``: thin: parse the view, ask the dashboard service, render."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Controller, MediaType, Request, get
from litestar.di import NamedDependency, Provide
from litestar.response import Template

from app.lib.identity import CurrentUser
from app.web.htmx import hx_target
from app.web.page_context import base_context
from app.web.pages.recent_failures.view import LIMIT, FailuresView
from app.web.session import provide_page_user

HERE = Path(__file__).parent
PAGE = (HERE / "page.html").read_text()
LIST = (HERE / "list.html").read_text()


class RecentFailuresPages(Controller):
    include_in_schema = False
    dependencies = {"user": Provide(provide_page_user)}

    @get("/failures", media_type=MediaType.HTML)
    async def failures(self, request: Request[Any, Any, Any], user: NamedDependency[CurrentUser]) -> Template:
        """The latest failed executions; the list reloads itself when one fails (see live.py)."""
        view = FailuresView.from_query(user, request.query_params)
        page = await request.app.state.services.dashboard.execution_page(view.executions)
        # The cursor: the socket keeps each workspace's last seq in it (replay after a reconnect).
        context = base_context(user) | {"view": view, "rows": page.rows[:LIMIT], "cursor": page.cursor}
        return Template(template_str=LIST if hx_target(request) == "failures-list" else PAGE, context=context)
