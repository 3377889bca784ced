"""The execution status state machine."""

from __future__ import annotations

from app.db.models import ExecutionStatus as S
from app.lib.errors import ConflictError

TRANSITIONS: dict[S, frozenset[S]] = {
    S.PENDING: frozenset({S.RUNNING, S.CANCELLED}),
    S.RUNNING: frozenset({S.PAUSED, S.WAITING, S.COMPLETED, S.FAILED, S.CANCELLED}),
    S.PAUSED: frozenset({S.RUNNING, S.CANCELLED}),
    S.WAITING: frozenset({S.RUNNING, S.FAILED, S.CANCELLED}),
    S.COMPLETED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
}
TERMINAL = frozenset({S.COMPLETED, S.FAILED, S.CANCELLED})
STOPPABLE = frozenset({S.PENDING, S.RUNNING, S.PAUSED, S.WAITING})
ACTIVE = STOPPABLE
STATUS_VALUES = tuple(s.value for s in S)


def is_finished(status: str) -> bool:
    return S(status) in TERMINAL


def check_transition(current: str, requested: str) -> None:
    """409 naming both statuses when ``current -> requested`` is not allowed."""
    cur, req = S(current), S(requested)
    if req not in TRANSITIONS[cur]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[cur])) or "none (it is finished)"
        raise ConflictError(
            f"Cannot change status from '{cur.value}' to '{req.value}'. Allowed from '{cur.value}': {allowed}.",
            current_status=cur.value,
            requested_status=req.value,
        )
