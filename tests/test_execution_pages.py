"""The executions pages as routes: full page vs htmx fragment, URL state, role-dependent actions,
CSRF, tenant isolation and error pages."""

from __future__ import annotations

import re

import httpx

from tests.conftest import API, World, create_execution
from tests.web_session import PageSession


def row_ids(html: str) -> list[str]:
    return re.findall(r'<tr id="row-([0-9a-f-]{36})"', html)


async def test_signed_out_visitor_is_sent_to_sign_in_and_back(client: httpx.AsyncClient) -> None:
    response = await client.get("/executions?range=24h")
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=%2Fexecutions%3Frange%3D24h"
    htmx = await client.get("/executions", headers={"hx-request": "true"})
    assert htmx.status_code == 200 and htmx.headers["hx-redirect"].startswith("/sign-in")
    assert "location" not in htmx.headers  # htmx navigates itself (a 3xx would be followed by the XHR)


async def test_full_page_and_htmx_fragment(client: httpx.AsyncClient, world: World) -> None:
    created = await create_execution(client, world.operator_a, world.workflows["Invoice approval"])
    page = PageSession(client, world.viewer_a)
    full = await page.get(f"/executions?workspace={world.ws['A']}")
    assert full.status_code == 200 and full.headers["content-type"].startswith("text/html")
    assert "<html" in full.text and 'hx-ext="ws,live-rows"' in full.text and row_ids(full.text) == [created["uuid"]]
    fragment = await page.get(f"/executions?workspace={world.ws['A']}", htmx_target="results")
    assert "<html" not in fragment.text and fragment.text.lstrip().startswith('<section id="results"')
    assert row_ids(fragment.text) == [created["uuid"]]


async def test_filters_live_in_the_url_and_reach_the_socket(client: httpx.AsyncClient, world: World) -> None:
    running = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="running")
    await create_execution(client, world.operator_a, world.workflows["Customer onboarding"])
    page = PageSession(client, world.viewer_a)
    wf = world.workflows["Invoice approval"]
    html = (await page.get(f"/executions?workspace={world.ws['A']}&status=running&workflow={wf}&q=invoice")).text
    assert row_ids(html) == [running["uuid"]]
    ws_connect = re.search(r'ws-connect="([^"]+)"', html)
    assert ws_connect is not None
    socket_query = ws_connect.group(1).replace("&amp;", "&")
    for part in ("status=running", f"workflow={wf}", "q=invoice", f"workspace={world.ws['A']}"):
        assert part in socket_query
    assert 'class="tile tile-running active"' in html


async def test_viewer_gets_no_actions_operator_does(client: httpx.AsyncClient, world: World) -> None:
    await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="running")
    viewer = (await PageSession(client, world.viewer_a).get(f"/executions?workspace={world.ws['A']}")).text
    operator = (await PageSession(client, world.operator_a).get(f"/executions?workspace={world.ws['A']}")).text
    assert "stop-preview" not in viewer and 'name="ids"' not in viewer
    assert "stop-preview" in operator and 'name="ids"' in operator
    # multi is a viewer in A and an operator in B: no actions on A's rows.
    multi = (await PageSession(client, world.multi).get(f"/executions?workspace={world.ws['A']}")).text
    assert "stop-preview" not in multi


async def test_stop_preview_names_the_cascade(client: httpx.AsyncClient, world: World) -> None:
    parent = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="running")
    patch = await client.patch(
        f"{API}/workflow-executions/{parent['uuid']}", json={"status": "waiting"}, headers=world.operator_a.headers
    )
    assert patch.status_code == 200
    child = await create_execution(
        client, world.operator_a, world.workflows["Invoice approval"], status="running",
        parent_execution_uuid=parent["uuid"],
    )  # fmt: skip
    page = PageSession(client, world.operator_a)
    dialog = (await page.get(f"/executions/{child['uuid']}/stop-preview", htmx_target="dialog-slot")).text
    assert '<strong class="cascade-parents">1</strong>' in dialog
    assert 'Stop <span class="stop-n">2</span> execution<span class="stop-s">s</span>' in dialog
    state = (await client.get(f"{API}/workflow-executions/{child['uuid']}", headers=world.viewer_a.headers)).json()
    assert state["data"]["status"] == "running"  # a preview changes nothing


