"""The approver inbox page, the nav badge and the decide / claim actions, through the pages (session
cookie + CSRF), and what the page socket sends for approval events."""

from __future__ import annotations

import re
import uuid
from dataclasses import replace
from typing import Any

import httpx

from app.lib.identity import CurrentUser
from app.realtime.prepared import PreparedEvent
from app.services import Services
from app.web.fragments import Fragments
from app.web.live import frames_for
from app.web.pages.approvals.live import ApprovalsLive
from app.web.pages.approvals.view import InboxView
from app.web.pages.executions.live import ExecutionsLive
from app.web.pages.executions.view import ExecutionView
from app.web.pages.live import PageState
from tests.approval_helpers import APPROVALS, decide, pending_approval
from tests.conftest import Actor, World, get_execution
from tests.events import prepared_event
from tests.web_session import PageSession

INBOX = "/approvals"
PAST, LATER = "2000-01-01T00:00:00Z", "2500-01-01T00:00:00Z"


def item_ids(html: str) -> list[str]:
    return re.findall(r'<article id="approval-([0-9a-f-]{36})"', html)


def badge(html: str) -> str:
    [span] = re.findall(r'<span id="approvals-badge"[^>]*>[^<]*</span>', html)
    return span


async def approval_status(client: httpx.AsyncClient, actor: Actor, approval_uuid: str) -> dict[str, Any]:
    response = await client.get(f"{APPROVALS}/{approval_uuid}", headers=actor.headers)
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def test_inbox_lists_pending_reviews_where_i_approve(client: httpx.AsyncClient, world: World) -> None:
    invoice, onboarding = world.workflows["Invoice approval"], world.workflows["Customer onboarding"]
    _, old = await pending_approval(
        client, world.operator_a, invoice, title="Pay ACME <Ltd>", payload={"amount": 1200.5, "vendor": "ACME"}
    )
    _, late = await pending_approval(
        client, world.operator_a, onboarding, title="KYC check", node_id="kyc_review", due_at=PAST, high_risk=True
    )
    _, nested = await pending_approval(
        client, world.operator_a, invoice, title="Lines", payload={"lines": [{"sku": "A-1", "qty": 2}]}
    )
    _, foreign_b = await pending_approval(client, world.operator_b, world.workflows["Invoice sync"], title="B only")
    _, foreign_c = await pending_approval(client, world.multi, world.workflows["Payroll run"], title="C payroll")

    approver = PageSession(client, world.approver_a)
    page = await approver.get(INBOX)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert item_ids(html) == [late["uuid"], old["uuid"], nested["uuid"]]  # overdue first, then the oldest
    assert foreign_b["uuid"] not in html and foreign_c["uuid"] not in html and "B only" not in html
    assert '<a href="/approvals" aria-current="page">' in html
    assert ">3</span>" in badge(html) and "hidden" not in badge(html)
    assert "Pay ACME &lt;Ltd&gt;" in html  # escaped
    # The review's data: a definition list for a flat object, pretty JSON otherwise.
    assert "<dt>amount</dt><dd>1,200.50</dd>" in html and "<dt>vendor</dt><dd>ACME</dd>" in html
    assert '<details class="ai-json" open>' in html and "&#34;sku&#34;: &#34;A-1&#34;" in html
    # Workflow, node, waiting time that ticks, due date, overdue and high-risk flags, assignee.
    assert "Customer onboarding" in html and "kyc_review" in html
    assert f'data-started="{old["requested_at"]}"' in html
    assert 'class="approval-item is-overdue is-high-risk"' in html and "badge-overdue" in html
    assert f'data-started="{late["due_at"]}"' in html and " late</span>" in html
    assert "unassigned" in html and f'hx-post="/approvals/{old["uuid"]}/claim"' in html
    # Inline decisions: approve, and reject with a comment the browser requires.
    assert (
        f'hx-post="/approvals/{old["uuid"]}/approve"' in html and f'hx-post="/approvals/{old["uuid"]}/reject"' in html
    )
    assert re.search(rf'<input id="comment-{old["uuid"]}"[^>]* name="comment" required', html)
    # Only the high-risk one asks first (in static/approvals.js's dialog), naming its title; its data is open.
    assert 'data-confirm="Approve the high-risk review “' in html and html.count("data-confirm=") == 1
    assert "hx-confirm=" not in html
    assert 'ws-connect="/ws/executions?page=approvals"' in html and 'id="approvals-refresh"' in html

    multi = PageSession(client, world.multi)  # viewer of A, operator of B, admin of C: approves in C only
    html = (await multi.get(INBOX)).text
    assert item_ids(html) == [foreign_c["uuid"]] and ">1</span>" in badge(html)

    partial = await approver.get(INBOX, htmx_target="approvals-list")
    assert partial.text.lstrip().startswith('<section id="approvals-list"') and "<html" not in partial.text
    assert item_ids(partial.text) == [late["uuid"], old["uuid"], nested["uuid"]]
    # The reloaded list brings the nav badge, counted in the same request.
    assert re.search(r'<span id="approvals-badge" class="nav-badge" hx-swap-oob="true"[^>]*>3</span>', partial.text)


