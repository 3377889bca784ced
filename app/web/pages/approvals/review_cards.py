"""What the inbox needs beyond the review itself: who decided a review elsewhere (a notice the
browser applies to the card, static/approvals.js) and what a high-risk approval is confirmed with.

The notice never replaces the card: the reviewer may be typing in it. The browser decides what to
do with it (mark the card decided and keep the draft, or let an untouched card fade out).
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment

from app.domain.events.message import EventMessage
from app.realtime.prepared import PreparedEvent

AMOUNT_KEYS = ("amount", "gross_total", "total", "current_arr")
DECIDED = ("approved", "rejected")


def decided_notice(event: PreparedEvent, env: Environment) -> str:
    """The ``approval.decided`` notice of one event (rendered once per event, shared by every
    inbox showing it): appended to ``#approval-notices``, which static/approvals.js reads."""

    def render(message: EventMessage) -> str:
        approval = message["execution"]["approval"]
        template = env.get_template("approvals/_decided_notice.html")
        return template.render(approval=approval, decided=approval.get("status") in DECIDED)

    return event.rendered("approval-decided-notice", render)


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
