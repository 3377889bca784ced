"""What the inbox needs beyond the review itself: who decided a review elsewhere (a notice the
browser applies to the card, static/approvals.js). What a high-risk approval is confirmed with is
app/web/review_confirm.py (the execution page asks it too).

The notice never replaces the card: the reviewer may be typing in it. The browser decides what to
do with it (mark the card decided and keep the draft, or let an untouched card fade out).
"""

from __future__ import annotations

from jinja2 import Environment

from app.realtime.prepared import PreparedEvent

DECIDED = ("approved", "rejected")


def decided_notice(event: PreparedEvent, env: Environment) -> str:
    """The ``approval.decided`` notice of one event (rendered once per event, shared by every
    inbox showing it): appended to ``#approval-notices``, which static/approvals.js reads."""

    return event.rendered(_render_approval_decided_notice, env)


def _render_approval_decided_notice(event: PreparedEvent, env: Environment) -> str:
    approval = event.message.execution.approval
    assert approval, "an approval.decided event carries its approval"
    template = env.get_template("approvals/_decided_notice.html")
    return template.render(approval=approval, decided=approval.get("status") in DECIDED)