async def test_tabs_and_filters_live_in_the_url(client: httpx.AsyncClient, world: World) -> None:
    invoice, onboarding = world.workflows["Invoice approval"], world.workflows["Customer onboarding"]
    _, first = await pending_approval(client, world.operator_a, invoice, title="Refund", due_at=LATER)
    _, second = await pending_approval(client, world.operator_a, onboarding, title="KYC check", due_at=PAST)
    _, third = await pending_approval(client, world.operator_a, invoice, title="Invoice 42")
    _, decided_by_admin = await pending_approval(client, world.operator_a, invoice, title="Admin's call")
    assert (await decide(client, world.admin_a, decided_by_admin["uuid"], "reject", comment="No")).status_code == 200

    me = PageSession(client, world.approver_a)

    async def ids(query: str) -> list[str]:
        response = await me.get(f"{INBOX}?{query}")
        assert response.status_code == 200, response.text
        return item_ids(response.text)

    assert await ids("") == [second["uuid"], first["uuid"], third["uuid"]]
    assert await ids("sort=due") == [second["uuid"], first["uuid"], third["uuid"]]  # soonest due, none last
    assert await ids(f"workflow={onboarding}") == [second["uuid"]]
    assert await ids("overdue=1") == [second["uuid"]]
    assert await ids("q=invoice") == [first["uuid"], third["uuid"]]  # title or workflow name
    assert await ids(f"workspace={world.ws['A']}") == [second["uuid"], first["uuid"], third["uuid"]]
    assert await ids(f"workspace={world.ws['C']}&workflow=nonsense") == [second["uuid"], first["uuid"], third["uuid"]]
    assert await ids("mine=1") == []

    claimed = await me.post(f"{INBOX}/{third['uuid']}/claim", htmx_target=f"approval-{third['uuid']}")
    assert claimed.status_code == 200 and item_ids(claimed.text) == [third["uuid"]]
    assert "<dd>you" in claimed.text and "/claim" not in claimed.text
    assert (await approval_status(client, world.admin_a, third["uuid"]))["assigned_to"] == world.approver_a.email
    assert await ids("mine=1") == [third["uuid"]]

    # The filters survive in the form, the tabs and the socket URL.
    html = (await me.get(f"{INBOX}?mine=1&q=Invoice&sort=requested")).text
    assert 'name="mine" value="1" class="autosubmit" checked' in html and 'value="Invoice"' in html
    assert '<option value="requested" selected>' in html
    assert 'ws-connect="/ws/executions?page=approvals&amp;mine=1&amp;q=Invoice&amp;sort=requested"' in html
    assert 'href="/approvals?tab=mine&amp;mine=1&amp;q=Invoice&amp;sort=requested"' in html

    assert (await me.post(f"{INBOX}/{first['uuid']}/approve", {"comment": "fine"})).status_code == 200
    assert await ids("tab=mine") == [first["uuid"]]
    assert await ids("tab=decided") == [first["uuid"], decided_by_admin["uuid"]]
    html = (await me.get(f"{INBOX}?tab=decided")).text
    assert "Rejected</strong> by admin_a@example.test" in html and "No</p>" in html
    assert "/approve" not in html and 'name="overdue"' not in html  # no actions, no overdue filter once decided
    assert await ids("") == [second["uuid"], third["uuid"]]


def inbox_count(html: str) -> str:
    [count] = re.findall(r'<span id="inbox-count">([^<]*)</span>', html)
    return count


