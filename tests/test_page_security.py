"""Item 14: the dashboard against cross-site requests and content injection.

Every unsafe page request without the CSRF token, or sent from a foreign origin, is refused (403)
and changes nothing; GET requests change nothing; cookies are Secure/HttpOnly/SameSite; every
response carries the security headers, HTML a CSP without ``unsafe-eval``.
The routes are enumerated from the app itself, so a new page route is covered without editing this.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from litestar.routes import HTTPRoute
from sqlalchemy import text

from app.asgi import create_app
from app.config import Settings
from app.services import Services
from tests.approval_helpers import pending_approval
from tests.conftest import API, TABLES, World, create_execution
from tests.web_session import PageSession

SAFE = {"GET", "HEAD", "OPTIONS"}
NOT_PAGES = ("/api/", "/schema", "/static")
FOREIGN_ORIGINS = [
    "http://evil.example",
    "null",
    "http://testserver.local.evil.example",  # look-alike suffix
    "https://testserver.local",  # other scheme
    "http://testserver.local:8080",  # other port
]


def page_routes(app: Any, unsafe: bool) -> Iterator[tuple[str, str]]:
    """(method, path template) of every dashboard route, unsafe (POST...) or safe (GET)."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path.startswith(NOT_PAGES):
            continue
        for method in sorted(route.methods - SAFE if unsafe else route.methods & {"GET"}):
            yield method, route.path


def fill(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+):\w+\}", lambda m: ids[m.group(1)], path)


async def seeded_ids(client: httpx.AsyncClient, world: World, services: Services) -> dict[str, str]:
    """Real ids of A (admin_a may do everything there): an execution, a pending approval, a flag, a token."""
    execution = await create_execution(client, world.operator_a, world.workflows["Invoice approval"], status="running")
    _, approval = await pending_approval(client, world.operator_a, world.workflows["Invoice approval"])
    task = await client.post(
        f"{API}/command-room-tasks", json={"execution_uuid": execution["uuid"]}, headers=world.operator_a.headers
    )
    assert task.status_code == 201, task.text
    operation = await client.post(  # a finished bulk operation (its one item is skipped: not failed)
        f"{API}/workflow-executions/bulk",
        json={"action": "retry_request", "ids": [execution["uuid"]]},
        headers=world.operator_a.headers,
    )
    assert operation.status_code == 202, operation.text
    page = PageSession(client, world.admin_a)
    saved = await page.post("/saved-views", {"name": "Running in A", "query": f"workspace={world.ws['A']}"})
    assert saved.status_code == 200, saved.text
    view = (await page.get("/saved-views")).json()["data"][0]
    # A second token of admin_a, for the sessions page's "sign out" of one session.
    await services.accounts.create_token(world.admin_a.user_id, name="second")
    tokens = await services.accounts.list_tokens(world.admin_a.user_id)
    return {
        "token_uuid": str(next(t["uuid"] for t in tokens if t["name"] == "second")),
        "operation_uuid": operation.json()["data"]["uuid"],
        "view_uuid": view["uuid"],
        "execution_uuid": execution["uuid"],
        "execution_ref": execution["uuid"],  # /executions/{execution_ref:str}: a uuid or an id fragment
        "approval_uuid": approval["uuid"],
        "task_uuid": task.json()["data"]["uuid"],
        "workspace_uuid": world.ws["A"],
        "workflow_uuid": world.workflows["Invoice approval"],
    }


async def snapshot(services: Services) -> str:
    """A digest of every row of every table, minus api_tokens.last_used_at (bookkeeping of reads)."""
    digest = hashlib.sha256()
    async with services.db.read() as session:
        for table in TABLES:
            rows = (await session.execute(text(f"SELECT * FROM {table} ORDER BY 1"))).mappings().all()
            for row in rows:
                digest.update(repr(sorted((k, str(v)) for k, v in row.items() if k != "last_used_at")).encode())
    return digest.hexdigest()


