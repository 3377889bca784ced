"""``/account``: the signed-in user's sessions and tokens; sign one out, or all of them.

Every form is a plain POST with the CSRF field (it works without JavaScript: a 303 back to the
page, or to the sign-in page) and an ``hx-post`` (htmx swaps the list in place, or navigates to the
sign-in page when this browser's own session ended)."""

from __future__ import annotations

import uuid as uuid_lib
from pathlib import Path
from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.plugins.htmx import ClientRedirect
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_200_OK

from app.lib.identity import CurrentUser
from app.web.htmx import htmx, hx_target
from app.web.page_context import base_context
from app.web.pages.account.view import session_rows
from app.web.session import cleared_session_cookie, provide_page_user

HERE = Path(__file__).parent
LIST = (HERE / "list.html").read_text()
PAGE = (HERE / "page.html").read_text().replace("{# list #}", LIST)  # one copy of the list markup
LIST_TARGET = "sessions"


def _signed_out_here(request: Request[Any, Any, Any]) -> Response[Any]:
    """This browser's session ended: the cookie goes, and the browser lands on the sign-in page
    (with htmx a full navigation, never the sign-in form swapped into the list)."""
    cookie = cleared_session_cookie(secure=request.app.state.services.settings.session_cookie_secure)
    if htmx(request):
        response: Response[Any] = ClientRedirect("/sign-in")
        response.set_cookie(cookie)
        return response
    return Redirect("/sign-in", status_code=303, cookies=[cookie])


class AccountPages(Controller):
    include_in_schema = False
    dependencies = {"user": Provide(provide_page_user)}

    async def _list(self, request: Request[Any, Any, Any], user: CurrentUser, notice: str | None) -> dict[str, Any]:
        tokens = await request.app.state.services.accounts.list_tokens(user.id, live=True)
        return {"sessions": session_rows(tokens, user.token_id), "notice": notice}

    @get("/account", media_type=MediaType.HTML)
    async def account(self, request: Request[Any, Any, Any], user: NamedDependency[CurrentUser]) -> Template:
        """The user's live sessions and tokens (name, kind, created, last used, expires), this
        browser's first and marked; the list alone for htmx (target ``sessions``)."""
        context = await self._list(request, user, None)
        if hx_target(request) == LIST_TARGET:
            return Template(template_str=LIST, context=context)
        return Template(template_str=PAGE, context=base_context(user) | context)

    @post("/account/sessions/{token_uuid:uuid}/sign-out", media_type=MediaType.HTML, status_code=HTTP_200_OK)
    async def sign_out_one(
        self, request: Request[Any, Any, Any], user: NamedDependency[CurrentUser], token_uuid: FromPath[uuid_lib.UUID]
    ) -> Response[Any]:
        """Sign out one session (or revoke one API token) of the user's own. Another user's or an
        unknown one is a 404, as on the API (``AccountService.revoke_tokens`` checks the owner)."""
        accounts = request.app.state.services.accounts
        live = {t["uuid"]: t for t in await accounts.list_tokens(user.id, live=True)}
        await accounts.revoke_tokens(user.id, token_uuid)
        target = live.get(token_uuid)
        if target is not None and target["id"] == user.token_id:
            return _signed_out_here(request)
        if not htmx(request):
            return Redirect("/account", status_code=303)
        notice = f"Signed out: {target['name']}." if target else "Signed out."
        return Template(template_str=LIST, context=await self._list(request, user, notice))

    @post("/account/sign-out-everywhere", media_type=MediaType.HTML, status_code=HTTP_200_OK)
    async def sign_out_everywhere(
        self, request: Request[Any, Any, Any], user: NamedDependency[CurrentUser]
    ) -> Response[Any]:
        """Revoke every session and API token of the user, this browser's too; lands on sign-in."""
        await request.app.state.services.accounts.revoke_tokens(user.id)
        return _signed_out_here(request)
