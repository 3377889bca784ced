"""The stop dialog of the executions pages (issue 19 item 7): what a stop would cancel, named, and
the check that the numbers the user confirmed are still the numbers."""

from __future__ import annotations

import uuid as uuid_lib
from collections.abc import Mapping
from typing import Any

from litestar import Response
from litestar.plugins.htmx import HTMXTemplate

from app.domain.executions.services import ExecutionService, Includes
from app.domain.executions.stopping import StopPreview
from app.lib.identity import CurrentUser

TEMPLATE = "executions/_stop_dialog.html"


async def stop_dialog(
    user: CurrentUser, execution_uuid: uuid_lib.UUID, executions: ExecutionService, *, changed: bool = False
) -> Response[Any]:
    """The dialog as it is now; ``changed``: answered with 409 into the dialog slot, saying the
    numbers moved since the user opened it."""
    preview = await executions.preview_stop(user, execution_uuid)
    execution = await executions.get(user, execution_uuid, Includes())
    context = {"p": preview, "e": execution, "changed": changed}
    if not changed:
        return HTMXTemplate(template_name=TEMPLATE, context=context, media_type="text/html")
    return HTMXTemplate(
        template_name=TEMPLATE,
        context=context,
        re_target="#dialog-slot",
        re_swap="innerHTML",
        status_code=409,
        media_type="text/html",
    )


def _int(form: Mapping[str, Any], name: str) -> int | None:
    raw = form.get(name)
    return int(raw) if isinstance(raw, str) and raw.isdigit() and len(raw) < 10 else None


def confirmed_counts_changed(preview: StopPreview, form: Mapping[str, Any]) -> bool:
    """True when the form says which counts the user saw and they are no longer the counts a stop
    would apply now (a form without them, say from the API or an older page, is not checked)."""
    total, approvals = _int(form, "expect_total"), _int(form, "expect_approvals")
    if total is None or approvals is None:
        return False
    return (preview.total, preview.pending_approvals) != (total, approvals)
