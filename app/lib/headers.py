"""Security headers on every response, and the Origin check on the dashboard's unsafe requests.

The pages run under a strict Content-Security-Policy: scripts and styles only from our own origin
(no inline script, no ``eval``: htmx is configured with ``allowEval: false`` and without its
injected indicator styles), no framing, no plugins, forms and sockets only to ourselves. The API
documentation page (``/schema``, rendered by Litestar with ReDoc from a CDN and an inline
bootstrap script) gets its own, looser policy, still without ``unsafe-eval``.

HSTS is sent when ``SESSION_COOKIE_SECURE`` is on (the default, meaning "served over HTTPS");
browsers ignore it on plain HTTP anyway, and it stays off for deployments that turned Secure off.
"""

from __future__ import annotations

from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPResponseStartEvent, Message, Receive, Scope, Send

from app.config import Settings

PAGE_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
DOCS_CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline' https://cdn.redoc.ly https://cdn.jsdelivr.net",
        "style-src 'self' 'unsafe-inline' https://fonts.googleapis.com https://cdn.jsdelivr.net",
        "font-src 'self' https://fonts.gstatic.com",
        "img-src 'self' data: https:",
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
HSTS = "max-age=31536000; includeSubDomains"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def security_headers_hook(settings: Settings) -> Any:
    """A ``before_send`` hook: runs for every HTTP response, errors and unknown routes included."""
    static = [
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "DENY"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    ]
    if settings.session_cookie_secure:
        static.append(("Strict-Transport-Security", HSTS))

    async def add_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        for name, value in static:
            headers[name] = value
        path = scope.get("path", "")
        headers["Content-Security-Policy"] = DOCS_CSP if path.startswith("/schema") else PAGE_CSP

    return add_headers


def origin_allowed(origin: str | None, allowed: list[str]) -> bool:
    """Exact match of scheme://host[:port]; no suffix or prefix games, ``null`` never passes."""
    if not origin:
        return False
    return origin.rstrip("/") in allowed


class PageOriginMiddleware:
    """Refuse (403) an unsafe dashboard request sent by a page of another origin.

    Litestar's CSRF middleware checks the token; this adds the browser's own statement of where the
    request comes from: ``Origin`` (or, when a browser left it out, ``Sec-Fetch-Site``). Requests
    without either (scripts, curl) still need the CSRF token. The API (``/api/``) is exempt: it
    authenticates with bearer tokens, which a foreign page cannot send.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.allowed = settings.allowed_origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and scope.get("method", "GET") not in SAFE_METHODS:
            path = scope.get("path", "")
            if not path.startswith("/api/") and self._foreign(scope):
                await _refuse(send)
                return
        await self.app(scope, receive, send)

    def _foreign(self, scope: Scope) -> bool:
        headers = dict(scope.get("headers", []))
        origin = headers.get(b"origin")
        if origin is not None:
            return not origin_allowed(origin.decode("latin-1"), self.allowed)
        return headers.get(b"sec-fetch-site", b"") == b"cross-site"


async def _refuse(send: Send) -> None:
    body = b"<!doctype html><title>403 Forbidden</title><h1>403 Forbidden</h1><p>Cross-site request refused.</p>"
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": 403,
        "headers": [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(body)).encode())],
    }
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def allow_header_hook(message: Message, scope: Scope) -> None:
    """A ``before_send`` hook: ``OPTIONS`` answers list every method of the path.

    Litestar 2.25 builds a path's ``OPTIONS`` handler with the first route object of that path and
    keeps it when later handlers (``POST`` beside ``GET``, ``PUT``/``PATCH``/``DELETE`` beside
    ``GET``) rebuild the route, so its ``Allow`` header lists only the methods known then. The
    routes' own method sets are complete: answer from them."""
    if message["type"] != "http.response.start" or scope.get("method") != "OPTIONS":
        return
    template: str | None = scope.get("path_template")  # typed as always there; absent when no route matched
    if template is None:
        return
    methods = _route_methods(scope["app"]).get(template)
    if methods:
        MutableScopeHeaders.from_message(message)["Allow"] = methods


def _route_methods(app: Any) -> dict[str, str]:
    cached: dict[str, str] | None = getattr(app.state, "_allow_by_path", None)
    if cached is None:
        # Keyed like ``scope["path_template"]``: the path without its parameters' types
        # (``{execution_uuid}``, not ``{execution_uuid:uuid}``), else no path with an id would match.
        cached = {r.path_format: ", ".join(sorted(r.methods)) for r in app.routes if getattr(r, "methods", None)}
        app.state._allow_by_path = cached
    return cached
