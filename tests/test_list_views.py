"""The executions list's views (issue 9): columns, "needs attention" chips, folded retry chains,
saved views and the CSV export, as routes and services on the real database."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid
from typing import Any

import httpx
from sqlalchemy import update

from app.db.models import WorkflowExecution
from app.services import Services
from tests.approval_helpers import pending_approval
from tests.conftest import World, create_execution, patch_execution
from tests.events import prepared_event
from tests.web_session import PageSession

NOW = dt.datetime.now(dt.UTC)


def row_ids(html: str) -> list[str]:
    return re.findall(r'<tr id="row-([0-9a-f-]{36})"', html)


def chip_count(html: str, key: str) -> int:
    found = re.search(rf'chip-{key}[^>]*>[^<]*<span class="chip-count">([\d,]+)</span>', html)
    assert found is not None, key
    return int(found.group(1).replace(",", ""))


async def set_times(services: Services, execution_uuid: str, **values: Any) -> None:
    """Test setup only: move an execution's clock (the API never lets a client choose these)."""
    async with services.db.write() as session:
        await session.execute(
            update(WorkflowExecution).where(WorkflowExecution.uuid == uuid.UUID(execution_uuid)).values(**values)
        )


async def test_columns_come_from_the_url_and_include_run_metadata(client: httpx.AsyncClient, world: World) -> None:
    wf = world.workflows["Invoice approval"]
    data = {"metadata": {"retry_count": 3, "loop_index": 7, "error_count": 2}}
    created = await create_execution(client, world.operator_a, wf, status="running", execution_data=data)
    page = PageSession(client, world.viewer_a)
    html = (await page.get(f"/executions?workspace={world.ws['A']}&cols=status,retry_count,bogus,loop_index")).text
    header = html[html.index("<thead>") : html.index("</thead>")]
    assert re.findall(r'<th class="col-(\w+)"', header) == ["status", "retry_count", "loop_index"]
    row = html[html.index(f'id="row-{created["uuid"]}"') :].split("</tr>")[0]
    assert ">3</td>" in row and ">7</td>" in row and "badge-running" in row and "copy" not in row
    # The socket gets the same columns, so live rows render like the page's.
    ws_connect = re.search(r'ws-connect="([^"]+)"', html)
    assert ws_connect is not None and "cols=status%2Cretry_count%2Cloop_index" in ws_connect.group(1)
    # Default columns stay out of the URL.
    default = (await page.get(f"/executions?workspace={world.ws['A']}")).text
    assert "cols=" not in re.search(r'ws-connect="([^"]+)"', default).group(1)  # type: ignore[union-attr]


async def test_attention_chips_count_and_filter(client: httpx.AsyncClient, services: Services, world: World) -> None:
    wf, actor = world.workflows["Invoice approval"], world.operator_a
    failed = await create_execution(client, actor, wf, status="failed", error="boom")
    retried_ok = await create_execution(client, actor, wf, status="failed", error="boom")
    await patch_execution(client, actor, retried_ok["uuid"], retry_success_id=str(uuid.uuid4()))
    overdue_wait = await create_execution(client, actor, wf, status="waiting", wait_till="2020-01-01T00:00:00Z")
    await create_execution(client, actor, wf, status="waiting", wait_till="2999-01-01T00:00:00Z")
    parent = await create_execution(client, actor, wf, status="running")
    await patch_execution(client, actor, parent["uuid"], status="waiting")
    await create_execution(client, actor, wf, status="failed", parent_execution_uuid=parent["uuid"])
    late, _ = await pending_approval(client, actor, wf, due_at="2020-01-01T00:00:00Z")
    await pending_approval(client, actor, wf, due_at="2999-01-01T00:00:00Z")
    # Five completed runs of about a minute make the workflow's p95; one running for an hour is slow.
    for _ in range(5):
        done = await create_execution(client, actor, wf, status="completed")
        await set_times(services, done["uuid"], started_at=NOW - dt.timedelta(seconds=70), stopped_at=NOW)
    slow = await create_execution(client, actor, wf, status="running")
    await set_times(services, slow["uuid"], started_at=NOW - dt.timedelta(hours=1))
    await create_execution(client, actor, wf, status="running")  # just started

    page = PageSession(client, world.viewer_a)
    html = (await page.get(f"/executions?workspace={world.ws['A']}")).text
    # failed_unretried: `failed`, and the failed child (retried_ok has a retry_success_id)
    expected = {"failed_unretried": 2, "wait_overdue": 1, "child_failed": 1, "approval_overdue": 1, "slow": 1}
    assert {key: chip_count(html, key) for key in expected} == expected
    shown = {
        "failed_unretried": {failed["uuid"]},
        "wait_overdue": {overdue_wait["uuid"]},
        "child_failed": {parent["uuid"]},
        "approval_overdue": {late["uuid"]},
        "slow": {slow["uuid"]},
    }
    for key, uuids in shown.items():
        filtered = (await page.get(f"/executions?workspace={world.ws['A']}&attention={key}")).text
        assert set(row_ids(filtered)) <= uuids | {e for e in row_ids(filtered) if key == "failed_unretried"}
        assert uuids <= set(row_ids(filtered)), key
        assert f'class="chip chip-{key} active"' in filtered
    # Another tenant's counts do not include A's executions.
    other = (await PageSession(client, world.operator_b).get(f"/executions?workspace={world.ws['B']}")).text
    assert chip_count(other, "failed_unretried") == 0