async def test_unsafe_page_requests_need_the_csrf_token_and_our_origin(
    app: Any, client: httpx.AsyncClient, world: World, services: Services
) -> None:
    ids = await seeded_ids(client, world, services)
    routes = list(page_routes(app, unsafe=True))
    assert len(routes) >= 10, routes  # sign-in, sign-out, bulk, stop, delete, flag, remove, approve, reject, claim
    page = PageSession(client, world.admin_a)
    await page.get("/executions")
    assert page.csrf
    body = {"action": "stop", "ids": ids["execution_uuid"], "comment": "no", "note": "x"}
    before = await snapshot(services)
    refused = 0
    for method, template in routes:
        url = fill(template, ids)
        session_cookie = f"athena_session={world.admin_a.token}"
        attempts = {
            "no token": {"Cookie": session_cookie},
            "token in cookie only": {"Cookie": f"{session_cookie}; athena_csrf={page.csrf}"},
            "wrong token": {"Cookie": f"{session_cookie}; athena_csrf={page.csrf}", "x-csrftoken": "forged"},
            "cross-site fetch": {
                "Cookie": f"{session_cookie}; athena_csrf={page.csrf}",
                "x-csrftoken": page.csrf,
                "Sec-Fetch-Site": "cross-site",
            },
        }
        for origin in FOREIGN_ORIGINS:
            attempts[f"origin {origin}"] = {
                "Cookie": f"{session_cookie}; athena_csrf={page.csrf}",
                "x-csrftoken": page.csrf,
                "Origin": origin,
            }
        for name, headers in attempts.items():
            response = await client.request(method, url, data=body, headers=headers)
            assert response.status_code == 403, (method, url, name, response.status_code)
            refused += 1
    assert await snapshot(services) == before  # nothing refused had any effect
    assert refused == len(routes) * (4 + len(FOREIGN_ORIGINS))

    # The same requests from our own origin with the token go through (the sign-outs last: they end
    # the session, everywhere last of all).
    for method, template in sorted(routes, key=lambda r: ("sign-out" in r[1], "everywhere" in r[1])):
        headers = {"Origin": "http://testserver.local"}
        response = await client.request(
            method,
            fill(template, ids),
            data=body | {"_csrf_token": page.csrf},
            headers=page._headers(True, None) | headers,
        )
        assert response.status_code not in (403, 500), (method, template, response.status_code, response.text[:200])


async def test_get_requests_change_nothing(
    app: Any, client: httpx.AsyncClient, world: World, services: Services
) -> None:
    ids = await seeded_ids(client, world, services)
    before = await snapshot(services)
    page = PageSession(client, world.admin_a)
    api_gets = [
        (m, r.path)
        for r in app.routes
        if isinstance(r, HTTPRoute) and r.path.startswith("/api/")
        for m in r.methods & {"GET"}
    ]
    for _, template in [*page_routes(app, unsafe=False), *api_gets]:
        url = fill(template, ids)
        for htmx_target in (None, "results"):
            response = await page.get(url, htmx_target=htmx_target)
            assert response.status_code < 500, (url, response.status_code)
        response = await client.get(url, headers=world.admin_a.headers)
        assert response.status_code < 500, (url, response.status_code)
        # A GET with a body and action-looking parameters is still only a read.
        response = await client.get(
            url, params={"action": "delete", "ids": ids["execution_uuid"]}, headers=world.admin_a.headers
        )
        assert response.status_code < 500
    assert await snapshot(services) == before


