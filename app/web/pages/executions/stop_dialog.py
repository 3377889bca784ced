"""The stop dialog of the executions pages (issue 19 item 7): what a stop would cancel, named, and
the check that the numbers the user confirmed are still the numbers; and the stop's answer, which
shows its outcome by itself (issue 19, operators: a stopped row never reads RUNNING for want of a
socket frame)."""

from __future__ import annotations

import uuid as uuid_lib
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from jinja2 import Environment
from litestar import Request, Response
from litestar.datastructures import MultiDict
from litestar.plugins.htmx import HTMXTemplate
from markupsafe import Markup

from app.domain.executions.services import ExecutionService, Includes
from app.domain.executions.stopping import StopPreview, StopResult
from app.lib.identity import CurrentUser
from app.web.fragments import Fragments
from app.web.htmx import htmx
from app.web.pages.executions.view import ExecutionView

TEMPLATE = "executions/_stop_dialog.html"
LEFT_VIEW = "no longer in this view"  # the socket's mark for a row that left the page's filters
STOPPED = '{{ shown }}<div class="toast" role="status">{{ message }}</div>'


async def stop_dialog(
    user: CurrentUser,
    execution_uuid: uuid_lib.UUID,
    executions: ExecutionService,
    *,
    changed: bool = False,
    note: str | None = None,
) -> Response[Any]:
    """The dialog as it is now. ``changed``: answered with 409 into the dialog slot, saying the
    numbers moved since the user opened it; ``note``: the same, saying why a stop was refused (say
    the execution finished meanwhile)."""
    preview = await executions.preview_stop(user, execution_uuid)
    execution = await executions.get(user, execution_uuid, Includes())
    context = {"p": preview, "e": execution, "changed": changed, "note": note}
    if not (changed or note):
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


def stopped_answer(
    request: Request[Any, Any, Any], env: Environment, user: CurrentUser, result: StopResult
) -> Response[Any]:
    """What the page shows once a stop is done, from the answer alone: a note naming what stopped,
    and the execution as it is now where the page shows it (its row on the list, rendered for the
    page's view and columns exactly as the socket would; the execution's own page reloads its body).
    The socket's frame for the same version is then a no-op; without it the page is still right."""
    execution = result.execution
    name = f"{execution.workflow_name or 'Execution'} {execution.uuid[-8:]}"
    if not result.stopped:
        message = f"{name} was already cancelled."
    else:
        others = len(result.cancelled_uuids)
        message = f"Stopped {name}." + (
            f" {others} other execution{'s' if others != 1 else ''} of its cascade cancelled." if others else ""
        )
    # The row rides in a <template> (a bare <tr> outside a table is dropped by the HTML parser; htmx
    # swaps out-of-band elements found in templates), before the note: the note stays the toast
    # area's last child, which is the one that fades.
    return HTMXTemplate(
        template_str=STOPPED,
        context={"shown": _where_shown(request, env, user, result), "message": message},
        re_target="#toasts",
        re_swap="beforeend",
        media_type="text/html",
    )


def _where_shown(request: Request[Any, Any, Any], env: Environment, user: CurrentUser, result: StopResult) -> Markup:
    current = urlsplit(htmx(request).current_url or "")
    execution = result.execution
    if current.path.rstrip("/") == f"/executions/{execution.uuid}":
        return Markup(Fragments(env).detail_refresh(execution.uuid))
    if current.path.rstrip("/") != "/executions":
        return Markup("")
    view = ExecutionView.from_query(user, MultiDict(parse_qsl(current.query, keep_blank_values=True)))
    workspace = next(
        (a.workspace_id for a in user.access.values() if str(a.workspace_uuid) == execution.workspace_uuid), 0
    )
    leaving = None if view.matches(execution.to_dict(), workspace) else LEFT_VIEW
    return (
        Markup("<template>") + Markup(Fragments(env).row_now(execution, view.columns, leaving)) + Markup("</template>")
    )