async def chain(client: httpx.AsyncClient, world: World) -> list[dict[str, Any]]:
    wf, actor = world.workflows["Invoice approval"], world.operator_a
    first = await create_execution(client, actor, wf, status="failed", error="timeout")
    second = await create_execution(client, actor, wf, status="failed", retry_of=first["uuid"], mode="retry")
    third = await create_execution(client, actor, wf, status="completed", retry_of=second["uuid"], mode="retry")
    await patch_execution(client, actor, second["uuid"], retry_success_id=third["uuid"])
    return [first, second, third]


async def test_retry_chain_folds_into_its_latest_attempt(client: httpx.AsyncClient, world: World) -> None:
    first, second, third = await chain(client, world)
    alone = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="running")
    page = PageSession(client, world.viewer_a)
    html = (await page.get(f"/executions?workspace={world.ws['A']}")).text
    assert row_ids(html) == [alone["uuid"], third["uuid"]]
    assert "↻ 1 → 2 → 3 ✓" in html
    unfolded = (await page.get(f"/executions?workspace={world.ws['A']}&chains=all")).text
    assert set(row_ids(unfolded)) == {alone["uuid"], first["uuid"], second["uuid"], third["uuid"]}
    # The badge's fragment: the earlier attempts, oldest first, with the view's columns.
    fragment = (await page.get(f"/executions/{third['uuid']}/chain?cols=status,workflow")).text
    attempts = re.findall(r'<tr id="attempt-([0-9a-f-]{36})"', fragment)
    assert attempts == [first["uuid"], second["uuid"]] and "attempt 1" in fragment and "attempt 2" in fragment
    assert "<html" not in fragment and 'class="copy"' not in fragment
    # Another workspace's user: 404, as for a missing one.
    foreign = await PageSession(client, world.operator_b).get(f"/executions/{third['uuid']}/chain")
    assert foreign.status_code == 404


