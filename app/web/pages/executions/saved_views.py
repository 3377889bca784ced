"""The executions list's extras: saved views (the "Views" menu), the CSV export of a view, and
the earlier attempts of a retry chain. Thin handlers over ``DashboardService``."""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid as uuid_lib
from collections.abc import AsyncIterator
from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Stream, Template

from app.domain.dashboard.columns import COLUMNS, csv_value
from app.domain.dashboard.saved_views import SavedViewChanges
from app.domain.dashboard.services import DashboardService
from app.lib.errors import AppError
from app.lib.identity import CurrentUser
from app.web.errors import error_toast
from app.web.pages.executions.view import ExecutionView
from app.web.session import provide_page_user

PageUser = NamedDependency[CurrentUser]


def _flag(value: Any) -> bool | None:
    return None if value is None else str(value) in ("1", "true", "on")


async def _menu(user: CurrentUser, dashboard: DashboardService, query: str, note: str | None = None) -> Template:
    views = await dashboard.saved_views.list(user)
    context = {"saved_views": views, "current_query": query, "note": note}
    return Template("executions/_views_menu.html", context=context)


class ListViewPages(Controller):
    include_in_schema = False
    dependencies = {"user": Provide(provide_page_user)}

    @get("/executions/export.csv")
    async def export_csv(
        self, request: Request[Any, Any, Any], user: PageUser, dashboard_service: NamedDependency[DashboardService]
    ) -> Stream:
        """Every execution of the view (same filters, sort and tenant rules as the list, all pages),
        with the view's columns, streamed in batches."""
        view = ExecutionView.from_query(user, request.query_params)

        async def lines() -> AsyncIterator[str]:
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow([COLUMNS[c].label for c in view.columns])
            async for batch in dashboard_service.export_batches(view):
                for row in batch:
                    writer.writerow([_safe_cell(csv_value(c, row)) for c in view.columns])
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
            yield buffer.getvalue()

        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
        return Stream(
            lines(),
            media_type="text/csv",  # Litestar adds "; charset=utf-8" to text types
            headers={"Content-Disposition": f'attachment; filename="executions-{stamp}.csv"'},
        )

    @get("/executions/{execution_uuid:uuid}/chain", media_type=MediaType.HTML)
    async def retry_chain(
        self,
        user: PageUser,
        dashboard_service: NamedDependency[DashboardService],
        request: Request[Any, Any, Any],
        execution_uuid: FromPath[uuid_lib.UUID],
    ) -> Response[Any]:
        """The earlier attempts of a folded retry chain, as rows under the latest one."""
        try:
            attempts = await dashboard_service.retry_chain(user, execution_uuid)
        except AppError as exc:
            return error_toast(exc)
        view = ExecutionView.from_query(user, request.query_params)
        context = {"attempts": attempts, "view": view, "now": dt.datetime.now(dt.UTC), "latest": str(execution_uuid)}
        return Template("executions/_chain.html", context=context)

    @get("/saved-views", media_type=MediaType.JSON)
    async def list_saved_views(
        self, user: PageUser, dashboard_service: NamedDependency[DashboardService]
    ) -> dict[str, Any]:
        """My saved views and those shared in my workspaces (JSON)."""
        return {"data": await dashboard_service.saved_views.list(user)}

    @get("/saved-views/menu", media_type=MediaType.HTML)
    async def saved_views_menu(
        self, request: Request[Any, Any, Any], user: PageUser, dashboard_service: NamedDependency[DashboardService]
    ) -> Template:
        """The Views menu's body, loaded when the menu opens (``current``: the page's query)."""
        return await _menu(user, dashboard_service, request.query_params.get("current", ""))

    @post("/saved-views", media_type=MediaType.HTML)
    async def create_saved_view(
        self,
        user: PageUser,
        dashboard_service: NamedDependency[DashboardService],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response[Any]:
        """Save the current view (``query``) under ``name``; ``shared=1`` shares it with the
        workspace, ``default=1`` makes it my default. Answers the Views menu."""
        try:
            saved = await dashboard_service.saved_views.create(
                user, data.get("name"), data.get("query", ""), bool(_flag(data.get("shared")))
            )
            if _flag(data.get("default")):
                await dashboard_service.saved_views.set_default(user, uuid_lib.UUID(saved["uuid"]))
        except AppError as exc:
            return error_toast(exc)
        return await _menu(user, dashboard_service, data.get("query", ""), f"Saved “{saved['name']}”.")

    @post("/saved-views/{view_uuid:uuid}", media_type=MediaType.HTML)
    async def update_saved_view(
        self,
        user: PageUser,
        dashboard_service: NamedDependency[DashboardService],
        view_uuid: FromPath[uuid_lib.UUID],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response[Any]:
        """Rename (``name``), re-save with the current view (``query``) or share (``shared``)."""
        changes = SavedViewChanges(name=data.get("name"), query=data.get("query"), shared=_flag(data.get("shared")))
        try:
            await dashboard_service.saved_views.update(user, view_uuid, changes)
        except AppError as exc:
            return error_toast(exc)
        return await _menu(user, dashboard_service, data.get("current", ""), "View updated.")

    @post("/saved-views/{view_uuid:uuid}/delete", media_type=MediaType.HTML)
    async def delete_saved_view(
        self,
        user: PageUser,
        dashboard_service: NamedDependency[DashboardService],
        view_uuid: FromPath[uuid_lib.UUID],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response[Any]:
        try:
            await dashboard_service.saved_views.delete(user, view_uuid)
        except AppError as exc:
            return error_toast(exc)
        return await _menu(user, dashboard_service, data.get("current", ""), "View deleted.")

    @post("/saved-views/{view_uuid:uuid}/default", media_type=MediaType.HTML)
    async def default_saved_view(
        self,
        user: PageUser,
        dashboard_service: NamedDependency[DashboardService],
        view_uuid: FromPath[uuid_lib.UUID],
        data: URLEncodedBody[dict[str, str]],
    ) -> Response[Any]:
        """``on=1``: /executions with no query opens this view; ``on=0``: no default any more."""
        try:
            on = _flag(data.get("on")) is not False
            await dashboard_service.saved_views.set_default(user, view_uuid if on else None)
        except AppError as exc:
            return error_toast(exc)
        note = "Default view set." if on else "No default view."
        return await _menu(user, dashboard_service, data.get("current", ""), note)


def _safe_cell(value: str) -> str:
    """Spreadsheets run cells that start with = + - @ as formulas: quote them (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
