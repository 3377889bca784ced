"""The trash page's view state, from its URL: which workspace (one where the user operates, else all
of them: never an error page) and which page of the list."""

from __future__ import annotations

import uuid as uuid_lib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.lib.identity import OPERATE_ROLES, CurrentUser
from app.lib.pagination import PageRequest
from app.web.page_context import page_number

TRASH_PER_PAGE = 50


@dataclass(frozen=True)
class TrashView:
    workspace: uuid_lib.UUID | None  # None: every workspace where the user operates
    page: PageRequest

    @classmethod
    def from_query(cls, user: CurrentUser, params: Mapping[str, Any]) -> TrashView:
        page = PageRequest(page=page_number(params.get("page")), per_page=TRASH_PER_PAGE)
        return cls(_operated_workspace(user, params.get("workspace")), page)


def _operated_workspace(user: CurrentUser, raw: str | None) -> uuid_lib.UUID | None:
    try:
        wanted = uuid_lib.UUID(raw) if raw else None
    except ValueError:
        return None
    ok = any(a.workspace_uuid == wanted and a.role in OPERATE_ROLES for a in user.access.values())
    return wanted if ok else None
