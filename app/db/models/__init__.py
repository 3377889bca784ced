"""ORM models. Import from here so Alembic sees every table."""

from app.db.models.accounts import ApiToken, Membership, Organization, Role, User, Workspace
from app.db.models.audit import OperatorAction, OperatorActionKind
from app.db.models.base import Base
from app.db.models.day_counts import execution_day_counts, execution_status_counts
from app.db.models.events import ExecutionEvent
from app.db.models.executions import (
    ApprovalAction,
    ApprovalAudit,
    CommandRoomTask,
    ExecutionStatus,
    WorkflowApproval,
    WorkflowExecution,
    WorkflowExecutionData,
)
from app.db.models.idempotency import IdempotencyKey
from app.db.models.operations import OPEN_OPERATION_STATUSES, Operation, OperationStatus
from app.db.models.saved_views import SavedView, SavedViewDefault
from app.db.models.workflows import Workflow

__all__ = [
    "OPEN_OPERATION_STATUSES",
    "ApiToken",
    "ApprovalAction",
    "ApprovalAudit",
    "Base",
    "CommandRoomTask",
    "ExecutionEvent",
    "ExecutionStatus",
    "IdempotencyKey",
    "Membership",
    "Operation",
    "OperationStatus",
    "OperatorAction",
    "OperatorActionKind",
    "Organization",
    "Role",
    "SavedView",
    "SavedViewDefault",
    "User",
    "Workflow",
    "WorkflowApproval",
    "WorkflowExecution",
    "WorkflowExecutionData",
    "Workspace",
    "execution_day_counts",
    "execution_status_counts",
]
