"""Where is the execution this id names? For ``/executions/<id>`` and for a search that found
nothing in the workspaces on screen. Only the user's own workspaces are ever looked in: an id of
a workspace they do not belong to finds nothing, exactly like an id that does not exist."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models import Workflow, WorkflowExecution
from app.domain.executions.id_search import IdRef, id_match, parse_id_ref
from app.lib.identity import CurrentUser
from app.lib.timefmt import iso

E = WorkflowExecution
MAX_MATCHES = 20


@dataclass(frozen=True)
class Lookup:
    """The executions an id names among the user's workspaces (newest first, at most ``MAX_MATCHES``).
    ``exact``: the id was a whole uuid spelled canonically (the page can render it as is)."""

    matches: list[dict[str, Any]]
    exact: bool = False

    @property
    def single(self) -> dict[str, Any] | None:
        return self.matches[0] if len(self.matches) == 1 else None


async def find_by_id(
    session: AsyncSession, user: CurrentUser, ref: IdRef, workspace_ids: list[int] | None = None
) -> list[dict[str, Any]]:
    """Live executions ``ref`` names in ``workspace_ids`` (default: all of the user's), each with
    where it lives: ``uuid``, ``workspace_uuid``, ``workspace_name``, ``organization``,
    ``workflow_name``, ``status``, ``created_at``."""
    allowed = set(user.workspace_ids)
    scope = sorted(allowed if workspace_ids is None else allowed & set(workspace_ids))
    if not scope:
        return []
    dialect = session.get_bind().dialect.name
    rows = await session.execute(
        select(E.uuid, E.workspace_id, E.status, E.created_at, Workflow.name.label("workflow_name"))
        .join(Workflow, Workflow.id == E.workflow_id)
        .where(id_match(ref, dialect), E.deleted_at.is_(None), E.workspace_id.in_(scope))
        .order_by(E.created_at.desc(), E.id.desc())
        .limit(MAX_MATCHES)
    )
    out = []
    for r in rows:
        access = user.access[r.workspace_id]
        out.append(
            {
                "uuid": str(r.uuid),
                "workspace_uuid": str(access.workspace_uuid),
                "workspace_name": access.workspace_name,
                "organization": access.organization_multiplai_id,
                "workflow_name": r.workflow_name,
                "status": r.status,
                "created_at": iso(r.created_at),
            }
        )
    return out


async def lookup_ref(session: AsyncSession, user: CurrentUser, text: str) -> Lookup:
    """What ``/executions/<text>`` opens: the execution(s) a whole id or a fragment names."""
    ref = parse_id_ref(text)
    if ref is None:
        return Lookup([])
    matches = await find_by_id(session, user, ref)
    return Lookup(matches, exact=ref.whole is not None and ref.canonical == text)


async def elsewhere(
    session: AsyncSession, user: CurrentUser, search: str | None, shown_workspace_ids: list[int]
) -> list[dict[str, Any]]:
    """For a search that found nothing: the executions its id (whole or fragment) names in the
    user's *other* workspaces, so the page can say where they are. Not an id: nothing (no query)."""
    ref = parse_id_ref(search or "")
    if ref is None:
        return []
    others = [w for w in user.workspace_ids if w not in set(shown_workspace_ids)]
    return await find_by_id(session, user, ref, others) if others else []
