"""The page's view model: plain rows built from ``AccountService.list_tokens`` (no ORM objects
reach the template)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.lib.timefmt import iso

# The names the app gives the tokens it mints (app/web/pages/executions/controller.py: the sign-in form; the API's
# sign-in, AccountService.sign_in_token); any other name was chosen with `athena tokens create`.
WEB_SESSION = "web session"
KINDS = {WEB_SESSION: "Browser session", "sign-in": "API sign-in"}


@dataclass(frozen=True)
class SessionRow:
    uuid: str
    name: str
    kind: str
    created_at: dt.datetime | None
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None
    current: bool  # the session of this very request: "this browser"

    @property
    def browser(self) -> bool:
        return self.name == WEB_SESSION

    def iso(self, field: str) -> str:
        return iso(getattr(self, field)) or ""


def session_rows(tokens: Iterable[Mapping[str, Any]], current_token_id: int | None) -> list[SessionRow]:
    """This browser first, then the others newest first (the order ``list_tokens`` gives)."""
    rows = [
        SessionRow(
            uuid=str(t["uuid"]),
            name=str(t["name"]),
            kind=KINDS.get(str(t["name"]), "API token"),
            created_at=t["created_at"],
            last_used_at=t["last_used_at"],
            expires_at=t["expires_at"],
            current=t["id"] == current_token_id,
        )
        for t in tokens
    ]
    return sorted(rows, key=lambda r: not r.current)  # stable: the rest keep their order
