"""The operator audit log as operators read it: filtered, newest first, paginated, or streamed as CSV.

Tenant scope: the workspaces where the user is operator or admin (a narrower ``workspace_uuid``
must be one of them). Reads one range of ``ix_operator_actions_ws_created`` per workspace."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid as uuid_lib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, and_, func, or_, select

from app.db.engine import Database
from app.db.models import OperatorAction, OperatorActionKind, User, Workspace
from app.lib.errors import FieldValidationError, ForbiddenError
from app.lib.identity import OPERATE_ROLES, CurrentUser
from app.lib.params import search_term
from app.lib.timefmt import iso, parse_date_param

OA = OperatorAction
ACTIONS: tuple[str, ...] = tuple(k.value for k in OperatorActionKind)
EXPORT_BATCH = 1000
CSV_COLUMNS = ["created_at", "workspace", "action", "actor", "execution_uuid", "operation_id", "reason", "detail"]


@dataclass(frozen=True)
class AuditFilters:
    workspace_ids: list[int]
    workspace_uuid: str | None = None
    action: str | None = None
    actor: str | None = None  # an email, case-insensitive
    execution_uuid: uuid_lib.UUID | None = None
    date_from: dt.datetime | None = None
    date_to: dt.datetime | None = None
    # Keyset position for the CSV export: rows strictly older than (created_at, id).
    before: tuple[dt.datetime, int] | None = None

    @classmethod
    def parse(cls, user: CurrentUser, params: Mapping[str, Any]) -> AuditFilters:
        """From query parameters (API and page alike); 422 naming the field, 404 a foreign workspace,
        403 for a user who operates nowhere."""
        operable = {a.workspace_id: a for a in user.access.values() if a.role in OPERATE_ROLES}
        ws_raw = (params.get("workspace_uuid") or params.get("workspace") or "").strip()
        workspace_ids, ws_uuid = sorted(operable), None
        if not operable and not ws_raw:  # with a workspace, a foreign one answers 404 first
            raise ForbiddenError("The audit log is for operators and admins.")
        if ws_raw:
            try:
                access = user.workspace_by_uuid(uuid_lib.UUID(ws_raw))
            except ValueError:
                raise FieldValidationError("workspace_uuid", "The workspace_uuid field must be a UUID.") from None
            if access.workspace_id not in operable:
                raise ForbiddenError("The audit log is for operators and admins.")
            workspace_ids, ws_uuid = [access.workspace_id], str(access.workspace_uuid)
        action = (params.get("action") or "").strip().lower() or None
        if action is not None and action not in ACTIONS:
            raise FieldValidationError("action", "The action field must be one of: " + ", ".join(ACTIONS) + ".")
        # A NUL is refused here: PostgreSQL cannot compare it, and the export fails only once its
        # CSV has begun streaming (a cut download, not a 422).
        actor = (search_term(params.get("actor"), "actor") or "").lower() or None
        if actor is not None and len(actor) > 320:
            raise FieldValidationError("actor", "The actor field must be an email of at most 320 characters.")
        exec_raw = (params.get("execution_uuid") or "").strip()
        try:
            execution_uuid = uuid_lib.UUID(exec_raw) if exec_raw else None
        except ValueError:
            raise FieldValidationError("execution_uuid", "The execution_uuid field must be a UUID.") from None
        raw_from, raw_to = (params.get("date_from") or "")[:40], (params.get("date_to") or "")[:40]
        date_from = parse_date_param("date_from", raw_from) if raw_from.strip() else None
        date_to = parse_date_param("date_to", raw_to, end_of_day=True) if raw_to.strip() else None
        if date_from and date_to and date_from > date_to:
            raise FieldValidationError("date_to", "The date_to field must be a date after or equal to date_from.")
        return cls(workspace_ids, ws_uuid, action, actor, execution_uuid, date_from, date_to)

    def conditions(self) -> list[ColumnElement[bool]]:
        conds: list[ColumnElement[bool]] = [OA.workspace_id.in_(self.workspace_ids)]
        if self.action:
            conds.append(OA.action == self.action)
        if self.actor:
            conds.append(OA.actor_id.in_(select(User.id).where(func.lower(User.email) == self.actor)))
        if self.execution_uuid:
            conds.append(OA.execution_uuid == self.execution_uuid)
        if self.date_from:
            conds.append(OA.created_at >= self.date_from)
        if self.date_to:
            conds.append(OA.created_at <= self.date_to)
        if self.before:
            at, row_id = self.before
            conds.append(or_(OA.created_at < at, and_(OA.created_at == at, OA.id < row_id)))
        return conds

    def query(self, **overrides: Any) -> str:
        """The page's URL state (the filters as they were given)."""
        state: dict[str, Any] = {
            "workspace": self.workspace_uuid,
            "action": self.action,
            "actor": self.actor,
            "execution_uuid": str(self.execution_uuid) if self.execution_uuid else None,
            "date_from": self.date_from.date().isoformat() if self.date_from else None,
            "date_to": self.date_to.date().isoformat() if self.date_to else None,
        } | overrides
        return urlencode([(k, str(v)) for k, v in state.items() if v not in (None, "")])


