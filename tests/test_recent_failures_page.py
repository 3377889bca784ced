"""The "recent failures" page: a whole live page in one package (app/web/pages/recent_failures),
listed in the route table (app/web/pages/__init__.py) and hosted by the page socket like any other."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from app.realtime.prepared import PreparedEvent
from app.services import Services
from app.web.fragments import Fragments
from app.web.live import frames_for
from app.web.pages import LIVE_PAGES
from app.web.pages.live import PageState
from app.web.pages.recent_failures import RecentFailuresLive
from app.web.pages.recent_failures.view import FailuresView
from tests.conftest import World, create_execution
from tests.events import prepared_event
from tests.web_session import PageSession


async def test_the_page_lists_failed_executions_of_the_users_workspaces_only(
    client: httpx.AsyncClient, world: World
) -> None:
    failed = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="failed")
    await create_execution(client, world.operator_a, world.workflows["Customer onboarding"], status="running")
    await create_execution(client, world.operator_b, world.workflows["Invoice sync"], status="failed")
    page = PageSession(client, world.viewer_a)
    full = await page.get(f"/failures?workspace={world.ws['A']}")
    assert full.status_code == 200 and 'ws-connect="/ws/executions?page=failures&amp;workspace=' in full.text
    assert f'href="/executions/{failed["uuid"]}"' in full.text
    # The socket's cursor frames replace this element (no htmx:oobErrorNoTarget), and a reconnect replays from it.
    assert f'<i id="seq-{world.ws["A"]}" class="live-seq"' in full.text
    assert "Customer onboarding" not in full.text and "Invoice sync" not in full.text  # running; foreign
    fragment = await page.get(f"/failures?workspace={world.ws['A']}", htmx_target="failures-list")
    assert fragment.text.lstrip().startswith('<div id="failures-list">') and "<html" not in fragment.text
    # A foreign workspace falls back to the user's own, never an error.
    assert (await page.get(f"/failures?workspace={world.ws['B']}")).status_code == 200
    assert (await client.get("/failures")).status_code == 303  # signed out: to sign-in


async def test_a_failure_reloads_the_list_once_per_event_and_nothing_else_does(
    app: Any, services: Services, world: World
) -> None:
    user = await services.accounts.authenticate_token(world.viewer_a.token)
    assert user is not None
    view = FailuresView.from_query(user, {"workspace": world.ws["A"]})
    ws_id = user.workspace_by_uuid(uuid.UUID(world.ws["A"])).workspace_id
    fragments = Fragments(app.template_engine.engine)
    pages = [PageState(page=RecentFailuresLive(view), uuid_of={ws_id: world.ws["A"]}) for _ in range(5)]
    execution = {"uuid": str(uuid.uuid4()), "workspace_uuid": world.ws["A"], "status": "failed"}
    failed = prepared_event(ws_id, 3, "execution.status_changed", execution)
    before = PreparedEvent.renders_by_kind["failures"]
    frames = [frames_for(failed, fragments, state) for state in pages]
    assert all(f == frames[0] for f in frames) and 'hx-target="#failures-list"' in frames[0][0]
    assert PreparedEvent.renders_by_kind["failures"] - before == 1  # once per event, whatever the sockets
    running = prepared_event(ws_id, 4, "execution.status_changed", execution | {"status": "running"})
    [cursor_only] = frames_for(running, fragments, pages[0])
    assert "failures-refresh" not in cursor_only and 'class="live-seq"' in cursor_only
    # The socket host finds the page by its query, like every other page.
    assert next(p for p in LIVE_PAGES if p.wants({"page": "failures"})) is RecentFailuresLive
