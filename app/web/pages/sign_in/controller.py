"""``/sign-in`` and ``/sign-out``: the session cookie's lifecycle (the accounts service checks the
password, mints and revokes the token)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, MediaType, Request, get, post
from litestar.params import URLEncodedBody
from litestar.response import Redirect, Template

from app.lib.errors import AppError
from app.lib.ratelimit import RateLimited
from app.lib.security import HashingBusy
from app.web.landing import landing_path
from app.web.pages.sign_in.view import SignInView
from app.web.session import SESSION_LIFETIME, cleared_session_cookie, session_cookie, session_user


def _secure(request: Request[Any, Any, Any]) -> bool:
    secure: bool = request.app.state.services.settings.session_cookie_secure
    return secure


class AuthPages(Controller):
    include_in_schema = False

    @get("/sign-in", media_type=MediaType.HTML)
    async def sign_in_form(self, request: Request[Any, Any, Any]) -> Any:
        view = SignInView.from_query(request.query_params)
        user = await session_user(request)
        if user is not None:
            return Redirect(view.next or landing_path(user), status_code=303)
        # No next asked: the form sends none, and the user lands by role (app/web/landing.py).
        return Template("sign_in.html", context={"next": view.next, "error": None})

    @post("/sign-in", media_type=MediaType.HTML)
    async def sign_in(self, request: Request[Any, Any, Any], data: URLEncodedBody[dict[str, str]]) -> Any:
        services = request.app.state.services
        target = SignInView.from_query(data).next
        email, address = data.get("email", ""), request.client.host if request.client else None
        try:
            await services.sign_in_guard.attempt(email, address)
        except RateLimited as exc:
            context = {"next": target, "error": exc.message, "email": email}
            return Template("sign_in.html", context=context, status_code=429, headers=exc.headers)
        try:
            user_id = await services.accounts.check_password(email, data.get("password", ""))
        except HashingBusy as exc:
            context = {"next": target, "error": exc.message, "email": email}
            return Template("sign_in.html", context=context, status_code=503, headers=exc.headers)
        except AppError:
            context = {"next": target, "error": "Wrong email or password.", "email": email}
            return Template("sign_in.html", context=context, status_code=422)
        await services.sign_in_guard.succeeded(email, address)
        target = target or landing_path(await services.accounts.load_user(user_id))
        token = await services.accounts.create_token(
            user_id, name="web session", expires_at=dt.datetime.now(dt.UTC) + SESSION_LIFETIME
        )
        return Redirect(target, status_code=303, cookies=[session_cookie(token, secure=_secure(request))])

    @post("/sign-out", media_type=MediaType.HTML)
    async def sign_out(self, request: Request[Any, Any, Any]) -> Redirect:
        services = request.app.state.services
        user = await session_user(request)
        if user is not None and user.token_id is not None:
            await services.accounts.revoke_token(user.token_id)
        return Redirect("/sign-in", status_code=303, cookies=[cleared_session_cookie(secure=_secure(request))])