def _select() -> Any:
    return (
        select(
            OA.id,
            OA.created_at,
            OA.action,
            User.email.label("actor"),
            Workspace.uuid.label("workspace_uuid"),
            Workspace.name.label("workspace_name"),
            OA.execution_uuid,
            OA.operation_id,
            OA.reason,
            OA.detail,
        )
        .join(Workspace, Workspace.id == OA.workspace_id)
        .outerjoin(User, User.id == OA.actor_id)
    )


def _item(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "created_at": iso(row.created_at),
        "action": row.action,
        "actor": row.actor,
        "workspace_uuid": str(row.workspace_uuid),
        "workspace_name": row.workspace_name,
        "execution_uuid": str(row.execution_uuid) if row.execution_uuid else None,
        "operation_id": row.operation_id,
        "reason": row.reason,
        "detail": row.detail or {},
    }


def _cell(value: Any) -> str:
    """A CSV cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class AuditLogService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def page(self, filters: AuditFilters, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """One page, newest first, and the number of matching rows."""
        conds = filters.conditions()
        async with self.db.read() as session:
            total = (await session.execute(select(func.count()).select_from(OA).where(*conds))).scalar_one()
            rows = await session.execute(
                _select().where(*conds).order_by(OA.created_at.desc(), OA.id.desc()).limit(limit).offset(offset)
            )
            return [_item(r) for r in rows], int(total)

    async def csv_chunks(self, filters: AuditFilters) -> AsyncIterator[str]:
        """The whole filtered log as CSV, newest first, read in keyset batches (one short read
        transaction each, so a long download holds no transaction open)."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        yield out.getvalue()
        while True:
            async with self.db.read() as session:
                rows = (
                    await session.execute(
                        _select()
                        .where(*filters.conditions())
                        .order_by(OA.created_at.desc(), OA.id.desc())
                        .limit(EXPORT_BATCH)
                    )
                ).all()
            if not rows:
                return
            out.seek(0)
            out.truncate()
            for r in rows:
                item = _item(r)
                writer.writerow(
                    [
                        _cell(item["created_at"]),
                        _cell(item["workspace_name"]),
                        _cell(item["action"]),
                        _cell(item["actor"]),
                        _cell(item["execution_uuid"]),
                        _cell(item["operation_id"]),
                        _cell(item["reason"]),
                        _cell(json.dumps(item["detail"], sort_keys=True) if item["detail"] else ""),
                    ]
                )
            yield out.getvalue()
            if len(rows) < EXPORT_BATCH:
                return
            filters = replace(filters, before=(rows[-1].created_at, rows[-1].id))
