"""The sign-in page's view state: where to go once signed in (``?next=`` on the form's URL, the
hidden ``next`` field on its POST). Only a local path is kept; none asked means the user lands by
role (``app/web/landing.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

FALLBACK_NEXT = "/executions"


def safe_next(target: str | None) -> str:
    """Only local paths: ``next`` must never send a user to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return FALLBACK_NEXT
    return target


@dataclass(frozen=True)
class SignInView:
    next: str  # a local path, or "" when none was asked (the form then sends none)

    @classmethod
    def from_query(cls, params: Mapping[str, Any]) -> SignInView:
        """From the query string or the posted form (same field); an unsafe target falls back to
        ``FALLBACK_NEXT``, never to another site."""
        asked = params.get("next")
        return cls(safe_next(str(asked)) if asked else "")
