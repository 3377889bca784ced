"""Laravel-style pagination envelope (``data``/``meta``/``links``) as the seed API returns it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from litestar import Request

DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100


@dataclass(frozen=True)
class PageRequest:
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def paginated(
    request: Request[Any, Any, Any],
    data: list[Any],
    total: int,
    page: PageRequest,
    *,
    capped: bool | None = None,
    next_cursor: str | None = None,
) -> dict[str, Any]:
    """The envelope. Lists with a capped total pass ``capped`` (then ``meta.total_capped`` is
    present, and ``total``/``last_page`` are lower bounds when it is true) and the keyset cursor of
    the next page, which ``links.next`` carries along with its page number."""
    last_page = max(1, math.ceil(total / page.per_page))
    if capped:
        last_page = max(last_page, page.page + (1 if next_cursor else 0))
    path = str(request.url.with_replacements(query=""))

    def link(number: int, cursor: str | None = None) -> str:
        params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("page", "cursor")]
        if cursor:
            params.append(("cursor", cursor))
        params.append(("page", str(number)))
        return str(request.url.with_replacements(query=_encode(params)))

    first_item = page.offset + 1 if data else None
    return {
        "data": data,
        "meta": {
            "current_page": page.page,
            "from": first_item,
            "last_page": last_page,
            "per_page": page.per_page,
            "to": page.offset + len(data) if data else None,
            "total": total,
            "path": path,
            **({} if capped is None else {"total_capped": capped}),
        },
        "links": {
            "first": link(1),
            "last": link(last_page),
            "prev": link(page.page - 1) if page.page > 1 else None,
            "next": link(page.page + 1, next_cursor) if page.page < last_page else None,
        },
    }


def _encode(params: list[tuple[str, str]]) -> str:
    from urllib.parse import urlencode

    return urlencode(params)
