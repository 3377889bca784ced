"""Sign-in, logout and the authenticated user."""

from __future__ import annotations

import uuid as uuid_lib
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from app.domain.accounts.services import AccountService
from app.lib.identity import CurrentUser
from app.lib.timefmt import iso

REVOKE_DESCRIPTION = (
    "Revoke one of the caller's own API tokens or dashboard sessions, by the `uuid` that "
    "`GET /api/v1/user/tokens` lists (the token of this very request too). From then on it answers "
    "401, and its open WebSockets close with 4401 within `WS_AUTH_RECHECK_SECONDS` (2 s). "
    "404 when the uuid is not an unrevoked token of the caller: unknown, already revoked, or another "
    "user's (never revoked, and not told apart from an unknown one)."
)


class SignIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=320)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]


def user_payload(user: CurrentUser) -> dict[str, Any]:
    return {
        "id": user.id,
        "uuid": str(user.uuid),
        "multiplai_id": user.multiplai_id,
        "name": user.name,
        "email": user.email,
        "workspaces": [
            {
                "uuid": str(a.workspace_uuid),
                "name": a.workspace_name,
                "organization_multiplai_id": a.organization_multiplai_id,
                "role": a.role.value,
            }
            for a in sorted(user.access.values(), key=lambda a: a.workspace_name)
        ],
    }


class AuthController(Controller):
    path = "/auth"
    tags = ["Authentication"]

    @post("/sign-in", summary="Sign in", status_code=HTTP_200_OK, opt={"exclude_from_auth": True}, security=[{}])
    async def sign_in(
        self, request: Request[Any, Any, Any], account_service: NamedDependency[AccountService], data: JSONBody[SignIn]
    ) -> dict[str, Any]:
        """Exchange email and password for a bearer token (shown once; store it). It expires at
        ``expires_at`` (``TOKEN_LIFETIME_DAYS`` after its last use: each use pushes the end back).

        Attempts are limited per account and per client address (429 with ``Retry-After``)."""
        guard = request.app.state.services.sign_in_guard
        address = request.client.host if request.client else None
        await guard.attempt(data.email, address)
        token, expires_at, user = await account_service.sign_in_token(data.email, data.password)
        await guard.succeeded(data.email, address)
        body = {"token": token, "token_type": "Bearer", "expires_at": iso(expires_at), "user": user_payload(user)}
        return {"data": body}

    @post("/logout", summary="Logout", status_code=HTTP_200_OK)
    async def logout(
        self, request: Request[CurrentUser, Any, Any], account_service: NamedDependency[AccountService]
    ) -> dict[str, Any]:
        """Revoke the token used for this request."""
        if request.user.token_id is not None:
            await account_service.revoke_token(request.user.token_id)
        return {"message": "Logged out."}


class UserController(Controller):
    path = "/user"
    tags = ["User"]

    @get("/", summary="Get the authenticated user")
    async def me(self, request: Request[CurrentUser, Any, Any]) -> dict[str, Any]:
        """The token's user with their workspaces and roles."""
        return {"data": user_payload(request.user)}

    @get("/tokens", summary="List the user's tokens and sessions")
    async def tokens(
        self, request: Request[CurrentUser, Any, Any], account_service: NamedDependency[AccountService]
    ) -> dict[str, Any]:
        """The user's API tokens and dashboard sessions that are still valid, newest first (never
        their secrets): name, created, last used, expires; ``current`` marks the one of this request."""
        rows = await account_service.list_tokens(request.user.id, live=True)
        return {
            "data": [
                {
                    "uuid": str(r["uuid"]),
                    "name": r["name"],
                    "created_at": iso(r["created_at"]),
                    "last_used_at": iso(r["last_used_at"]),
                    "expires_at": iso(r["expires_at"]),
                    "current": r["id"] == request.user.token_id,
                }
                for r in rows
            ]
        }

    @delete(
        "/tokens/{token_uuid:uuid}",
        summary="Revoke one of the user's tokens or sessions",
        description=REVOKE_DESCRIPTION,
        status_code=HTTP_204_NO_CONTENT,
    )
    async def revoke_token(
        self,
        request: Request[CurrentUser, Any, Any],
        account_service: NamedDependency[AccountService],
        token_uuid: FromPath[uuid_lib.UUID],
    ) -> None:
        """See ``REVOKE_DESCRIPTION`` (the OpenAPI text): one of the caller's own tokens, else 404."""
        await account_service.revoke_tokens(request.user.id, token_uuid)
