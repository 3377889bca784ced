"""The inbox page: groups of identical reviews decided at once, the overdue reminder, the four-eyes
rule's disabled Approve button, and "1 of 2 approvals" for high-risk reviews."""

from __future__ import annotations

import re

import httpx

from app.services import Services
from tests.approval_helpers import APPROVALS, audit_rows, decide, pending_approval
from tests.conftest import API, World
from tests.web_session import PageSession

INBOX = "/approvals"
PAST, SOON, LATER = "2000-01-01T00:00:00Z", "2400-01-01T00:00:00Z", "2500-01-01T00:00:00Z"
SAME = {"vendor": "ACME", "amount": 120}


def item_ids(html: str) -> list[str]:
    return re.findall(r'<article id="approval-([0-9a-f-]{36})"', html)


def group_ids(html: str) -> list[str]:
    return re.findall(r'<article id="approval-group-([0-9a-f]{16})"', html)


async def test_identical_reviews_show_as_one_group(client: httpx.AsyncClient, world: World) -> None:
    wf = world.workflows["Invoice approval"]
    group = [(await pending_approval(client, world.operator_a, wf, payload=SAME))[1] for _ in range(3)]
    _, lone = await pending_approval(client, world.operator_a, wf, payload={"vendor": "ACME", "amount": 121})
    _, other_node = await pending_approval(client, world.operator_a, wf, payload=SAME, node_id="second_look")

    html = (await PageSession(client, world.approver_a).get(INBOX)).text
    assert len(group_ids(html)) == 1 and "3 identical reviews" in html
    assert set(item_ids(html)) == {lone["uuid"], other_node["uuid"]}  # the members fold into the group
    for a in group:
        assert f'<li id="approval-{a["uuid"]}" class="group-member">' in html
        assert f'name="approval_uuid" value="{a["uuid"]}"' in html
    assert 'hx-post="/approvals/group/approve"' in html and "Approve all 3" in html
    # Decided tabs never group.
    assert "approval-group-" not in (await PageSession(client, world.approver_a).get(f"{INBOX}?tab=decided")).text


