"""Presence on the page socket: "admin_a is reviewing this" reaches the other users of the workspace
(and nobody outside it), clears when the page says so or leaves, and crosses instances via Redis
as an ephemeral message (no event row, no seq)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import World
from tests.realtime.test_page_socket import create, page_socket
from tests.servers import AppServer

PRESENCE = re.compile(r'<i class="presence-msg" data-target="(\w+)" data-uuid="([0-9a-f-]+)" data-text="([^"]*)"></i>')


@pytest.fixture
def server(database_url: str, tmp_path: Path, world: World) -> Iterator[AppServer]:
    app_server = AppServer(database_url, None, tmp_path)
    app_server.start()
    yield app_server
    app_server.stop()


async def pending_review(base_url: str, world: World) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url, headers=world.operator_a.headers) as c:
        execution = (
            await c.post(
                "/api/v1/workflow-executions",
                json={"workflow_uuid": world.workflows["Invoice approval"], "status": "running"},
            )
        ).json()["data"]
        assert (
            await c.patch(f"/api/v1/workflow-executions/{execution['uuid']}", json={"status": "waiting"})
        ).status_code == 200
        r = await c.post(
            "/api/v1/workflow-approvals",
            json={"execution_uuid": execution["uuid"], "node_id": "review", "title": "Check"},
        )
        assert r.status_code == 201, r.text
        return r.json()["data"]


def frame(target: str, uuid: str, activity: str, state: str = "on") -> str:
    return json.dumps({"presence": {"target": target, "uuid": uuid, "activity": activity, "state": state}})


async def next_presence(sock: Any, within: float = 10) -> dict[tuple[str, str], str]:
    """The presence messages of the next frame that carries any."""
    while True:
        found = PRESENCE.findall(await asyncio.wait_for(sock.recv(), within))
        if found:
            return {(t, u): text for t, u, text in found}


async def test_presence_reaches_the_workspace_only(server: AppServer, world: World) -> None:
    approval = await pending_review(server.base_url, world)
    execution_uuid = approval["execution_uuid"]
    async with (
        page_socket(server, world.admin_a, "page=approvals") as admin,
        page_socket(server, world.approver_a, "page=approvals") as approver,
        page_socket(server, world.viewer_a, f"workspace={world.ws['A']}") as viewer,
        page_socket(server, world.operator_b, f"workspace={world.ws['B']}") as outsider,
    ):
        await admin.send(frame("approval", approval["uuid"], "reviewing"))
        seen = await next_presence(approver)
        assert seen == {
            ("approval", approval["uuid"]): "admin_a is reviewing this",
            ("execution", execution_uuid): "admin_a is reviewing this",
        }
        assert (await next_presence(viewer))[("execution", execution_uuid)] == "admin_a is reviewing this"
        # The stop dialog on the same execution: both activities on its row.
        await approver.send(frame("execution", execution_uuid, "stopping"))
        seen = await next_presence(viewer)
        assert seen[("execution", execution_uuid)] == "approver_a is stopping this · admin_a is reviewing this"
        # Foreign or unknown targets are ignored: the outsider's next frame is its own workspace's event.
        await outsider.send(frame("execution", execution_uuid, "stopping"))
        await outsider.send("not json")
        created = await create(server, world, "Invoice sync", "operator_b")
        first = await asyncio.wait_for(outsider.recv(), 10)
        assert "presence-msg" not in first and (created["uuid"] in first or "live-seq" in first)
        # Clearing: "off" from the page, and a page that leaves.
        await admin.send(frame("approval", approval["uuid"], "reviewing", "off"))
        seen = await next_presence(viewer)
        assert seen[("execution", execution_uuid)] == "approver_a is stopping this"
        await approver.close()
        seen = await next_presence(viewer)
        assert seen[("execution", execution_uuid)] == ""
    # Presence is no event: nothing was recorded for it.
    async with httpx.AsyncClient(base_url=server.base_url, headers=world.viewer_a.headers) as c:
        got = (await c.get(f"/api/v1/workflow-executions/{execution_uuid}")).json()["data"]
        assert got["version"] == 3  # created, waiting, approval requested


async def test_a_new_page_gets_current_presence(server: AppServer, world: World) -> None:
    approval = await pending_review(server.base_url, world)
    async with page_socket(server, world.admin_a, "page=approvals") as admin:
        await admin.send(frame("approval", approval["uuid"], "reviewing"))
        await next_presence(admin)  # its own (empty for itself) confirms the server took it
        async with page_socket(server, world.approver_a, "page=approvals") as late:
            seen = await next_presence(late)
            assert seen[("approval", approval["uuid"])] == "admin_a is reviewing this"


async def test_presence_crosses_instances(two_instances: tuple[AppServer, AppServer], world: World) -> None:
    a, b = two_instances
    approval = await pending_review(a.base_url, world)
    async with (
        page_socket(a, world.admin_a, "page=approvals") as on_a,
        page_socket(b, world.approver_a, "page=approvals") as on_b,
    ):
        await asyncio.sleep(0.5)  # both instances' presence subscriptions are up (not a timing assertion)
        await on_a.send(frame("approval", approval["uuid"], "reviewing"))
        seen = await next_presence(on_b, within=15)
        assert seen[("approval", approval["uuid"])] == "admin_a is reviewing this"
        await on_a.close()
        seen = await next_presence(on_b, within=15)
        assert seen[("approval", approval["uuid"])] == ""


async def test_frames_that_are_not_presence_are_ignored(server: AppServer, world: World) -> None:
    approval = await pending_review(server.base_url, world)
    async with page_socket(server, world.admin_a, "page=approvals") as sock:
        junk = ["{}", '{"presence": 1}', "[]", frame("approval", "not-a-uuid", "reviewing")]
        junk += [frame("approval", approval["uuid"], "dancing"), frame("workflow", approval["uuid"], "reviewing")]
        for text in junk:
            await sock.send(text)
        await sock.send(frame("approval", approval["uuid"], "reviewing"))  # still served after the junk
        assert (await next_presence(sock))[("approval", approval["uuid"])] == ""  # not shown to oneself
