"""Pages answer errors with a page that says what happened; the API keeps its JSON bodies."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from litestar import Request, Response
from litestar.plugins.htmx import HTMXTemplate
from litestar.response import Template
from markupsafe import Markup

from app.web.htmx import htmx

TITLES = {
    400: "Bad request",
    401: "Please sign in",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed here",
    409: "Conflict",
    422: "Check your input",
    429: "Slow down",
    503: "Temporarily unavailable",
}

# Autoescaped like every template: the message is text, never markup.
TOAST = '<div class="{{ css }}" role="{{ role }}">{{ message }}</div>{{ oob or "" }}'
Handler = Callable[[Request[Any, Any, Any], Any], Response[Any]]


def _is_page(request: Request[Any, Any, Any]) -> bool:
    path = request.url.path
    return not (path.startswith("/api/") or path.startswith("/schema") or path in ("/health", "/ready", "/metrics"))


def pages_get_html(handler: Handler) -> Handler:
    """Wrap a JSON exception handler: browsers on a page get error.html with the same status and message."""

    def handle(request: Request[Any, Any, Any], exc: Any) -> Response[Any]:
        response = handler(request, exc)
        if not _is_page(request):
            return response
        try:
            message = json.loads(response.content).get("message") if isinstance(response.content, bytes) else None
        except ValueError:
            message = None
        if message is None and isinstance(response.content, dict):
            message = response.content.get("message")
        status = response.status_code or 500  # an exception handler's response always sets one
        # Retry-After (503 during an outage, 429) tells a browser or a proxy when to come back, as for the API.
        retry = {"Retry-After": v} if (v := response.headers.get("Retry-After")) else None
        if htmx(request):
            page = toast(str(message or TITLES.get(status, "Something went wrong")), status=status)
            page.headers.update(retry or {})
            return page
        context = {"status": status, "title": TITLES.get(status, "Something went wrong"), "message": message}
        return Template("error.html", context=context, status_code=status, media_type="text/html", headers=retry)

    return handle


def toast(message: str, *, status: int = 200, error: bool = True, oob: Markup | None = None) -> Response[Any]:
    """A message in the page's toast area, whatever element asked (htmx retargets the swap). Errors
    keep their real status; base.html tells htmx to swap 4xx/5xx answers too. ``oob``: out-of-band
    markup sent with it (say the removal of the row the action was about)."""
    css, role = ("toast toast-error", "alert") if error else ("toast", "status")
    return HTMXTemplate(
        template_str=TOAST,
        context={"css": css, "role": role, "message": message, "oob": oob},
        re_target="#toasts",
        re_swap="beforeend",
        status_code=status,
        media_type="text/html",
    )


def error_toast(exc: Any) -> Response[Any]:
    """An AppError as a toast with its own status (404, 409, 403...)."""
    return toast(exc.message, status=exc.status_code)
