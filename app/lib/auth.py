"""Bearer-token authentication for the API (``Authorization: Bearer`` or ``X-Multiplai-Authorization``)."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from app.lib.identity import CurrentUser


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    for header in ("authorization", "x-multiplai-authorization"):
        value = connection.headers.get(header, "").strip()
        if not value:
            continue
        scheme, _, token = value.partition(" ")
        if token and scheme.lower() == "bearer":
            return token.strip()
        if header == "x-multiplai-authorization" and not token:
            return value
    return None


class TokenAuthMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        token = bearer_token(connection)
        if token is None:
            raise NotAuthorizedException("Authentication required: send 'Authorization: Bearer <token>'.")
        services = connection.app.state.services
        user: CurrentUser | None = await services.accounts.authenticate_token(token)
        if user is None:
            raise NotAuthorizedException("The token is invalid, expired or revoked.")
        await services.api_rate_limit.check(user.id)  # 429 with Retry-After past API_RATE_LIMIT
        return AuthenticationResult(user=user, auth=token)
