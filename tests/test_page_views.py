"""The view-state classes of the audit, sign-in, execution and bulk-operation pages: a malformed
URL or form value falls back (or answers the 422 the page showed before), never an exception a
user would see as a 500."""

from __future__ import annotations

import uuid

import httpx
import pytest

from app.db.models import Role
from app.lib.errors import FieldValidationError, ForbiddenError, NotFoundError
from app.lib.identity import CurrentUser, WorkspaceAccess
from app.web.pages.audit.view import NO_ROWS, AuditView
from app.web.pages.execution_detail.view import DetailView
from app.web.pages.operations.view import BulkForm, OperationsView
from app.web.pages.sign_in.view import FALLBACK_NEXT, SignInView
from tests.conftest import World
from tests.web_session import PageSession

WS_A, WS_B = uuid.uuid4(), uuid.uuid4()


def _user(*roles: Role) -> CurrentUser:
    access = {
        i + 1: WorkspaceAccess(i + 1, ws, f"ws{i}", 1, "org", role)
        for i, (ws, role) in enumerate(zip((WS_A, WS_B), roles, strict=False))
    }
    return CurrentUser(1, uuid.uuid4(), "op@example.test", "Op", "op", access=access)


def test_audit_view_shows_a_bad_filter_above_no_rows_and_keeps_what_was_typed() -> None:
    user = _user(Role.OPERATOR, Role.VIEWER)
    view = AuditView.from_query(user, {"execution_uuid": "not-a-uuid", "actor": "a@b.c", "page": "x"})
    assert view.filters == NO_ROWS and view.error and "execution_uuid" in view.error
    assert view.typed == {"actor": "a@b.c", "execution_uuid": "not-a-uuid", "date_from": "", "date_to": ""}
    assert view.page.page == 1 and view.last_page(0) == 1 and view.last_page(51) == 2
    for bad in ({"action": "nope"}, {"date_from": "2026-13-45"}, {"date_from": "2026-02-02", "date_to": "2026-01-01"}):
        assert AuditView.from_query(user, bad).error is not None
    ok = AuditView.from_query(user, {"action": "stop", "page": "3"})
    assert ok.error is None and ok.filters.workspace_ids == [1] and ok.page.page == 3  # the viewer's ws is left out
    # The CSV export has no page to show a message on: the same bad filter answers 422.
    with pytest.raises(FieldValidationError):
        AuditView.export_filters(user, {"execution_uuid": "not-a-uuid"})


def test_audit_view_still_refuses_access() -> None:
    with pytest.raises(ForbiddenError):
        AuditView.from_query(_user(Role.VIEWER), {})
    with pytest.raises(NotFoundError):
        AuditView.from_query(_user(Role.OPERATOR), {"workspace": str(uuid.uuid4())})


@pytest.mark.parametrize(
    ("asked", "kept"),
    [
        (None, ""),
        ("", ""),
        ("/approvals?x=1", "/approvals?x=1"),
        ("https://evil.example/", FALLBACK_NEXT),
        ("//evil.example/", FALLBACK_NEXT),
        ("/\\evil.example", FALLBACK_NEXT),
        ("executions", FALLBACK_NEXT),
    ],
)
def test_sign_in_view_keeps_only_local_next(asked: str | None, kept: str) -> None:
    assert SignInView.from_query({} if asked is None else {"next": asked}).next == kept


def test_detail_view_reads_the_path_and_the_socket_query() -> None:
    user = _user(Role.OPERATOR, Role.OPERATOR)
    exact = uuid.uuid4()
    assert DetailView.from_path(user, "a1b2", {}).ref == "a1b2"  # a fragment is looked up as typed
    socket = DetailView.from_query(user, {"execution": str(exact).upper(), "workspace": str(WS_B)})
    assert socket.ref == str(exact) and socket.watched.workspace_ids == [2]
    odd = DetailView.from_query(user, {"execution": "zz", "workspace": "nope"})
    assert odd.ref == "zz" and len(odd.watched.workspace_ids) == 1  # the list's fallback: one workspace
    assert DetailView.wanted({"execution": "x"}) and not DetailView.wanted({"page": "command-room"})


def test_operations_view_and_bulk_form() -> None:
    user = _user(Role.OPERATOR)
    assert OperationsView.from_query(user, {"page": "-3", "status": "bogus"}).matching.page == 1
    ids = [uuid.uuid4(), uuid.uuid4()]
    form = BulkForm.parse({"action": "stop", "ids": [str(i) for i in ids], "confirm_count": "1,204", "reason": "r"})
    assert form.ids == tuple(ids) and form.selection_uuid is None and form.confirm_count == 1204
    picked = BulkForm.parse({"action": "delete", "selection": str(ids[0]), "ids": "junk", "confirm_count": "x"})
    assert picked.selection_uuid == ids[0] and picked.ids == () and picked.confirm_count is None
    # Bad values answer the 422 naming the field the page's toast showed before, action first.
    for bad, field in (
        ({"action": "explode", "selection": "junk"}, "action"),
        ({"action": "stop", "selection": "junk"}, "selection"),
        ({"action": "stop", "ids": "junk"}, "ids"),
    ):
        with pytest.raises(FieldValidationError) as caught:
            BulkForm.parse(bad)
        assert field in caught.value.extra["errors"]


async def test_a_bulk_preview_with_nothing_ticked_is_a_toast_not_an_error_page(
    client: httpx.AsyncClient, world: World
) -> None:
    page = PageSession(client, world.operator_a)
    for path in ("/executions/bulk/preview", "/executions/bulk/run"):
        answer = await page.post(path, {"action": "stop"})
        assert answer.status_code == 422 and "Select at least one execution." in answer.text, (path, answer.text)
        assert answer.headers["hx-retarget"] == "#toasts"
