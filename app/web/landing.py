"""Where a user lands after signing in (and on ``/``) when no ``next`` page was asked for."""

from __future__ import annotations

from app.db.models import Role
from app.lib.identity import OPERATE_ROLES, CurrentUser

EXECUTIONS = "/executions"
APPROVALS = "/approvals"


def landing_path(user: CurrentUser | None) -> str:
    """Approvers land on their inbox: a user who approves in a workspace and operates in none
    (their work is deciding reviews). Operators, admins, viewers and anyone else land on the
    executions list."""
    if user is None:
        return EXECUTIONS
    roles = {access.role for access in user.access.values()}
    if Role.APPROVER in roles and not roles & OPERATE_ROLES:
        return APPROVALS
    return EXECUTIONS