async def test_group_decision_from_the_page(client: httpx.AsyncClient, world: World, services: Services) -> None:
    wf = world.workflows["Invoice approval"]
    assert (
        await client.patch(f"{API}/workflows/{wf}/settings", json={"four_eyes": True}, headers=world.admin_a.headers)
    ).status_code == 200
    theirs = [(await pending_approval(client, world.operator_a, wf, payload=SAME))[1] for _ in range(5)]
    mine = [(await pending_approval(client, world.admin_a, wf, payload=SAME))[1] for _ in range(2)]
    admin = PageSession(client, world.admin_a)
    html = (await admin.get(INBOX)).text
    assert "7 identical reviews" in html and "2 of them you may not approve" in html
    assert html.count(">you triggered it</span>") == 2

    form = [("approval_uuid", a["uuid"]) for a in theirs + mine] + [("comment", "all the same")]
    await admin.get(INBOX)
    response = await client.post(
        f"{INBOX}/group/approve",
        content=httpx.QueryParams(form).__str__(),
        headers=admin._headers(True, None) | {"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200, response.text
    assert "5 approved, 2 refused: you triggered them." in response.text
    assert response.text.count("Four-eyes rule") == 2
    for a in theirs:
        assert await audit_rows(services, a["uuid"]) == [
            ("requested", world.operator_a.email, None),
            ("approved", world.admin_a.email, "all the same"),
        ]
    for a in mine:
        assert [r[0] for r in await audit_rows(services, a["uuid"])] == ["requested"]
    # Without CSRF the page refuses.
    bare = await client.post(
        f"{INBOX}/group/approve", data={"approval_uuid": mine[0]["uuid"]}, headers=admin._headers(False, None)
    )
    assert bare.status_code == 403


async def test_four_eyes_disables_approve_and_says_why(client: httpx.AsyncClient, world: World) -> None:
    wf = world.workflows["Invoice approval"]
    await client.patch(f"{API}/workflows/{wf}/settings", json={"four_eyes": True}, headers=world.admin_a.headers)
    _, mine = await pending_approval(client, world.admin_a, wf)
    _, risky = await pending_approval(client, world.operator_a, wf, high_risk=True, title="Big one")
    assert (await decide(client, world.admin_a, risky["uuid"])).status_code == 200

    html = (await PageSession(client, world.admin_a).get(INBOX)).text
    assert re.search(r'class="btn btn-approve" disabled aria-describedby="blocked-' + mine["uuid"], html)
    assert "You triggered this execution: under the four-eyes rule another approver must approve it." in html
    assert "You already approved it: a second approver must complete it." in html
    assert "1 of 2 approvals" in html

    approver = PageSession(client, world.approver_a)
    html = (await approver.get(INBOX)).text
    assert "disabled aria-describedby" not in html and "1 of 2 approvals" in html
    done = await approver.post(f"{INBOX}/{risky['uuid']}/approve", {})
    assert done.status_code == 200 and "Approved by you." in done.text
    got = (await client.get(f"{APPROVALS}/{risky['uuid']}", headers=world.viewer_a.headers)).json()["data"]
    assert got["status"] == "approved"


async def test_first_of_two_approvals_from_the_page(client: httpx.AsyncClient, world: World) -> None:
    _, risky = await pending_approval(client, world.operator_a, world.workflows["Invoice approval"], high_risk=True)
    page = PageSession(client, world.approver_a)
    first = await page.post(f"{INBOX}/{risky['uuid']}/approve", {})
    assert first.status_code == 200 and "You gave approval 1 of 2" in first.text
    again = await page.post(f"{INBOX}/{risky['uuid']}/approve", {})
    assert again.status_code == 409 and "already approved" in again.text


async def test_overdue_reminder_and_due_soon_first(client: httpx.AsyncClient, world: World) -> None:
    wf = world.workflows["Invoice approval"]
    _, later = await pending_approval(client, world.operator_a, wf, title="Later", due_at=LATER)
    _, none = await pending_approval(client, world.operator_a, wf, title="No deadline")
    _, soon = await pending_approval(client, world.operator_a, wf, title="Soon", due_at=SOON)
    _, late = await pending_approval(client, world.operator_a, wf, title="Late", due_at=PAST)

    page = PageSession(client, world.approver_a)
    html = (await page.get(INBOX)).text
    assert item_ids(html) == [late["uuid"], soon["uuid"], later["uuid"], none["uuid"]]
    assert 'id="overdue-reminder"' in html and "1 review past its due time" in html
    assert html.index("overdue-reminder") < html.index('class="inbox-section inbox-section-overdue"')
    assert html.index("inbox-section-overdue") < html.index(late["uuid"]) < html.index("inbox-section-upcoming")
    oldest = (await page.get(f"{INBOX}?sort=requested")).text
    assert item_ids(oldest) == [late["uuid"], later["uuid"], none["uuid"], soon["uuid"]]  # overdue, then oldest
    # The reminder counts what the filters show: a search that leaves the late review out has none.
    assert "overdue-reminder" not in (await page.get(f"{INBOX}?q=Soon")).text
    assert "1 review past its due time" in (await page.get(f"{INBOX}?q=Late")).text

    assert (await decide(client, world.approver_a, late["uuid"])).status_code == 200
    assert "overdue-reminder" not in (await page.get(INBOX)).text


async def test_command_room_lists_overdue_reviews(client: httpx.AsyncClient, world: World) -> None:
    wf = world.workflows["Invoice approval"]
    _, late = await pending_approval(client, world.operator_a, wf, title="Pay the late one", due_at=PAST)
    _, fine = await pending_approval(client, world.operator_a, wf, title="Not yet", due_at=LATER)
    _, foreign = await pending_approval(
        client, world.operator_b, world.workflows["Invoice sync"], title="B late", due_at=PAST
    )
    html = (await PageSession(client, world.operator_a).get("/command-room")).text
    assert 'id="overdue-reviews"' in html and "1 review past its due time" in html
    assert f'id="overdue-{late["uuid"]}"' in html and "Pay the late one" in html
    assert fine["uuid"] not in html and foreign["uuid"] not in html and "B late" not in html
    assert (await decide(client, world.approver_a, late["uuid"])).status_code == 200
    assert 'id="overdue-reviews"' not in (await PageSession(client, world.operator_a).get("/command-room")).text


async def test_execution_timeline_merges_machine_and_human_events(client: httpx.AsyncClient, world: World) -> None:
    wf = world.workflows["Invoice approval"]
    execution, approval = await pending_approval(client, world.operator_a, wf, title="Check totals")
    await client.post(f"{APPROVALS}/{approval['uuid']}/assign", json={}, headers=world.approver_a.headers)
    assert (await decide(client, world.approver_a, approval["uuid"], "reject", comment="totals off")).status_code == 200
    flagged = await client.post(
        f"{API}/command-room-tasks",
        json={"execution_uuid": execution["uuid"], "note": "look"},
        headers=world.operator_a.headers,
    )
    assert flagged.status_code == 201, flagged.text
    html = (await PageSession(client, world.viewer_a).get(f"/executions/{execution['uuid']}")).text
    events = re.findall(r'<li class="tl-event tl-(\w+)">.*?<span class="tl-text">([^<]*)</span>', html, re.S)
    assert events == [
        ("approval", "Review requested: Check totals"),
        ("approval", "Review claimed: Check totals"),
        ("approval", "Review rejected: Check totals"),
        ("room", "Flagged for the command room"),
    ]
    assert "totals off" in html and 'class="tl-mark mark-approval mark-rejected"' in html
