"""Saved views of the executions page: named URL queries per user, optionally shared with the
members of the view's workspace, one of them the user's default.

Tenant rules: a user sees their own views and the shared views of workspaces they belong to; any
other id answers 404. Only the owner renames, re-saves, shares or deletes a view (403 for a member
who sees it shared). A stored query is re-read through ``ExecutionFilter`` when opened, so a view
never shows more than its viewer's memberships allow."""

from __future__ import annotations

import uuid as uuid_lib
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from multidict import MultiDict
from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.engine import Database
from app.db.models import SavedView, SavedViewDefault, User
from app.domain.dashboard.views import ExecutionFilter
from app.lib.errors import FieldValidationError, ForbiddenError, NotFoundError
from app.lib.identity import CurrentUser
from app.lib.timefmt import iso

MAX_VIEWS_PER_USER = 100


@dataclass(frozen=True)
class SavedViewChanges:
    name: str | None = None
    query: str | None = None
    shared: bool | None = None


def _name(raw: str | None) -> str:
    name = (raw or "").strip()
    if not name or len(name) > 100:
        raise FieldValidationError("name", "Give the view a name of 1 to 100 characters.")
    return name


class SavedViewService:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _visible(self, user: CurrentUser) -> Any:
        return or_(
            SavedView.user_id == user.id,
            SavedView.shared.is_(True) & SavedView.workspace_id.in_(user.workspace_ids),
        )

    async def list(self, user: CurrentUser) -> list[dict[str, Any]]:
        """My views and the views shared in my workspaces, by name; ``default`` marks my default."""
        async with self.db.read() as session:
            rows = await session.execute(
                select(SavedView, User.email).join(User, User.id == SavedView.user_id).where(self._visible(user))
            )
            default_id = await self._default_id(session, user)
            return sorted(
                (self._dict(v, email, user, default_id) for v, email in rows), key=lambda d: d["name"].lower()
            )

    async def get(self, user: CurrentUser, view_uuid: uuid_lib.UUID) -> dict[str, Any]:
        async with self.db.read() as session:
            view, email = await self._load(session, user, view_uuid)
            return self._dict(view, email, user, await self._default_id(session, user))

    async def create(self, user: CurrentUser, name: str | None, query: str, shared: bool = False) -> dict[str, Any]:
        normalized, workspace_id = self._normalize(user, query, shared)
        async with self.db.write() as session:
            mine = (await session.execute(select(SavedView.id).where(SavedView.user_id == user.id))).all()
            if len(mine) >= MAX_VIEWS_PER_USER:
                raise FieldValidationError("name", f"You have {MAX_VIEWS_PER_USER} saved views; delete one first.")
            view = SavedView(
                user_id=user.id, workspace_id=workspace_id, name=_name(name), query=normalized, shared=shared
            )
            session.add(view)
            await session.flush()
            result = self._dict(view, user.email, user, await self._default_id(session, user))
        return result

    async def update(self, user: CurrentUser, view_uuid: uuid_lib.UUID, changes: SavedViewChanges) -> dict[str, Any]:
        async with self.db.write() as session:
            view, email = await self._load(session, user, view_uuid, owner=True)
            if changes.name is not None:
                view.name = _name(changes.name)
            shared = view.shared if changes.shared is None else changes.shared
            query = view.query if changes.query is None else changes.query
            view.query, view.workspace_id = self._normalize(user, query, shared)
            view.shared = shared
            await session.flush()
            return self._dict(view, email, user, await self._default_id(session, user))

    async def delete(self, user: CurrentUser, view_uuid: uuid_lib.UUID) -> None:
        async with self.db.write() as session:
            view, _ = await self._load(session, user, view_uuid, owner=True)
            await session.delete(view)

    async def set_default(self, user: CurrentUser, view_uuid: uuid_lib.UUID | None) -> None:
        """Make a visible view my default (None: no default any more)."""
        async with self.db.write() as session:
            await session.execute(delete(SavedViewDefault).where(SavedViewDefault.user_id == user.id))
            if view_uuid is not None:
                view, _ = await self._load(session, user, view_uuid)
                session.add(SavedViewDefault(user_id=user.id, saved_view_id=view.id))

    async def default_query(self, user: CurrentUser) -> str | None:
        """The query of my default view, if I have one I may still see."""
        async with self.db.read() as session:
            row = (
                await session.execute(
                    select(SavedView.query)
                    .join(SavedViewDefault, SavedViewDefault.saved_view_id == SavedView.id)
                    .where(SavedViewDefault.user_id == user.id, self._visible(user))
                )
            ).one_or_none()
        return row.query if row else None

    # ------------------------------------------------------------------ helpers
    async def _load(
        self, session: AsyncSession, user: CurrentUser, view_uuid: uuid_lib.UUID, owner: bool = False
    ) -> tuple[SavedView, str]:
        row = (
            await session.execute(
                select(SavedView, User.email)
                .join(User, User.id == SavedView.user_id)
                .where(SavedView.uuid == view_uuid, self._visible(user))
            )
        ).one_or_none()
        if row is None:
            raise NotFoundError("Saved view")
        if owner and row[0].user_id != user.id:
            raise ForbiddenError("Only the owner of a shared view may change or delete it.")
        return row[0], row[1]

    async def _default_id(self, session: AsyncSession, user: CurrentUser) -> int | None:
        return (
            await session.execute(select(SavedViewDefault.saved_view_id).where(SavedViewDefault.user_id == user.id))
        ).scalar_one_or_none()

    @staticmethod
    def _normalize(user: CurrentUser, query: str, shared: bool) -> tuple[str, int | None]:
        """The query as the page would write it (unknown values dropped, page reset), and its
        workspace: a view is shared with the members of the one workspace it shows."""
        params = MultiDict((k, v) for k, values in parse_qs(query or "").items() for v in values)
        view = ExecutionFilter.from_query(user, params)
        workspace_id = view.workspace_ids[0] if len(view.workspace_ids) == 1 else None
        if shared and workspace_id is None:
            raise FieldValidationError("shared", "Only a view of one workspace can be shared with its members.")
        return view.query(), workspace_id

    @staticmethod
    def _dict(view: SavedView, owner_email: str, user: CurrentUser, default_id: int | None) -> dict[str, Any]:
        return {
            "uuid": str(view.uuid),
            "name": view.name,
            "query": view.query,
            "shared": view.shared,
            "mine": view.user_id == user.id,
            "owner": owner_email,
            "default": view.id == default_id,
            "created_at": iso(view.created_at),
            "updated_at": iso(view.updated_at),
        }