async def test_a_filtered_count_says_what_part_of_the_badge_it_is(client: httpx.AsyncClient, world: World) -> None:
    """Seen in the demo: a search showed "0 pending reviews" beside a nav badge of 35."""
    invoice = world.workflows["Invoice approval"]
    for title in ("Refund ACME", "KYC check", "Refund Globex"):
        await pending_approval(client, world.operator_a, invoice, title=title)
    me = PageSession(client, world.approver_a)
    html = (await me.get(INBOX)).text
    assert inbox_count(html) == "3 pending reviews" and ">3</span>" in badge(html)
    assert inbox_count((await me.get(f"{INBOX}?sort=requested")).text) == "3 pending reviews"  # an order, no filter
    html = (await me.get(f"{INBOX}?q=refund")).text
    assert inbox_count(html) == "2 of the 3 reviews waiting for you match these filters"
    assert ">3</span>" in badge(html)
    html = (await me.get(f"{INBOX}?q=kyc", htmx_target="approvals-list")).text
    assert inbox_count(html) == "1 of the 3 reviews waiting for you matches these filters"  # the live reload too
    assert (
        inbox_count((await me.get(f"{INBOX}?q=nothing")).text)
        == "0 of the 3 reviews waiting for you match these filters"
    )
    assert inbox_count((await me.get(f"{INBOX}?tab=decided")).text) == "0 decided reviews"


async def test_approve_and_reject_from_the_inbox(client: httpx.AsyncClient, world: World) -> None:
    invoice = world.workflows["Invoice approval"]
    execution, approval = await pending_approval(client, world.operator_a, invoice)
    other_execution, other = await pending_approval(client, world.operator_a, invoice, title="Second")
    me = PageSession(client, world.approver_a)

    refused = await me.post(
        f"{INBOX}/{other['uuid']}/reject", {"comment": "   "}, htmx_target=f"approval-{other['uuid']}"
    )
    assert refused.status_code == 422 and refused.headers["hx-retarget"] == "#toasts"
    assert 'class="toast toast-error"' in refused.text and "comment" in refused.text
    assert (await approval_status(client, world.admin_a, other["uuid"]))["status"] == "pending"  # nothing changed

    approved = await me.post(f"{INBOX}/{approval['uuid']}/approve", htmx_target=f"approval-{approval['uuid']}")
    assert approved.status_code == 200 and "Approved by you" in approved.text and "approval-done" in approved.text
    assert (await get_execution(client, world.admin_a, execution["uuid"]))["status"] == "running"
    again = await me.post(f"{INBOX}/{approval['uuid']}/reject", {"comment": "too late"})
    assert again.status_code == 409 and "already approved by approver_a@example.test" in again.text

    rejected = await me.post(f"{INBOX}/{other['uuid']}/reject", {"comment": "Wrong vendor"})
    assert rejected.status_code == 200 and "Rejected by you" in rejected.text
    data = await approval_status(client, world.admin_a, other["uuid"])
    assert (data["status"], data["comment"], data["decided_by"]) == ("rejected", "Wrong vendor", world.approver_a.email)
    assert (await get_execution(client, world.admin_a, other_execution["uuid"]))["status"] == "running"
    assert item_ids((await me.get(INBOX)).text) == []
    assert "All caught up" in (await me.get(INBOX)).text


async def test_decide_from_the_execution_page(client: httpx.AsyncClient, world: World) -> None:
    execution, approval = await pending_approval(client, world.operator_a, world.workflows["Invoice approval"])
    detail_url = f"/executions/{execution['uuid']}"
    operator = PageSession(client, world.operator_a)
    assert "/approve" not in (await operator.get(detail_url)).text  # operators see the review, not the buttons

    admin = PageSession(client, world.admin_a)
    detail = (await admin.get(detail_url)).text
    assert f'hx-post="/approvals/{approval["uuid"]}/approve"' in detail
    assert f'hx-post="/approvals/{approval["uuid"]}/reject"' in detail and 'name="comment" required' in detail
    body = await admin.post(f"{INBOX}/{approval['uuid']}/approve", htmx_target="detail-body")
    assert body.status_code == 200 and body.text.lstrip().startswith('<section id="detail-body"')
    assert "badge-approval-approved" in body.text and "/approve" not in body.text
    assert "badge-running" in body.text


