"""Browser sessions: a revocable server-side token (an ApiToken row) in an HttpOnly cookie."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.plugins.htmx import ClientRedirect
from litestar.response import Redirect

from app.lib.identity import CurrentUser
from app.services import Services
from app.web.htmx import htmx

SESSION_COOKIE = "athena_session"
SESSION_LIFETIME = dt.timedelta(hours=12)


class SignInRequired(Exception):
    """Raised by page handlers; answered with a redirect to /sign-in?next=<the page asked for>."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


def session_cookie(token: str, *, secure: bool) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        secure=secure,
        samesite="lax",
    )


def cleared_session_cookie(*, secure: bool) -> Cookie:
    return Cookie(key=SESSION_COOKIE, value="", max_age=0, path="/", httponly=True, secure=secure, samesite="lax")


async def session_user(connection: ASGIConnection[Any, Any, Any, Any]) -> CurrentUser | None:
    token = connection.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    services: Services = connection.app.state.services
    return await services.accounts.authenticate_session(token)


async def provide_page_user(request: Request[Any, Any, Any]) -> CurrentUser:
    user = await session_user(request)
    if user is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(target)
    return user


def sign_in_redirect(request: Request[Any, Any, Any], exc: SignInRequired) -> Response[Any]:
    location = f"/sign-in?next={quote(exc.next_url, safe='')}"
    if htmx(request):
        # htmx would swap the sign-in page into a fragment; make it navigate instead.
        return ClientRedirect(location)
    return Redirect(location, status_code=303)
