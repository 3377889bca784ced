"""The command room page and the flag / unflag actions, through the pages (session cookie + CSRF)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx

from app.lib.identity import CurrentUser
from app.realtime.prepared import PreparedEvent
from app.services import Services
from app.web.fragments import Fragments
from app.web.live import frames_for
from app.web.pages.command_room.live import CommandRoomLive
from app.web.pages.command_room.view import RoomView
from app.web.pages.live import PageState
from tests.conftest import API, Actor, World, create_execution
from tests.events import prepared_event
from tests.web_session import PageSession

ROOM = "/command-room"


async def flag_api(client: httpx.AsyncClient, actor: Actor, execution_uuid: str, note: str | None = None) -> str:
    body = {"execution_uuid": execution_uuid, "note": note}
    response = await client.post(f"{API}/command-room-tasks", json=body, headers=actor.headers)
    assert response.status_code == 201, response.text
    return response.json()["data"]["uuid"]


async def in_room(services: Services, execution_uuid: str) -> bool:
    """Whether the execution has an active command-room task, read straight from the database."""
    from sqlalchemy import func, select

    from app.db.models import CommandRoomTask, WorkflowExecution

    async with services.db.read() as session:
        count = await session.execute(
            select(func.count())
            .select_from(CommandRoomTask)
            .join(WorkflowExecution, WorkflowExecution.id == CommandRoomTask.execution_id)
            .where(WorkflowExecution.uuid == uuid.UUID(execution_uuid), CommandRoomTask.removed_at.is_(None))
        )
        return count.scalar_one() > 0


def task_ids(html: str) -> list[str]:
    return re.findall(r'id="task-([0-9a-f-]{36})"', html)


async def test_page_lists_only_flagged_executions_of_the_users_workspaces(
    client: httpx.AsyncClient, world: World
) -> None:
    flagged = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="running")
    quiet = await create_execution(client, world.operator_a, world.workflows["Customer onboarding"])
    foreign = await create_execution(client, world.operator_b, world.workflows["Invoice sync"], status="failed")
    mine = await flag_api(client, world.operator_a, flagged["uuid"], "Stuck on <review> & retries")
    theirs = await flag_api(client, world.operator_b, foreign["uuid"], "B's secret note")

    viewer = PageSession(client, world.viewer_a)
    page = await viewer.get(ROOM)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert task_ids(html) == [mine]
    assert f'href="/executions/{flagged["uuid"]}"' in html and "Invoice approval" in html
    assert flagged["uuid"][-8:] in html and "badge-running" in html
    assert world.operator_a.email in html
    assert "Stuck on &lt;review&gt; &amp; retries" in html  # the note, escaped
    assert quiet["uuid"] not in html and foreign["uuid"] not in html and "secret" not in html
    assert '<a href="/command-room" aria-current="page">' in html
    assert "/remove" not in html and "can-operate" not in html  # a viewer gets no Remove button
    # Asking for someone else's workspace shows one's own, never theirs.
    assert task_ids((await viewer.get(f"{ROOM}?workspace={world.ws['B']}")).text) == [mine]

    multi = PageSession(client, world.multi)  # viewer of A, operator of B, admin of C
    html = (await multi.get(ROOM)).text
    assert task_ids(html) == [theirs, mine]  # newest flag first, all workspaces by default
    assert f"/command-room/{theirs}/remove" in html and f"/command-room/{mine}/remove" not in html
    assert task_ids((await multi.get(f"{ROOM}?workspace={world.ws['B']}")).text) == [theirs]


async def test_empty_state_deleted_executions_and_the_live_partial(client: httpx.AsyncClient, world: World) -> None:
    operator = PageSession(client, world.operator_a)
    assert "Nothing in the command room" in (await operator.get(ROOM)).text
    execution = await create_execution(client, world.operator_a, world.workflows["Invoice approval"])
    task = await flag_api(client, world.operator_a, execution["uuid"])
    partial = await operator.get(ROOM, htmx_target="command-room-list")
    assert partial.text.lstrip().startswith('<section id="command-room-list"') and "<html" not in partial.text
    assert task_ids(partial.text) == [task] and "(no note)" in partial.text
    deleted = await client.delete(f"{API}/workflow-executions/{execution['uuid']}", headers=world.operator_a.headers)
    assert deleted.status_code < 300, deleted.text
    assert task_ids((await operator.get(ROOM)).text) == []


async def test_operator_flags_from_the_execution_page_then_removes(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    execution = await create_execution(client, world.operator_a, world.workflows["Invoice approval"])
    operator = PageSession(client, world.operator_a)
    detail = (await operator.get(f"/executions/{execution['uuid']}")).text
    assert f'hx-post="/executions/{execution["uuid"]}/flag"' in detail and "Flag for command room" in detail

    flagged = await operator.post(
        f"/executions/{execution['uuid']}/flag", {"note": "  Customer called twice  "}, htmx_target="detail-body"
    )
    assert flagged.status_code == 200, flagged.text
    assert flagged.text.lstrip().startswith('<section id="detail-body"') and "Remove from command room" in flagged.text
    assert await in_room(services, execution["uuid"])
    room = (await operator.get(ROOM)).text
    [task] = task_ids(room)
    assert "Customer called twice" in room and f'hx-post="/command-room/{task}/remove"' in room

    again = await operator.post(f"/executions/{execution['uuid']}/flag", {"note": ""})
    assert "already in the command room" in again.text and again.headers["hx-retarget"] == "#toasts"

    removed = await operator.post(f"{ROOM}/{task}/remove")
    assert removed.status_code == 200 and removed.text == ""
    assert task_ids((await operator.get(ROOM)).text) == []
    assert not await in_room(services, execution["uuid"])
    gone = await operator.post(f"{ROOM}/{task}/remove")
    assert "not found" in gone.text and gone.headers["hx-retarget"] == "#toasts"


async def test_remove_from_the_execution_page_answers_its_body(client: httpx.AsyncClient, world: World) -> None:
    execution = await create_execution(client, world.operator_a, world.workflows["Invoice approval"])
    task = await flag_api(client, world.operator_a, execution["uuid"], "look")
    operator = PageSession(client, world.operator_a)
    detail = (await operator.get(f"/executions/{execution['uuid']}")).text
    url = f"/command-room/{task}/remove?execution={execution['uuid']}"
    assert f'hx-post="{url}"' in detail
    body = await operator.post(url, htmx_target="detail-body")
    assert body.status_code == 200 and 'id="detail-body"' in body.text and "Flag for command room" in body.text


async def test_a_viewer_is_refused_and_nothing_changes(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    execution = await create_execution(client, world.operator_a, world.workflows["Invoice approval"])
    viewer = PageSession(client, world.viewer_a)
    detail = (await viewer.get(f"/executions/{execution['uuid']}")).text
    assert "/flag" not in detail and "Flag for command room" not in detail

    refused = await viewer.post(f"/executions/{execution['uuid']}/flag", {"note": "let me in"})
    assert refused.status_code == 403 and 'class="toast toast-error"' in refused.text
    assert "viewer" in refused.text and refused.headers["hx-retarget"] == "#toasts"
    assert not await in_room(services, execution["uuid"])

    task = await flag_api(client, world.operator_a, execution["uuid"], "ops only")
    refused = await viewer.post(f"{ROOM}/{task}/remove")
    assert refused.status_code == 403 and "toast" in refused.text
    assert task_ids((await viewer.get(ROOM)).text) == [task]

    outsider = PageSession(client, world.operator_b)  # another workspace: the task does not exist for them
    assert "not found" in (await outsider.post(f"{ROOM}/{task}/remove")).text
    assert task_ids((await viewer.get(ROOM)).text) == [task]


async def test_posts_without_the_csrf_token_are_refused(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    execution = await create_execution(client, world.operator_a, world.workflows["Invoice approval"])
    operator = PageSession(client, world.operator_a)
    response = await operator.post(f"/executions/{execution['uuid']}/flag", {"note": "x"}, csrf=False)
    assert response.status_code == 403
    assert not await in_room(services, execution["uuid"])
    task = await flag_api(client, world.operator_a, execution["uuid"])
    assert (await operator.post(f"{ROOM}/{task}/remove", csrf=False)).status_code == 403
    assert task_ids((await operator.get(ROOM)).text) == [task]


async def test_signed_out_visitors_are_sent_to_sign_in(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get(f"{ROOM}?workspace={world.ws['A']}")
    assert response.status_code == 303 and response.headers["location"].startswith("/sign-in?next=%2Fcommand-room")


async def _user(services: Services, actor: Actor) -> CurrentUser:
    user = await services.accounts.authenticate_token(actor.token)
    assert user is not None
    return user


def _event(workspace_id: int, seq: int, type_: str, execution: dict[str, Any]) -> PreparedEvent:
    return prepared_event(workspace_id, seq, type_, execution)


async def test_the_room_socket_refreshes_on_flags_and_flagged_executions_only(
    app: Any, services: Services, world: World
) -> None:
    user = await _user(services, world.multi)
    state = PageState(page=CommandRoomLive(RoomView.from_query(user, {})), uuid_of={})
    fragments = Fragments(app.template_engine.engine)
    ws_id = user.workspace_by_uuid(uuid.UUID(world.ws["A"])).workspace_id
    base = {"uuid": "00000000-0000-0000-0000-000000000001", "workspace_uuid": world.ws["A"], "status": "running"}

    def refreshes(event: PreparedEvent) -> bool:
        [frame] = frames_for(event, fragments, state)
        assert 'class="live-seq"' in frame  # the cursor always moves
        return 'id="command-room-refresh"' in frame

    assert refreshes(_event(ws_id, 1, "command_room.flagged", base | {"in_command_room": True}))
    assert refreshes(_event(ws_id, 2, "command_room.unflagged", base | {"in_command_room": False}))
    assert refreshes(_event(ws_id, 3, "execution.updated", base | {"in_command_room": True, "status": "failed"}))
    assert not refreshes(_event(ws_id, 4, "execution.updated", base | {"in_command_room": False}))
    event = _event(ws_id, 5, "command_room.flagged", base | {"in_command_room": True})
    before = PreparedEvent.renders
    frames_for(event, fragments, state)
    frames_for(event, fragments, state)
    assert PreparedEvent.renders - before == 2  # cursor + refresh, rendered once for every socket
    [frame] = frames_for(event, fragments, state)
    assert 'hx-get="/command-room"' in frame and 'hx-target="#command-room-list"' in frame
    # One workspace picked (?workspace=): the socket hears it alone and reloads that room.
    one = CommandRoomLive(RoomView.from_query(user, {"workspace": world.ws["A"]}))
    assert one.workspace_ids == [ws_id]
    assert f'hx-get="/command-room?workspace={world.ws["A"]}"' in one.resync(fragments)