async def test_viewer_and_operator_get_the_empty_state_and_are_refused(client: httpx.AsyncClient, world: World) -> None:
    _, approval = await pending_approval(client, world.operator_a, world.workflows["Invoice approval"])
    for actor in (world.viewer_a, world.operator_a):
        session = PageSession(client, actor)
        html = (await session.get(INBOX)).text
        assert "You do not approve in any workspace" in html and item_ids(html) == []
        assert "ws-connect" not in html and "hidden" in badge(html)
        forged = await session.post(f"{INBOX}/{approval['uuid']}/approve")
        assert forged.status_code == 403 and forged.headers["hx-retarget"] == "#toasts" and "may not" in forged.text
        assert (await session.post(f"{INBOX}/{approval['uuid']}/claim")).status_code == 403
    outsider = PageSession(client, world.operator_b)  # another workspace: the review does not exist for them
    assert (await outsider.post(f"{INBOX}/{approval['uuid']}/reject", {"comment": "x"})).status_code == 404
    assert (await approval_status(client, world.admin_a, approval["uuid"]))["status"] == "pending"


async def test_posts_need_the_csrf_token_and_a_session(client: httpx.AsyncClient, world: World) -> None:
    _, approval = await pending_approval(client, world.operator_a, world.workflows["Invoice approval"])
    me = PageSession(client, world.approver_a)
    assert (await me.post(f"{INBOX}/{approval['uuid']}/approve", csrf=False)).status_code == 403
    assert (await approval_status(client, world.admin_a, approval["uuid"]))["status"] == "pending"
    response = await client.get(f"{INBOX}?tab=mine")
    assert response.status_code == 303 and response.headers["location"] == "/sign-in?next=%2Fapprovals%3Ftab%3Dmine"


async def test_the_badge_counts_my_pending_reviews(client: httpx.AsyncClient, world: World) -> None:
    invoice = world.workflows["Invoice approval"]
    me = PageSession(client, world.approver_a)
    assert badge((await me.get("/approvals/badge")).text).endswith(" hidden>0</span>")
    assert "hidden" in badge((await me.get("/executions")).text)
    _, first = await pending_approval(client, world.operator_a, invoice)
    await pending_approval(client, world.operator_a, invoice)
    await pending_approval(client, world.operator_b, world.workflows["Invoice sync"])  # not mine to approve
    got = await me.get("/approvals/badge")
    assert got.status_code == 200 and got.text == badge(got.text) and ">2</span>" in got.text
    assert "hidden" not in got.text and got.headers["cache-control"] == "no-store"
    assert ">2</span>" in badge((await me.get("/executions")).text)  # every page's nav
    assert (await decide(client, world.admin_a, first["uuid"])).status_code == 200
    assert ">1</span>" in (await me.get("/approvals/badge")).text
    # Pages that do not count it themselves load it after render; non-approvers get 0 without asking.
    assert 'hx-get="/approvals/badge" hx-trigger="load"' in (await me.get("/command-room")).text
    viewer_room = (await PageSession(client, world.viewer_a).get("/command-room")).text
    assert "hx-get=" not in badge(viewer_room) and "hidden>0</span>" in badge(viewer_room)


# --------------------------------------------------------------------------- the page socket


async def _user(services: Services, actor: Actor) -> CurrentUser:
    user = await services.accounts.authenticate_token(actor.token)
    assert user is not None
    return user


def _event(workspace_id: int, seq: int, type_: str, execution: dict[str, Any]) -> PreparedEvent:
    return prepared_event(workspace_id, seq, type_, execution)


