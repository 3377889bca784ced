"""Every page a signed-in user can reach, with data on it: the tour the accessibility and phone
tests take (tests/browser/test_accessibility.py, tests/browser/test_phone_layout.py).

The data covers what the pages draw differently: every status badge, a failed run with its error,
node runs (graph and timeline), a pending high-risk review with data, a command-room flag, a
deleted execution (trash and audit log) and hourly metrics (insights).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import httpx

from tests.conftest import Actor, World
from tests.servers import AppServer

PASSWORD = "correct horse"
LIVE = "() => (c => !c || c.dataset.state === 'live')(document.querySelector('#conn'))"


@dataclass(frozen=True)
class Tour:
    """The paths to visit, and the failed execution whose detail page is among them."""

    paths: list[str]
    failed_uuid: str


async def _call(client: httpx.AsyncClient, method: str, path: str, **kw: Any) -> dict[str, Any]:
    response = await client.request(method, path, **kw)
    assert response.status_code < 300, response.text
    return response.json() if response.content else {}


async def _execution(client: httpx.AsyncClient, world: World, status: str, **body: Any) -> str:
    payload = {"workflow_uuid": world.workflows["Invoice approval"], "status": status, **body}
    return (await _call(client, "POST", "/api/v1/workflow-executions", json=payload))["data"]["uuid"]


def _node_runs(t0: dt.datetime) -> list[dict[str, Any]]:
    def at(ms: int) -> str:
        return (t0 + dt.timedelta(milliseconds=ms)).isoformat()

    return [
        {"node_id": "start", "status": "success", "started_at": at(100), "stopped_at": at(400)},
        {"node_id": "review", "status": "error", "started_at": at(500), "stopped_at": at(900),
         "input": {"invoice": "INV-2041"}, "error": "Upstream ledger answered 502"},
    ]  # fmt: skip


async def seed_tour(server: AppServer, world: World) -> Tour:
    """Create the data through the public API as admin_a (who operates and approves in A)."""
    actor: Actor = world.admin_a
    async with httpx.AsyncClient(base_url=server.base_url, headers=actor.headers) as client:
        for status in ("running", "pending", "completed", "cancelled", "paused"):
            await _execution(client, world, status)
        failed = await _execution(client, world, "running")
        detail = await _call(client, "GET", f"/api/v1/workflow-executions/{failed}")
        t0 = dt.datetime.fromisoformat(detail["data"]["created_at"])
        path = f"/api/v1/workflow-executions/{failed}"
        await _call(client, "PATCH", path, json={"node_runs": _node_runs(t0)})
        await _call(client, "PATCH", path, json={"status": "failed", "error": "Upstream ledger answered 502"})
        waiting = await _execution(client, world, "running")
        await _call(client, "PATCH", f"/api/v1/workflow-executions/{waiting}", json={"status": "waiting"})
        review = {"execution_uuid": waiting, "node_id": "review", "title": "Pay ACME Corp 12,400 EUR",
                  "high_risk": True, "payload": {"amount": "12,400 EUR", "vendor": "ACME Corp"}}  # fmt: skip
        await _call(client, "POST", "/api/v1/workflow-approvals", json=review)
        flag = {"execution_uuid": failed, "note": "Customer is waiting on this one"}
        await _call(client, "POST", "/api/v1/command-room-tasks", json=flag)
        deleted = await _execution(client, world, "completed")
        await _call(client, "DELETE", f"/api/v1/workflow-executions/{deleted}", json={"reason": "duplicate run"})
    paths = ["/executions", f"/executions/{failed}", "/approvals", "/command-room", "/insights?range=24h",
             "/executions/trash", "/audit", "/account", "/failures"]  # fmt: skip
    return Tour(paths=paths, failed_uuid=failed)


async def sign_in(page: Any, server: AppServer, actor: Actor) -> None:
    """Sign in through the real form (the page is left on the landing page)."""
    await page.goto(f"{server.base_url}/sign-in")
    await page.fill("input[name=email]", actor.email)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(lambda url: "/sign-in" not in url)


async def open_page(page: Any, server: AppServer, path: str) -> None:
    """Go to a path and wait until it is loaded and, where it has a live badge, live."""
    response = await page.goto(f"{server.base_url}{path}")
    assert response is not None and response.status == 200, (path, response and response.status)
    await page.wait_for_load_state("load")
    await page.wait_for_function(LIVE, timeout=10000)
