"""Statements per HTML list page (issue 6, goal 8): a non-timing guard on the page's hot path."""

from __future__ import annotations

import os

import httpx

from app.services import Services
from tests.conftest import World
from tests.test_scale_guards import captured, seed_rows


async def test_print(client: httpx.AsyncClient, services: Services, world: World) -> None:
    await seed_rows(client, world, 24)
    cookies = {"Cookie": f"athena_session={world.viewer_a.token}"}
    await client.get("/executions", headers=cookies)
    with captured(services) as statements:
        response = await client.get("/executions", headers=cookies)
    assert response.status_code == 200
    for s, p in statements:
        print("----", s[:300].replace("\n", " "), str(p)[:200])
    print(len(statements))
