"""Demo reviews that show the approvers' features: a group of identical reviews (some overdue, two
triggered by the approver on a four-eyes workflow), and a high-risk review with its first of two
approvals already given. Kept apart from history.py, which builds the ordinary past."""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.demo.history import History
from app.domain.approvals.queries import payload_hash

GROUP_SIZE = 7
FIRST_APPROVAL_COMMENT = "Amount checked against the contract; needs a second pair of eyes."


def complete_approval_rows(history: History) -> None:
    """Hash, required and given approvals of every approval the history built (as the API would)."""
    for a in history.approvals:
        a["payload_hash"] = payload_hash(a["title"], a["description"], a["payload"])
        a["required_approvals"] = 2 if a["high_risk"] else 1
        a.setdefault("approvals_count", a["required_approvals"] if a["status"] == "approved" else 0)


def add_review_scenarios(history: History, approver_id: int, admin_id: int) -> set[int]:
    """Add the group and the half-approved high-risk review; returns the workflow ids that get the
    four-eyes rule."""
    candidates = [w for w in history.workflows if any(n.type == "approval" for n in w.graph.nodes.values())]
    if not candidates:
        return set()
    wf = candidates[0]
    shared: dict[str, Any] | None = None
    for i in range(GROUP_SIZE):
        hours = 26 + i if i < 3 else 2 + i  # three of them are past their 24 h due time
        row = history._execution(
            wf, history.now - dt.timedelta(hours=hours), mode=wf.spec.mode, fail_rate=0.0, until_review=True
        )
        if i < 2:
            row["user_id"] = approver_id  # the approver triggered these: four-eyes refuses them
        approval = next(a for a in reversed(history.approvals) if a["execution_uuid"] == row["uuid"])
        if shared is None:
            shared = {k: approval[k] for k in ("node_id", "title", "description", "payload")} | {"high_risk": False}
        approval.update(shared)
    complete_approval_rows(history)
    risky = [a for a in history.approvals if a["status"] == "pending" and a["high_risk"]]
    if risky:
        risky[0]["approvals_count"] = 1
        risky[0]["first_approved_by_id"] = admin_id
    return {wf.id}


def partial_audit_rows(history: History) -> list[tuple[dict[str, Any], int, str]]:
    """(approval, actor, comment) of first approvals given in the demo, for the audit trail."""
    return [
        (a, a["first_approved_by_id"], FIRST_APPROVAL_COMMENT)
        for a in history.approvals
        if a.get("first_approved_by_id")
    ]