async def test_socket_frames_for_approval_events(app: Any, services: Services, world: World) -> None:
    user = await _user(services, world.approver_a)
    ws_a = user.workspace_by_uuid(uuid.UUID(world.ws["A"])).workspace_id
    inbox = InboxView.from_query(user, {})
    view = replace(ExecutionView.from_query(user, {}), workspace_ids=inbox.workspace_ids)
    approvals_page = PageState(page=ApprovalsLive(inbox), uuid_of={ws_a: world.ws["A"]}, approve_ids=frozenset({ws_a}))
    fragments = Fragments(app.template_engine.engine)
    approval = {"uuid": "00000000-0000-0000-0000-0000000000aa", "status": "approved", "title": "Pay"}
    base = {
        "uuid": "00000000-0000-0000-0000-000000000001",
        "workspace_uuid": world.ws["A"],
        "status": "running",
        "workflow_approvals_count": 1,
    }
    decided = _event(ws_a, 1, "approval.decided", base | {"approval": approval | {"decided_by": "ana@example.test"}})

    [frame] = frames_for(decided, fragments, approvals_page)
    # A notice naming who decided (applied by static/approvals.js without touching the card's draft)
    # and the list's reload, which brings the badge: no separate badge fetch on this page.
    assert 'class="live-seq"' in frame and 'id="approvals-badge-refresh"' not in frame
    assert (
        '<div class="approval-notice" data-for="00000000-0000-0000-0000-0000000000aa" data-status="approved">' in frame
    )
    assert '<strong>Approved</strong> by <span class="ai-decided-by">ana@example.test</span>' in frame
    assert 'hx-swap-oob="innerHTML' not in frame and 'id="approvals-refresh"' in frame
    assert frame.index("approval-notice") < frame.index('id="approvals-refresh"')  # marked before the reload
    before = PreparedEvent.renders
    frames_for(decided, fragments, approvals_page)
    assert PreparedEvent.renders == before  # rendered once per event, shared by every socket

    [frame] = frames_for(_event(ws_a, 2, "approval.requested", base), fragments, approvals_page)
    assert (
        'id="approvals-refresh"' in frame and 'hx-get="/approvals"' in frame and "approvals-badge-refresh" not in frame
    )
    [frame] = frames_for(_event(ws_a, 3, "execution.progress", base), fragments, approvals_page)
    assert "approvals" not in frame  # only the cursor moves
    [frame] = frames_for(_event(ws_a, 4, "execution.stopped", base), fragments, approvals_page)
    assert 'id="approvals-refresh"' in frame and "approvals-badge-refresh" not in frame
    no_reviews = base | {"workflow_approvals_count": 0}
    [frame] = frames_for(_event(ws_a, 5, "execution.deleted", no_reviews), fragments, approvals_page)
    assert "approvals" not in frame  # nothing to review there: nothing to refresh

    # The decided tabs refresh (the item appears there) instead of showing a note.
    mine_tab = replace(approvals_page, page=ApprovalsLive(replace(inbox, tab="mine", search="pay")))
    [frame] = frames_for(_event(ws_a, 6, "approval.decided", base | {"approval": approval}), fragments, mine_tab)
    assert 'hx-get="/approvals?tab=mine&amp;q=pay"' in frame and "approval-notice" not in frame

    # Any page with a socket: the badge refreshes on approval events, once per event, in the page's frame;
    # a workspace the page does not show is watched for the badge alone.
    listing = PageState(
        page=ExecutionsLive(view, set()), uuid_of={ws_a: world.ws["A"]}, approve_ids=frozenset({ws_a, 99})
    )
    listing = replace(listing, badge_only=frozenset({99}))
    frames = frames_for(_event(ws_a, 7, "approval.assigned", base), fragments, listing)
    assert sum(f.count('id="approvals-badge-refresh"') for f in frames) == 1
    assert frames_for(_event(99, 1, "approval.requested", base), fragments, listing) == [fragments.badge_refresh()]
    assert frames_for(_event(99, 2, "execution.progress", base), fragments, listing) == []
    viewer = replace(listing, approve_ids=frozenset(), badge_only=frozenset())
    assert not any(
        "approvals-badge" in f for f in frames_for(_event(ws_a, 8, "approval.decided", base), fragments, viewer)
    )


async def test_the_decided_tabs_show_the_latest_decision_first(client: httpx.AsyncClient, world: World) -> None:
    """Walked: I approved a review, opened "Decided by me" and it was not there: the decided tabs were
    in due order, oldest first, and the decision just made was on the last of 19 pages."""
    invoice = world.workflows["Invoice approval"]
    _, overdue = await pending_approval(client, world.operator_a, invoice, title="Was overdue", due_at=PAST)
    _, later = await pending_approval(client, world.operator_a, invoice, title="Due later", due_at=LATER)
    me = PageSession(client, world.approver_a)
    for approval in (overdue, later):  # the overdue one decided first
        assert (await me.post(f"{INBOX}/{approval['uuid']}/approve", {"comment": "ok"})).status_code == 200
    for tab in ("mine", "decided"):
        html = (await me.get(f"{INBOX}?tab={tab}")).text
        assert item_ids(html) == [later["uuid"], overdue["uuid"]], tab
        assert '<option value="">Latest decision first</option>' in html
        requested = (await me.get(f"{INBOX}?tab={tab}&sort=requested")).text
        assert item_ids(requested) == [overdue["uuid"], later["uuid"]], tab  # oldest request first, as asked
    assert '<option value="">Soonest due first</option>' in (await me.get(INBOX)).text
