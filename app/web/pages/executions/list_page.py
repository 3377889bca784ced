"""The executions page's body (everything under the top bar), rendered once per page data and
kind of viewer, and reused across requests.

The page's data already comes from ``DashboardService.pages`` while its workspaces have no new
event; rendering it (tiles, filters, 50 rows, pager) was then most of a request's CPU. The body
depends on the view, that data, and the viewer only through their workspaces and roles (the
workspace switch, which rows they may act on, the trash link), so viewers with the same access
share an entry. An entry is used only with the very page object it was rendered from: new data,
a new render. Durations of running rows tick in the browser, so the text a render put in them is
never more than the page data's age (2 s) behind.

The body is kept encoded and joined to the page's chrome (top bar, per user: name, badge, CSRF
token) as bytes: through a template variable the 90 KB body would be copied by escaping, joining
and encoding on every request.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment
from litestar import MediaType, Request, Response
from markupsafe import Markup

from app.domain.dashboard.pagecache import view_key
from app.domain.dashboard.services import ExecutionPage
from app.lib.identity import CurrentUser
from app.web.pages.executions.view import ExecutionView

BODY_TEMPLATE = "executions/_page.html"
PAGE_TEMPLATE = "executions/index.html"
BODY_SLOT = Markup("<!--athena:list-body-->")
MAX_ENTRIES = 256


def access_key(user: CurrentUser) -> tuple[Any, ...]:
    return tuple(
        sorted(
            (a.workspace_id, str(a.workspace_uuid), a.workspace_name, a.organization_multiplai_id, a.role.value)
            for a in user.access.values()
        )
    )


class ListPageBodies:
    def __init__(self) -> None:
        self._entries: dict[tuple[Any, ...], tuple[ExecutionPage, bytes]] = {}
        self.renders = 0

    def body(
        self, env: Environment, user: CurrentUser, view: ExecutionView, page: ExecutionPage, context: dict[str, Any]
    ) -> bytes:
        """The body for this view, page data and viewer; ``context`` is what a render needs."""
        key = (view_key(view), view.workspace_uuid, view.organization, access_key(user))
        entry = self._entries.get(key)
        if entry is not None and entry[0] is page:
            return entry[1]
        html = env.get_template(BODY_TEMPLATE).render(context).encode()
        self.renders += 1
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (page, html)
        return html

    def clear(self) -> None:
        self._entries.clear()


def page_response(
    request: Request[Any, Any, Any], env: Environment, chrome: dict[str, Any], body: bytes
) -> Response[bytes]:
    """``executions/index.html`` around ``body``: the chrome is rendered (small), the body joined in."""
    html = env.get_template(PAGE_TEMPLATE).render(chrome | {"request": request, "body": BODY_SLOT})
    before, slot, after = html.partition(BODY_SLOT)
    assert slot, "the page template must place {{ body }}"
    return Response(before.encode() + body + after.encode(), media_type=MediaType.HTML)
