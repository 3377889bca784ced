"""Identical reviews in the inbox: fold the page's items into groups, and the note a group decision
answers. The grouping itself (same workflow, node and payload hash) is the service's."""

from __future__ import annotations

from collections.abc import Callable
from html import escape
from typing import Any

from app.domain.approvals.services import group_key


def group_entries(
    items: list[dict[str, Any]],
    groups: dict[tuple[str, ...], list[dict[str, Any]]],
    shape: Callable[[dict[str, Any]], dict[str, Any]],
) -> list[dict[str, Any]]:
    """The page's entries in order: ``{"item": ...}`` for a lone review, ``{"item": first, "group":
    members}`` where identical reviews gather (at the place of the first of them on this page).
    Members include identical reviews from other pages, so the count is the whole group's."""
    entries: list[dict[str, Any]] = []
    seen: set[tuple[str, ...]] = set()
    for item in items:
        key = group_key(item)
        members = groups.get(key) if item.get("payload_hash") else None
        if not members:
            entries.append({"item": item})
            continue
        if key in seen:
            continue
        seen.add(key)
        shaped = [shape(m) for m in members]
        entries.append(
            {
                "item": item,
                "group": shaped,
                "group_id": key[2][:16],
                "overdue": sum(1 for m in shaped if m["overdue"]),
                "blocked": sum(1 for m in shaped if m["approve_blocked"]),
                "high_risk": sum(1 for m in shaped if m["high_risk"]),
            }
        )
    return entries


def group_note(result: dict[str, Any]) -> str:
    """What a group decision did: the summary, then each refusal with its reason."""
    refused = [i for i in result["items"] if i["outcome"] == "refused"]
    status = "approval-approved" if result["counts"]["approved"] or result["counts"]["rejected"] else "approval-refused"
    lines = "".join(
        f'<li><span class="mono">{escape(i["uuid"][-8:])}</span> {escape(i["message"])}</li>' for i in refused[:20]
    )
    more = f'<ul class="group-refusals">{lines}</ul>' if lines else ""
    return (
        f'<div class="approval-done group-done {status}" role="status"><p>{escape(result["summary"])}.</p>{more}</div>'
    )
