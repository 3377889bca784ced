"""``Page``: one page of the site as the route table (app/web/pages/__init__.py) lists it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.web.pages.live import LivePage


@dataclass(frozen=True)
class Page:
    """A page: its name, its controllers (mounted in order) and its live behaviour, if it has one."""

    name: str
    routes: tuple[Any, ...] = ()
    live: type[LivePage] | None = None
    default: bool = False  # the live page of a socket no other page wants (tried last)