async def test_a_stop_confirmed_with_counts_that_changed_is_refused_with_the_new_ones(
    client: httpx.AsyncClient, world: World
) -> None:
    parent = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="running")
    page = PageSession(client, world.operator_a)
    dialog = (await page.get(f"/executions/{parent['uuid']}/stop-preview", htmx_target="dialog-slot")).text
    assert 'name="expect_total" value="1"' in dialog and "data-modal" in dialog and "data-initial-focus" in dialog
    await create_execution(
        client, world.operator_a, world.workflows["Invoice approval"], status="running",
        parent_execution_uuid=parent["uuid"],
    )  # fmt: skip
    seen = {"expect_total": "1", "expect_approvals": "0", "reason": "looping"}
    refused = await page.post(f"/executions/{parent['uuid']}/stop", seen, htmx_target="stop-form")
    assert refused.status_code == 409 and refused.headers["hx-retarget"] == "#dialog-slot"
    assert 'class="stop-changed"' in refused.text and 'name="expect_total" value="2"' in refused.text
    state = (await client.get(f"{API}/workflow-executions/{parent['uuid']}", headers=world.viewer_a.headers)).json()
    assert state["data"]["status"] == "running"  # nothing stopped
    stopped = await page.post(
        f"/executions/{parent['uuid']}/stop",
        seen | {"expect_total": "2"},
        htmx_target="stop-form",
        current_url="/executions",
    )  # from the list: the answer carries the row as it is now, beside the note
    assert stopped.status_code == 200 and "badge-cancelled" in stopped.text
    assert "1 other execution of its cascade cancelled" in stopped.text


async def test_unsafe_requests_need_the_csrf_token(client: httpx.AsyncClient, world: World) -> None:
    execution = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="running")
    page = PageSession(client, world.operator_a)
    refused = await page.post(f"/executions/{execution['uuid']}/stop", csrf=False, htmx_target="row")
    assert refused.status_code == 403
    still = (await client.get(f"{API}/workflow-executions/{execution['uuid']}", headers=world.viewer_a.headers)).json()
    assert still["data"]["status"] == "running"
    stopped = await page.post(f"/executions/{execution['uuid']}/stop", htmx_target="row", current_url="/executions")
    assert stopped.status_code == 200 and "badge-cancelled" in stopped.text


async def test_viewer_stop_is_refused_even_when_forged(client: httpx.AsyncClient, world: World) -> None:
    execution = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="running")
    response = await PageSession(client, world.viewer_a).post(
        f"/executions/{execution['uuid']}/stop", htmx_target="row"
    )
    assert "may not do this" in response.text and response.headers["hx-retarget"] == "#toasts"
    # The toast is appended to the page's toast area, as an alert, with its real status.
    assert response.status_code == 403 and response.headers["hx-reswap"] == "beforeend"
    assert response.text.startswith('<div class="toast toast-error" role="alert">') and response.text.endswith("</div>")
    state = (await client.get(f"{API}/workflow-executions/{execution['uuid']}", headers=world.viewer_a.headers)).json()
    assert state["data"]["status"] == "running"


async def test_bulk_stop_reports_each_row(client: httpx.AsyncClient, world: World) -> None:
    wf = world.workflows["Invoice approval"]
    a = await create_execution(client, world.operator_a, wf, status="running")
    b = await create_execution(client, world.operator_a, wf, status="running")
    done = await create_execution(client, world.operator_a, wf, status="completed")
    page = PageSession(client, world.operator_a)
    await page.get("/executions")
    response = await client.post(
        "/executions/bulk",
        content=f"action=stop&ids={a['uuid']}&ids={b['uuid']}&ids={done['uuid']}",
        headers={
            "Cookie": f"athena_session={world.operator_a.token}; athena_csrf={page.csrf}",
            "x-csrftoken": page.csrf or "",
            "hx-request": "true",
            "content-type": "application/x-www-form-urlencoded",
        },
    )
    assert "Stopped 2 executions. Skipped 1" in response.text
    for execution, status in ((a, "cancelled"), (b, "cancelled"), (done, "completed")):
        r = await client.get(f"{API}/workflow-executions/{execution['uuid']}", headers=world.viewer_a.headers)
        assert r.json()["data"]["status"] == status


