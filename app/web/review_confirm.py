"""What approving a high-risk review is confirmed with: the question the approve dialog asks
(static/confirm-approval.js), naming the review's title and amount. The inbox and the execution page
both ask it, for the button and for the keys that press it."""

from __future__ import annotations

from typing import Any

AMOUNT_KEYS = ("amount", "gross_total", "total", "current_arr")


def amount_label(payload: Any) -> str | None:
    """The review's headline amount ("EUR 12,480.00"), from the first amount-like key of a flat
    payload; None when there is none."""
    if not isinstance(payload, dict):
        return None
    for key in AMOUNT_KEYS:
        value = payload.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            currency = payload.get("currency")
            prefix = f"{currency} " if isinstance(currency, str) and currency else ""
            return f"{prefix}{value:,.2f}"
    return None


def approve_question(item: dict[str, Any]) -> str | None:
    """The confirmation a high-risk review's Approve asks (button and ``a`` key), naming its title
    and amount; None for a review that needs no confirmation."""
    if not item.get("high_risk"):
        return None
    amount = amount_label(item.get("payload"))
    about = f"“{item['title']}”" + (f" for {amount}" if amount and amount not in item["title"] else "")
    return f"Approve the high-risk review {about}?"
