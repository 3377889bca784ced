"""An execution page's view state: the execution asked for (the path's uuid or id fragment on the
page, ``?execution=`` on its socket) and the workspaces its socket watches (``?workspace=``, read the
executions list's way). Never raises: a malformed reference is looked up as given (no match: 404)."""

from __future__ import annotations

import contextlib
import uuid as uuid_lib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.lib.identity import CurrentUser
from app.web.pages.executions.view import ExecutionView


@dataclass(frozen=True)
class DetailView:
    ref: str  # a uuid (canonical form on the socket) or an id fragment the lists show
    watched: ExecutionView  # whose workspace_ids the socket listens to

    @classmethod
    def from_path(cls, user: CurrentUser, ref: str, params: Mapping[str, Any]) -> DetailView:
        """The page: ``/executions/{ref}`` as typed (the lookup reads fragments too)."""
        return cls(ref, ExecutionView.from_query(user, params))

    @classmethod
    def from_query(cls, user: CurrentUser, params: Mapping[str, Any]) -> DetailView:
        """The page's socket: ``?workspace=…&execution=<uuid>``."""
        ref = params.get("execution") or ""
        with contextlib.suppress(ValueError):
            ref = str(uuid_lib.UUID(ref))
        return cls(ref, ExecutionView.from_query(user, params))

    @staticmethod
    def wanted(params: Mapping[str, Any]) -> bool:
        """Whether a socket's query names an execution (then it is an execution page's socket)."""
        return bool(params.get("execution"))
