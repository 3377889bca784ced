"""The authenticated user as services see it: identity plus workspace memberships (tenant scope)."""

from __future__ import annotations

import uuid as uuid_lib
from dataclasses import dataclass, field

from app.db.models import Role
from app.lib.errors import ForbiddenError, NotFoundError

READ_ROLES = frozenset(Role)
OPERATE_ROLES = frozenset({Role.OPERATOR, Role.ADMIN})
APPROVE_ROLES = frozenset({Role.APPROVER, Role.ADMIN})


@dataclass(frozen=True)
class WorkspaceAccess:
    workspace_id: int
    workspace_uuid: uuid_lib.UUID
    workspace_name: str
    organization_id: int
    organization_multiplai_id: str
    role: Role


@dataclass(frozen=True)
class CurrentUser:
    id: int
    uuid: uuid_lib.UUID
    email: str
    name: str
    multiplai_id: str
    token_id: int | None = None
    access: dict[int, WorkspaceAccess] = field(default_factory=dict)

    @property
    def workspace_ids(self) -> list[int]:
        return sorted(self.access)

    def workspace_by_uuid(self, workspace_uuid: uuid_lib.UUID) -> WorkspaceAccess:
        for item in self.access.values():
            if item.workspace_uuid == workspace_uuid:
                return item
        raise NotFoundError("Workspace")

    def workspace_ids_of_organization(self, multiplai_id: str) -> list[int]:
        return sorted(a.workspace_id for a in self.access.values() if a.organization_multiplai_id == multiplai_id)

    def require(self, workspace_id: int, roles: frozenset[Role], resource: str = "Resource") -> WorkspaceAccess:
        """404 when the user is not a member (existence never leaks), 403 when the role is too weak."""
        access = self.access.get(workspace_id)
        if access is None:
            raise NotFoundError(resource)
        if access.role not in roles:
            allowed = ", ".join(sorted(r.value for r in roles))
            raise ForbiddenError(f"Your role '{access.role.value}' may not do this; it needs one of: {allowed}.")
        return access