async def test_saved_views_per_user_shared_default_and_tenant_rules(client: httpx.AsyncClient, world: World) -> None:
    owner, member, outsider = (PageSession(client, a) for a in (world.operator_a, world.viewer_a, world.operator_b))
    query = f"workspace={world.ws['A']}&status=failed&cols=status,workflow,error_count&page=4&bogus=1"
    created = await owner.post("/saved-views", {"name": "Failing in A", "query": query, "shared": "1"})
    assert created.status_code == 200 and "Failing in A" in created.text
    mine = (await owner.get("/saved-views")).json()["data"]
    assert len(mine) == 1 and mine[0]["shared"] and mine[0]["mine"]
    view_id = mine[0]["uuid"]
    assert mine[0]["query"] == f"workspace={world.ws['A']}&status=failed&cols=status%2Cworkflow%2Cerror_count"
    # A member of A sees it shared and may make it their default; an outsider sees nothing.
    seen = (await member.get("/saved-views")).json()["data"]
    assert [v["uuid"] for v in seen] == [view_id] and not seen[0]["mine"]
    assert (await outsider.get("/saved-views")).json()["data"] == []
    assert (await outsider.post(f"/saved-views/{view_id}/default", {"on": "1"})).status_code == 404
    assert (await outsider.post(f"/saved-views/{view_id}/delete")).status_code == 404
    assert (await member.post(f"/saved-views/{view_id}/delete")).status_code == 403
    assert (await member.post(f"/saved-views/{view_id}/default", {"on": "1"})).status_code == 200
    # The default opens on a bare /executions, as a redirect: the URL carries the whole state.
    bare = await member.get("/executions")
    assert bare.status_code == 303 and bare.headers["location"] == f"/executions?{mine[0]['query']}"
    assert (await member.get(bare.headers["location"])).status_code == 200
    # Unshared, it leaves the member's list and no longer opens as their default.
    assert (await owner.post(f"/saved-views/{view_id}", {"shared": "0"})).status_code == 200
    assert (await member.get("/saved-views")).json()["data"] == []
    assert (await member.get("/executions")).status_code == 200
    # Bad input: 422 naming the field; an organization view cannot be shared with one workspace.
    nameless = await owner.post("/saved-views", {"name": " ", "query": query})
    assert nameless.status_code == 422 and "name" in nameless.text
    multi = PageSession(client, world.multi)  # org-1 holds two of multi's workspaces
    org_view = await multi.post("/saved-views", {"name": "Org", "query": "organization=org-1", "shared": "1"})
    assert org_view.status_code == 422 and "shared" in org_view.text.lower()
    assert (await owner.post(f"/saved-views/{view_id}/delete")).status_code == 200
    assert (await owner.get("/saved-views")).json()["data"] == []
    assert (await owner.post(f"/saved-views/{uuid.uuid4()}/delete")).status_code == 404


async def test_csv_export_streams_every_matching_row_with_the_view_columns(
    client: httpx.AsyncClient, world: World
) -> None:
    wf = world.workflows["Invoice approval"]
    failed = [await create_execution(client, world.operator_a, wf, status="failed", error="=cmd()") for _ in range(3)]
    running = [await create_execution(client, world.operator_a, wf, status="running") for _ in range(55)]
    await create_execution(client, world.operator_b, world.workflows["Invoice sync"], status="running")
    page = PageSession(client, world.viewer_a)
    response = await page.get(f"/executions/export.csv?workspace={world.ws['A']}&status=running&cols=id,status")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["ID", "Status"]
    # All 55 (more than a page), newest first like the list, only workspace A's, only running.
    assert [r[0] for r in rows[1:]] == [e["uuid"] for e in reversed(running)]
    assert {r[1] for r in rows[1:]} == {"running"}
    errors = await page.get(f"/executions/export.csv?workspace={world.ws['A']}&status=failed&cols=id,error")
    lines = list(csv.reader(io.StringIO(errors.text)))[1:]
    assert {r[0] for r in lines} == {e["uuid"] for e in failed} and {r[1] for r in lines} == {"'=cmd()"}
    # A workspace the user does not belong to falls back to their own (never another tenant's rows).
    foreign = await page.get(f"/executions/export.csv?workspace={world.ws['B']}&cols=workflow")
    assert "Invoice sync" not in foreign.text
    export_link = re.search(r'id="export-csv" [^>]*href="([^"]+)"', (await page.get("/executions?status=running")).text)
    assert export_link is not None and "status=running" in export_link.group(1)


