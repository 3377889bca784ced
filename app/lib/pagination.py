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


def paginated(request: Request[Any, Any, Any], data: list[Any], total: int, page: PageRequest) -> dict[str, Any]:
    last_page = max(1, math.ceil(total / page.per_page))
    path = str(request.url.with_replacements(query=""))

    def link(number: int) -> str:
        params = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
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
        },
        "links": {
            "first": link(1),
            "last": link(last_page),
            "prev": link(page.page - 1) if page.page > 1 else None,
            "next": link(page.page + 1) if page.page < last_page else None,
        },
    }


def _encode(params: list[tuple[str, str]]) -> str:
    from urllib.parse import urlencode

    return urlencode(params)
