"""Reading what htmx sent, through Litestar's htmx plugin (``HTMXPlugin`` makes every request an
``HTMXRequest``): page handlers ask ``hx_target(request)`` instead of reading ``HX-*`` headers."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.plugins.htmx import HTMXDetails


def htmx(request: Request[Any, Any, Any]) -> HTMXDetails:
    """The htmx details of a request (falsy unless htmx sent it)."""
    details = getattr(request, "htmx", None)
    return details if details is not None else HTMXDetails(request)


def hx_target(request: Request[Any, Any, Any]) -> str | None:
    """The id of the element an htmx request will swap into (None when htmx did not send it)."""
    details = htmx(request)
    return details.target if details else None