async def test_live_rows_render_once_per_column_set_and_a_retry_folds_its_attempt(
    client: httpx.AsyncClient, app: Any, services: Services, world: World
) -> None:
    from app.realtime.prepared import PreparedEvent
    from app.web.fragments import Fragments
    from app.web.live import frames_for
    from app.web.pages.executions.live import ExecutionsLive
    from app.web.pages.executions.view import ExecutionView
    from app.web.pages.live import PageState

    user = await services.accounts.authenticate_token(world.viewer_a.token)
    assert user is not None
    wf = world.workflows["Invoice approval"]
    failed = await create_execution(client, world.operator_a, wf, status="failed")
    data = {"metadata": {"retry_count": 1}}
    retry = await create_execution(
        client, world.operator_a, wf, status="running", retry_of=failed["uuid"], execution_data=data
    )
    fragments = Fragments(app.template_engine.engine)
    narrow = ExecutionView.from_query(user, {"workspace": world.ws["A"], "cols": "status,retry_count"})
    wide = ExecutionView.from_query(user, {"workspace": world.ws["A"]})
    ws_id = wide.workspace_ids[0]
    summary = (await services.dashboard.execution_page(wide)).rows[0]
    assert summary["uuid"] == retry["uuid"] and summary["run_metadata"] == {"retry_count": 1}
    prepared = prepared_event(ws_id, 7, "execution.created", summary)
    before = PreparedEvent.renders_by_kind.copy()
    pages = [
        PageState(page=ExecutionsLive(view, {failed["uuid"]}), uuid_of={ws_id: world.ws["A"]})
        for view in [narrow, wide] * 10
    ]
    frames = [frames_for(prepared, fragments, state) for state in pages]
    rendered = PreparedEvent.renders_by_kind - before
    assert rendered["insert"] == 2 and rendered["remove-retried"] == 1  # one per column set, one removal
    narrow_frames, wide_frames = frames[0], frames[1]
    # Folded: the retried attempt leaves (its own frame), its retry slides in with the view's columns.
    assert narrow_frames[0] == f'<tr id="row-{failed["uuid"]}" hx-swap-oob="delete"></tr>'
    assert ">1</td>" in narrow_frames[1] and "copy" not in narrow_frames[1]
    assert "copy" in wide_frames[1] and "col-retry_count" not in wide_frames[1]
    assert all(failed["uuid"] not in s.page.visible and retry["uuid"] in s.page.visible for s in pages)
    # The chips ride with the tiles' once-a-second fragment, out of band.
    tiles = fragments.tiles(wide, await services.dashboard.tiles(wide))
    assert '<nav id="attention" class="attention" aria-label="Needs attention" hx-swap-oob="true">' in tiles
    assert chip_count(tiles, "failed_unretried") == 0  # the failed attempt was retried (folded away)


def test_live_twin_of_the_chips() -> None:
    from app.web.pages.executions.view import ExecutionView

    def view(*attention: str) -> ExecutionView:
        return ExecutionView(workspace_ids=[1], workspace_uuid=None, organization=None, attention=list(attention))

    failed = {"status": "failed", "retry_success_id": None, "created_at": "2026-01-01T00:00:00Z"}
    assert view("failed_unretried").matches(failed, 1)
    assert not view("failed_unretried").matches(failed | {"retry_success_id": "x"}, 1)
    waiting = {"status": "waiting", "wait_till": "2020-01-01T00:00:00Z", "created_at": "2026-01-01T00:00:00Z"}
    assert view("wait_overdue").matches(waiting, 1)
    assert not view("wait_overdue").matches(waiting | {"wait_till": "2999-01-01T00:00:00Z"}, 1)
    assert not view("slow").matches(failed, 1) and view("slow").matches(failed | {"status": "running"}, 1)
    # New rows slide in live only where the event settles the chip; elsewhere the banner offers them.
    assert view("failed_unretried", "wait_overdue").live_inserts
    assert not view("slow").live_inserts and not view("approval_overdue").live_inserts


async def test_dates_typed_the_wrong_way_round_list_the_days_between(
    client: httpx.AsyncClient, services: Services, world: World
) -> None:
    """From after To on the list: the executions created between the two days (it showed none), the
    date fields set the right way round, and a removable chip saying which days."""
    wf = world.workflows["Invoice approval"]
    made = [await create_execution(client, world.operator_a, wf, status="completed") for _ in range(3)]
    for execution, day in zip(made, (1, 5, 10), strict=True):
        await set_times(services, execution["uuid"], created_at=dt.datetime(2025, 3, day, 12, tzinfo=dt.UTC))
    page = PageSession(client, world.viewer_a)
    html = (await page.get(f"/executions?workspace={world.ws['A']}&from=2025-03-08&to=2025-03-02")).text
    assert row_ids(html) == [made[1]["uuid"]]
    assert 'name="from" value="2025-03-02"' in html and 'name="to" value="2025-03-08"' in html
    chip = re.search(r'<span class="filter-chip chip-dates">Created: ([^<]*)<a href="([^"]+)"', html)
    assert chip is not None and chip.group(1).strip() == "2025-03-02 \u2013 2025-03-08"
    unfiltered = (await page.get(chip.group(2).replace("&amp;", "&"))).text
    assert set(row_ids(unfiltered)) >= {m["uuid"] for m in made} and "chip-dates" not in unfiltered
