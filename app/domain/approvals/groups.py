"""Identical reviews and deciding many at once.

Reviews are identical when they share workflow, node and ``payload_hash`` (sha256 of the payload's
canonical JSON, stored at request time). The inbox shows them as one group; deciding a group
decides each review on its own through ``decisions.decide`` (its own transaction, audit row and
event), so every rule (four-eyes, two approvers, races) applies per item and refusals are reported
per item.
"""

from __future__ import annotations

import uuid as uuid_lib
from collections import Counter
from typing import Any

from app.domain.approvals import decisions
from app.domain.executions.services import ExecutionService
from app.lib.errors import AppError, FieldValidationError
from app.lib.identity import CurrentUser

MAX_GROUP = 500

# Why a review of a group was refused, as the summary says it.
REASONS = {
    "four_eyes": "you triggered them",
    "already_approved": "you already approved them",
    "decided": "already decided",
    "forbidden": "your role may not decide them",
    "not_found": "not found",
    "conflict": "no longer pending",
}


def _reason(exc: AppError) -> str:
    reason = exc.extra.get("reason")
    if isinstance(reason, str) and reason in REASONS:
        return reason
    if exc.status_code == 404:
        return "not_found"
    if exc.status_code == 403:
        return "forbidden"
    return "decided" if exc.extra.get("decided_by") else "conflict"


def summary_text(counts: Counter[str], refused: Counter[str]) -> str:
    """ "5 approved, 2 refused: you triggered them" (reasons by frequency)."""
    parts = [f"{counts[k]} {label}" for k, label in OUTCOME_LABELS if counts[k]]
    text = ", ".join(parts) or "nothing decided"
    if refused:
        text += ": " + ", ".join(
            f"{REASONS[r]}" if len(refused) == 1 else f"{n} {REASONS[r]}" for r, n in refused.most_common()
        )
    return text


OUTCOME_LABELS = (
    ("approved", "approved"),
    ("partially_approved", "approved once (need a second approver)"),
    ("rejected", "rejected"),
    ("refused", "refused"),
)


async def group_decide(
    svc: ExecutionService, user: CurrentUser, approval_uuids: list[uuid_lib.UUID], approve: bool, comment: str | None
) -> dict[str, Any]:
    """Decide each review in turn; one refusal never stops the others."""
    uuids = list(dict.fromkeys(approval_uuids))
    if not uuids:
        raise FieldValidationError("approval_uuids", "The approval_uuids field must name at least one approval.")
    if len(uuids) > MAX_GROUP:
        raise FieldValidationError("approval_uuids", f"At most {MAX_GROUP} approvals at once.")
    if not approve and not (comment and comment.strip()):
        raise FieldValidationError("comment", "The comment field is required to reject an approval.")
    results: list[dict[str, Any]] = []
    counts: Counter[str] = Counter()
    refused: Counter[str] = Counter()
    for approval_uuid in uuids:
        try:
            item = await decisions.decide(svc, user, approval_uuid, approve, comment)
        except AppError as exc:
            reason = _reason(exc)
            counts["refused"] += 1
            refused[reason] += 1
            results.append({"uuid": str(approval_uuid), "outcome": "refused", "reason": reason, "message": exc.message})
            continue
        outcome = item["status"] if item["status"] != "pending" else "partially_approved"
        counts[outcome] += 1
        results.append({"uuid": str(approval_uuid), "outcome": outcome, "approval": item})
    return {
        "summary": summary_text(counts, refused),
        "counts": {k: counts[k] for k, _ in OUTCOME_LABELS},
        "refused_reasons": dict(refused),
        "items": results,
    }