def assert_security_headers(response: httpx.Response, *, hsts: bool) -> None:
    where = f"{response.request.method} {response.request.url.path} -> {response.status_code}"
    csp = response.headers.get("content-security-policy", "")
    assert csp, where
    directives = {d.split()[0]: d.split()[1:] for d in csp.split("; ")}
    assert "'unsafe-eval'" not in csp, where
    assert directives["frame-ancestors"] == ["'none'"], where
    if not response.request.url.path.startswith("/schema"):
        assert directives["script-src"] == ["'self'"] and directives["style-src"] == ["'self'"], where
        assert directives["default-src"] == ["'self'"] and directives["object-src"] == ["'none'"], where
    assert response.headers["x-content-type-options"] == "nosniff", where
    assert response.headers["x-frame-options"] == "DENY", where
    assert response.headers["referrer-policy"] == "same-origin", where
    assert ("strict-transport-security" in response.headers) is hsts, where
    if hsts:
        assert response.headers["strict-transport-security"].startswith("max-age=31536000"), where


INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\sstyle=|\son[a-z]+=|javascript:", re.IGNORECASE)


async def test_every_response_carries_the_security_headers(
    app: Any, client: httpx.AsyncClient, world: World, services: Services
) -> None:
    ids = await seeded_ids(client, world, services)
    page = PageSession(client, world.admin_a)
    responses = [await page.get(fill(t, ids)) for _, t in page_routes(app, unsafe=False)]
    responses += [await page.get(fill(t, ids), htmx_target="results") for _, t in page_routes(app, unsafe=False)]
    html = [r for r in responses if r.headers.get("content-type", "").startswith("text/html")]
    assert len(html) >= 15
    for response in html:
        # No inline script, inline style or event-handler attribute: the CSP would block them.
        assert not INLINE.search(response.text), (response.request.url.path, INLINE.search(response.text))
    responses += [
        await client.get("/sign-in"),  # signed out
        await client.get("/executions"),  # redirect to sign-in
        await page.get("/executions/00000000-0000-0000-0000-000000000000"),  # error page
        await client.get("/no-such-page"),
        await client.get("/static/app.js"),
        await client.get("/schema/redoc"),
        await client.get("/schema/openapi.json"),
        await client.get(f"{API}/user", headers=world.viewer_a.headers),
        await client.get(f"{API}/user"),  # 401
        await client.post("/sign-in", data={"email": "x"}),  # 403 (no CSRF token)
        await client.post("/sign-in", data={}, headers={"Origin": "http://evil.example"}),  # 403 (foreign)
    ]
    for response in responses:
        assert_security_headers(response, hsts=True)

    plain = create_app(
        Settings(
            database_url=services.settings.database_url,
            redis_url=None,
            secret_key="x",
            allowed_origins=["http://testserver.local"],
            session_cookie_secure=False,
        )
    )
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=plain), base_url="http://testserver.local") as c:
            assert_security_headers(await c.get("/sign-in"), hsts=False)
    finally:
        await plain.state.services.close()


@pytest.mark.parametrize("secure", [True, False])
async def test_session_and_csrf_cookies(settings: Settings, world: World, secure: bool) -> None:
    app = create_app(Settings(**{**settings.__dict__, "session_cookie_secure": secure}))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver.local") as c:
            form = await c.get("/sign-in")
            csrf = re.search(r'name="_csrf_token" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
            signed_in = await c.post(
                "/sign-in",
                data={"email": world.viewer_a.email, "password": "correct horse", "_csrf_token": csrf, "next": "/"},
                headers={"Cookie": f"athena_csrf={form.cookies['athena_csrf']}"},  # httpx keeps Secure ones to https
            )
            assert signed_in.status_code == 303
        cookies = {
            header.split("=", 1)[0]: header.lower()
            for header in [*form.headers.get_list("set-cookie"), *signed_in.headers.get_list("set-cookie")]
        }
        for name, samesite in (("athena_session", "lax"), ("athena_csrf", "strict")):
            attributes = {part.strip().split("=")[0] for part in cookies[name].split(";")}
            assert "httponly" in attributes, cookies[name]
            assert f"samesite={samesite}" in cookies[name], cookies[name]
            assert ("secure" in attributes) is secure, cookies[name]
    finally:
        await app.state.services.close()
