"""Authentication (bearer tokens, X-Multiplai-Authorization, sign-in/logout) and role checks.

Related checks share one test (and one fresh database, which costs ~0.4 s on PostgreSQL); each
``check_*`` helper names what failed in the traceback.
"""

from __future__ import annotations

import datetime as dt

import httpx
from sqlalchemy import update

from app.db.models import User
from app.services import Services
from tests.conftest import API, EXECUTIONS, World, create_execution, get_execution

ME = f"{API}/user"


async def check_requests_without_a_valid_token_are_401(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    expired = await services.accounts.create_token(
        world.operator_a.user_id, name="old", expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    )
    for headers in (
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer ath_not-a-real-token"},
        {"Authorization": f"Basic {world.operator_a.token}"},
        {"Authorization": f"Token {world.operator_a.token}"},
        {"Authorization": f"Bearer {world.operator_a.token}x"},
        {"Authorization": f"Bearer {expired}"},
        {"X-Multiplai-Authorization": "nonsense"},
    ):
        for method, url in (("GET", ME), ("GET", f"{EXECUTIONS}?workspace_uuid={world.ws['A']}"), ("POST", EXECUTIONS)):
            response = await client.request(method, url, headers=headers)
            assert response.status_code == 401, (headers, method, url, response.text)
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert response.json()["message"]
    # Liveness needs no token.
    assert (await client.get("/health")).status_code == 200


async def check_deactivated_user_is_401(client: httpx.AsyncClient, world: World, services: Services) -> None:
    assert (await client.get(ME, headers=world.operator_a.headers)).status_code == 200
    async with services.db.write() as session:
        await session.execute(update(User).where(User.id == world.operator_a.user_id).values(is_active=False))
    assert (await client.get(ME, headers=world.operator_a.headers)).status_code == 401


async def check_x_multiplai_authorization_header(client: httpx.AsyncClient, world: World) -> None:
    for value in (f"Bearer {world.viewer_a.token}", world.viewer_a.token, f"bearer {world.viewer_a.token}"):
        response = await client.get(ME, headers={"X-Multiplai-Authorization": value})
        assert response.status_code == 200, (value, response.text)
        assert response.json()["data"]["email"] == "viewer_a@example.test"
    # An empty X-Multiplai-Authorization (as in the seed's curl example) does not hide the bearer token.
    response = await client.get(ME, headers={"X-Multiplai-Authorization": "", **world.viewer_a.headers})
    assert response.status_code == 200


async def check_me_shows_workspaces_and_roles(client: httpx.AsyncClient, world: World) -> None:
    me = (await client.get(ME, headers=world.multi.headers)).json()["data"]
    assert me["email"] == "multi@example.test" and me["multiplai_id"] == "mp-multi" and me["id"] == world.multi.user_id
    assert "password_hash" not in me
    roles = {(w["uuid"], w["organization_multiplai_id"], w["role"]) for w in me["workspaces"]}
    assert roles == {
        (world.ws["A"], "org-1", "viewer"),
        (world.ws["B"], "org-1", "operator"),
        (world.ws["C"], "org-2", "admin"),
    }
    assert [w["name"] for w in me["workspaces"]] == ["Workspace A", "Workspace B", "Workspace C"]


async def test_sign_in_use_and_logout(client: httpx.AsyncClient, world: World) -> None:
    sign_in = f"{API}/auth/sign-in"
    wrong = await client.post(sign_in, json={"email": "admin_a@example.test", "password": "wrong"})
    assert wrong.status_code == 422 and "email" in wrong.json()["errors"]
    unknown = await client.post(sign_in, json={"email": "nobody@example.test", "password": "correct horse"})
    assert unknown.status_code == 422
    assert unknown.json() == wrong.json()  # does not tell which part was wrong

    ok = await client.post(sign_in, json={"email": "  Admin_A@Example.TEST ", "password": "correct horse"})
    assert ok.status_code == 200, ok.text
    data = ok.json()["data"]
    assert data["token_type"] == "Bearer" and data["token"] != world.admin_a.token
    assert data["user"]["email"] == "admin_a@example.test"
    assert [w["role"] for w in data["user"]["workspaces"]] == ["admin"]
    session = {"Authorization": f"Bearer {data['token']}"}
    assert (await client.get(ME, headers=session)).json()["data"]["id"] == world.admin_a.user_id

    out = await client.post(f"{API}/auth/logout", headers=session)
    assert out.status_code == 200
    assert (await client.get(ME, headers=session)).status_code == 401
    assert (await client.post(f"{API}/auth/logout", headers=session)).status_code == 401
    # Only that token was revoked.
    assert (await client.get(ME, headers=world.admin_a.headers)).status_code == 200


async def test_role_permissions(client: httpx.AsyncClient, world: World) -> None:
    wf = world.workflows["Invoice approval"]
    target = await create_execution(client, world.operator_a, wf, status="running")
    url = f"{EXECUTIONS}/{target['uuid']}"

    async def writes(actor_headers: dict[str, str]) -> dict[str, int]:
        return {
            "create": (await client.post(EXECUTIONS, json={"workflow_uuid": wf}, headers=actor_headers)).status_code,
            "patch": (await client.patch(url, json={"mode": "x"}, headers=actor_headers)).status_code,
            "put": (await client.put(url, json={"mode": "y"}, headers=actor_headers)).status_code,
            "flag": (
                await client.post(
                    f"{API}/command-room-tasks", json={"execution_uuid": target["uuid"]}, headers=actor_headers
                )
            ).status_code,
            "workflow": (
                await client.post(
                    f"{API}/workflows", json={"workspace_uuid": world.ws["A"], "name": "W"}, headers=actor_headers
                )
            ).status_code,
            "stop": (await client.post(f"{url}/stop", headers=actor_headers)).status_code,
        }

    forbidden = {k: 403 for k in ("create", "patch", "put", "flag", "workflow", "stop")}
    for reader in (world.viewer_a, world.approver_a):
        assert await writes(reader.headers) == forbidden
        # Reading is fine.
        assert (await client.get(url, headers=reader.headers)).status_code == 200
        assert (
            await client.get(EXECUTIONS, params={"workspace_uuid": world.ws["A"]}, headers=reader.headers)
        ).status_code == 200
    untouched = await get_execution(client, world.viewer_a, target["uuid"])
    assert untouched["version"] == 1 and untouched["status"] == "running"

    assert await writes(world.operator_a.headers) == {
        "create": 201,
        "patch": 200,
        "put": 200,
        "flag": 201,
        "workflow": 201,
        "stop": 200,
    }
    other = await create_execution(client, world.operator_a, wf, status="running")
    response = await client.post(f"{EXECUTIONS}/{other['uuid']}/stop", headers=world.admin_a.headers)
    assert response.status_code == 200
    # A 403 says which role is needed.
    denied = await client.post(f"{EXECUTIONS}/{other['uuid']}/stop", headers=world.approver_a.headers)
    assert denied.status_code == 403 and "approver" in denied.json()["message"]
    assert denied.json()["message"].count("operator") == 1


async def test_invalid_credentials_are_401(client: httpx.AsyncClient, world: World, services: Services) -> None:
    """Missing, malformed, unknown, expired tokens and deactivated users: 401."""
    await check_requests_without_a_valid_token_are_401(client, world, services)
    await check_deactivated_user_is_401(client, world, services)


async def test_me_and_headers(client: httpx.AsyncClient, world: World) -> None:
    """GET /user with either header shows the workspaces and roles."""
    await check_x_multiplai_authorization_header(client, world)
    await check_me_shows_workspaces_and_roles(client, world)
