"""``POST /executions/{uuid}/retry``: the Retry button of a failed execution's page (the page
itself: controller.py)."""

from __future__ import annotations

import uuid as uuid_lib
from typing import Any

from litestar import Controller, MediaType, Request, Response, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath

from app.domain.operations.retry import request_retry
from app.lib.errors import AppError
from app.lib.identity import CurrentUser
from app.web.errors import error_toast
from app.web.page_context import detail_body
from app.web.session import provide_page_user


class ExecutionDetailActions(Controller):
    include_in_schema = False
    dependencies = {"user": Provide(provide_page_user)}

    @post("/executions/{execution_uuid:uuid}/retry", media_type=MediaType.HTML)
    async def retry(
        self,
        request: Request[Any, Any, Any],
        user: NamedDependency[CurrentUser],
        execution_uuid: FromPath[uuid_lib.UUID],
    ) -> Response[Any]:
        """Ask the engine to retry this failed execution (the bulk ``retry_request`` path, for one
        execution), then show the page with the request and, once the engine starts it, the retry.
        Refused with a toast (409 and why) when it cannot be retried, or was asked already."""
        services = request.app.state.services
        try:
            await request_retry(services.executions, user, execution_uuid)
        except AppError as exc:
            return error_toast(exc)
        return await detail_body(user, services.dashboard, execution_uuid)