async def test_foreign_execution_is_a_404_page(client: httpx.AsyncClient, world: World) -> None:
    foreign = await create_execution(client, world.operator_b, world.workflows["Invoice sync"])
    page = PageSession(client, world.viewer_a)
    response = await page.get(f"/executions/{foreign['uuid']}")
    assert response.status_code == 404
    assert "<html" in response.text and "Not found" in response.text and "Traceback" not in response.text
    own = await create_execution(client, world.operator_a, world.workflows["Invoice approval"])
    detail = await page.get(f"/executions/{own['uuid']}")
    assert detail.status_code == 200 and 'class="graph"' in detail.text


async def test_sign_in_form_and_sign_out_revokes_the_session(client: httpx.AsyncClient, world: World) -> None:
    form = await client.get("/sign-in?next=/executions")
    csrf = form.cookies["athena_csrf"]
    signed = await client.post(
        "/sign-in",
        data={
            "_csrf_token": csrf,
            "email": world.viewer_a.email,
            "password": "correct horse",
            "next": "//evil.example",
        },
        headers={"Cookie": f"athena_csrf={csrf}"},
    )
    assert signed.status_code == 303 and signed.headers["location"] == "/executions"  # no open redirect
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    session = signed.cookies["athena_session"]
    client.cookies.clear()
    out = await client.post(
        "/sign-out", data={"_csrf_token": csrf}, headers={"Cookie": f"athena_csrf={csrf}; athena_session={session}"}
    )
    assert out.status_code == 303
    again = await client.get("/executions", headers={"Cookie": f"athena_session={session}"})
    assert again.status_code == 303  # the session token was revoked


async def test_detail_shows_children_as_a_tree(client: httpx.AsyncClient, world: World) -> None:
    wf = world.workflows["Invoice approval"]
    root = await create_execution(client, world.operator_a, wf, status="running")
    child = await create_execution(client, world.operator_a, wf, parent_execution_uuid=root["uuid"])
    grandchild = await create_execution(client, world.operator_a, wf, parent_execution_uuid=child["uuid"])
    html = (await PageSession(client, world.viewer_a).get(f"/executions/{root['uuid']}")).text
    nested = re.search(rf'<ul class="tree">.*?{child["uuid"]}.*?<ul class="tree">.*?{grandchild["uuid"]}', html, re.S)
    assert nested is not None


async def test_select_all_matching_snapshots_the_lists_own_filter(client: httpx.AsyncClient, world: World) -> None:
    """'Select all matching' counts what the list shows for the same query: its workspace, status and
    workflow filters, never another tenant's executions."""
    invoice, onboarding = world.workflows["Invoice approval"], world.workflows["Customer onboarding"]
    for workflow, status in ((invoice, "running"), (invoice, "running"), (onboarding, "running"), (invoice, "failed")):
        await create_execution(client, world.operator_a, workflow, status=status)
    await create_execution(client, world.operator_b, world.workflows["Invoice sync"], status="running")
    page = PageSession(client, world.operator_a)

    def count(response: httpx.Response) -> str:
        assert response.status_code == 200, response.text
        found = re.search(r'<strong id="selection-count">([0-9,]+)</strong>', response.text)
        assert found is not None, response.text
        return found.group(1)

    running = await page.post(f"/executions/bulk/select-matching?status=running&workspace={world.ws['A']}")
    assert count(running) == "3"
    by_workflow = await page.post(f"/executions/bulk/select-matching?status=running&workflow={invoice}")
    assert count(by_workflow) == "2"
