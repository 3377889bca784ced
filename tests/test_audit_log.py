"""The operator audit log: flag / unflag / delete write rows with their reason; the API and the
/audit page filter them (tenant-scoped) and export them as CSV."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import httpx
from sqlalchemy import select

from app.db.models import OperatorActionKind, WorkflowExecution
from app.db.models.base import utcnow
from app.domain.audit.records import OperatorActionEntry, record_operator_actions
from tests.conftest import API, EXECUTIONS, World, create_execution
from tests.web_session import PageSession

AUDIT = f"{API}/audit"
TASKS = f"{API}/command-room-tasks"


async def audit(client: httpx.AsyncClient, who: Any, **params: Any) -> dict[str, Any]:
    response = await client.get(AUDIT, params=params, headers=who.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def seed(client: httpx.AsyncClient, world: World) -> dict[str, str]:
    """In A: flag (note only), unflag with a reason, delete with a reason; in B: a delete."""
    a1 = (await create_execution(client, world.operator_a, world.workflows["Invoice approval"]))["uuid"]
    a2 = (await create_execution(client, world.operator_a, world.workflows["Invoice approval"]))["uuid"]
    b1 = (await create_execution(client, world.operator_b, world.workflows["Invoice sync"]))["uuid"]
    flagged = await client.post(
        TASKS, json={"execution_uuid": a1, "note": "odd spike"}, headers=world.operator_a.headers
    )
    assert flagged.status_code == 201
    task = flagged.json()["data"]["uuid"]
    too_long = await client.request(
        "DELETE", f"{TASKS}/{task}", json={"reason": "r" * 1001}, headers=world.admin_a.headers
    )
    assert too_long.status_code == 422 and "reason" in too_long.json()["errors"]
    unflagged = await client.request(
        "DELETE", f"{TASKS}/{task}", params={"reason": "handled"}, headers=world.admin_a.headers
    )
    assert unflagged.status_code == 204
    flag_reason = {"execution_uuid": a2, "note": "n", "reason": "x" * 1001}
    assert (await client.post(TASKS, json=flag_reason, headers=world.operator_a.headers)).status_code == 422
    assert (
        await client.request(
            "DELETE", f"{EXECUTIONS}/{a2}", json={"reason": "=cmd|' /C calc'!A0"}, headers=world.operator_a.headers
        )
    ).status_code == 204
    assert (await client.request("DELETE", f"{EXECUTIONS}/{b1}", headers=world.operator_b.headers)).status_code == 204
    return {"a1": a1, "a2": a2, "b1": b1}


async def test_actions_are_recorded_and_filtered_per_tenant(client: httpx.AsyncClient, world: World) -> None:
    ids = await seed(client, world)
    everything = await audit(client, world.admin_a)
    rows = [(r["action"], r["actor"], r["execution_uuid"], r["reason"]) for r in everything["data"]]
    assert rows == [  # newest first, A only
        ("delete", world.operator_a.email, ids["a2"], "=cmd|' /C calc'!A0"),
        ("unflag", world.admin_a.email, ids["a1"], "handled"),
        ("flag", world.operator_a.email, ids["a1"], "odd spike"),  # the note stands in for a reason
    ]
    assert everything["meta"]["total"] == 3
    assert [r["action"] for r in (await audit(client, world.operator_b))["data"]] == ["delete"]
    # Filters: action, actor, execution, workspace, dates, paging.
    assert [r["action"] for r in (await audit(client, world.admin_a, action="flag"))["data"]] == ["flag"]
    by_actor = await audit(client, world.admin_a, actor=world.admin_a.email.upper())
    assert [r["action"] for r in by_actor["data"]] == ["unflag"]
    by_execution = await audit(client, world.admin_a, execution_uuid=ids["a1"])
    assert [r["action"] for r in by_execution["data"]] == ["unflag", "flag"]
    assert (await audit(client, world.admin_a, date_to="2000-01-01"))["data"] == []
    assert len((await audit(client, world.admin_a, date_from="2000-01-01", per_page=2))["data"]) == 2
    assert (await audit(client, world.multi, workspace_uuid=world.ws["B"]))["meta"]["total"] == 1
    # Tenancy and roles: a foreign workspace is 404, a viewer-only user 403, in A a viewer sees nothing.
    foreign = await client.get(AUDIT, params={"workspace_uuid": world.ws["A"]}, headers=world.operator_b.headers)
    assert foreign.status_code == 404
    assert (await client.get(AUDIT, headers=world.viewer_a.headers)).status_code == 403
    viewer_ws = await client.get(AUDIT, params={"workspace_uuid": world.ws["A"]}, headers=world.multi.headers)
    assert viewer_ws.status_code == 403
    for field, value in (
        ("action", "explode"),
        ("execution_uuid", "nope"),
        ("date_from", "yesterday"),
        ("date_to", "2025-13-01"),
        ("workspace_uuid", "x"),
    ):
        bad = await client.get(AUDIT, params={field: value}, headers=world.admin_a.headers)
        assert bad.status_code == 422 and field in bad.json()["errors"], (field, bad.text)
    backwards = await client.get(
        AUDIT, params={"date_from": "2025-02-01", "date_to": "2025-01-01"}, headers=world.admin_a.headers
    )
    assert backwards.status_code == 422 and "date_to" in backwards.json()["errors"]


async def test_csv_export_streams_the_filtered_log_safely(client: httpx.AsyncClient, world: World) -> None:
    ids = await seed(client, world)
    response = await client.get(f"{AUDIT}/export", params={"action": "delete"}, headers=world.admin_a.headers)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:5] == ["created_at", "workspace", "action", "actor", "execution_uuid"]
    assert [(r[2], r[4]) for r in rows[1:]] == [("delete", ids["a2"])]
    assert rows[1][6] == "'=cmd|' /C calc'!A0"  # a spreadsheet shows it as text, never runs it
    assert rows[1][7] == '{"status": "pending"}'


async def test_a_nul_in_the_actor_is_a_422_before_any_csv_streams(client: httpx.AsyncClient, world: World) -> None:
    """PostgreSQL cannot compare a NUL: the export would fail after its CSV had begun (a cut
    download, found by schemathesis), the list with a generic 422. Both name the field at once."""
    for path in (f"{AUDIT}/", f"{AUDIT}/export"):
        response = await client.get(path, params={"actor": "a\x00b"}, headers=world.admin_a.headers)
        assert response.status_code == 422 and "actor" in response.json()["errors"], (path, response.text)


async def test_export_reads_in_batches(client: httpx.AsyncClient, world: World, monkeypatch: Any) -> None:
    from app.domain.audit import log

    monkeypatch.setattr(log, "EXPORT_BATCH", 2)
    for _ in range(5):
        target = (await create_execution(client, world.operator_a, world.workflows["Invoice approval"]))["uuid"]
        assert (
            await client.request("DELETE", f"{EXECUTIONS}/{target}", headers=world.operator_a.headers)
        ).status_code == 204
    response = await client.get(f"{AUDIT}/export", headers=world.admin_a.headers)
    rows = list(csv.reader(io.StringIO(response.text)))[1:]
    listed = [(r["execution_uuid"]) for r in (await audit(client, world.admin_a))["data"]]
    assert [r[4] for r in rows] == listed and len(set(listed)) == 5


async def test_audit_page_filters_in_the_url_and_exports(client: httpx.AsyncClient, world: World) -> None:
    ids = await seed(client, world)
    admin, viewer = PageSession(client, world.admin_a), PageSession(client, world.viewer_a)
    page = await admin.get("/audit")
    assert page.status_code == 200
    assert 'href="/audit"' in page.text and "handled" in page.text and ids["a2"][-8:] in page.text
    assert 'href="/audit"' not in (await viewer.get("/executions")).text  # the nav link is for operators
    assert (await viewer.get("/audit")).status_code == 403
    filtered = await admin.get(f"/audit?action=unflag&execution_uuid={ids['a1']}")
    assert "handled" in filtered.text and "odd spike" not in filtered.text
    assert f"/audit/export.csv?action=unflag&amp;execution_uuid={ids['a1']}" in filtered.text
    bad = await admin.get("/audit?date_from=soon")
    assert bad.status_code == 200 and "date_from" in bad.text and "No operator actions" in bad.text
    export = await admin.get(f"/audit/export.csv?action=unflag&execution_uuid={ids['a1']}")
    assert export.status_code == 200
    assert [r[2] for r in csv.reader(io.StringIO(export.text))] == ["action", "unflag"]
    uuid.UUID(ids["b1"])  # B's delete never shows in A's admin page
    assert ids["b1"][-8:] not in page.text


async def test_a_time_in_an_actions_detail_reads_as_a_time(
    client: httpx.AsyncClient, services: Any, world: World
) -> None:
    """A purge's row carries when the execution was deleted: shown as a time (UTC on hover), not as
    "2025-03-04T10:20:30.123456Z"; other detail values as they are."""
    made = await create_execution(client, world.operator_a, world.workflows["Invoice approval"])
    async with services.db.write() as session:
        row = (
            await session.execute(
                select(WorkflowExecution.id, WorkflowExecution.workspace_id).where(
                    WorkflowExecution.uuid == uuid.UUID(made["uuid"])
                )
            )
        ).one()
        detail = {"deleted_at": "2025-03-04T10:20:30.123456Z", "status": "failed", "note": "2025-03-04Tnot a time"}
        entry = OperatorActionEntry(row.workspace_id, OperatorActionKind.PURGE, row.id, uuid.UUID(made["uuid"]), detail)
        await record_operator_actions(session, [entry], actor_id=None, reason=None, now=utcnow())
        await session.commit()
    html = (await PageSession(client, world.admin_a).get("/audit")).text
    cell = html[html.index("deleted at: ") :].split("</td>")[0]
    assert (
        '<time datetime="2025-03-04T10:20:30.123456Z" title="2025-03-04T10:20:30.123456Z">Mar 04 10:20</time>' in cell
    )
    assert "status: failed" in cell and "note: 2025-03-04Tnot a time" in cell
