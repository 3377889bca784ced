"""Issue 21 item 5: the sessions page (app/web/pages/account): the signed-in user's live sessions
and tokens, this browser's marked; sign one out (htmx or a plain form), or all of them."""

from __future__ import annotations

import datetime as dt
import re

import httpx

from app.services import Services
from tests.conftest import API, Actor, World
from tests.web_session import PageSession


async def browser_session(client: httpx.AsyncClient, services: Services, actor: Actor) -> PageSession:
    """A dashboard session of ``actor``'s user, as the sign-in form makes one (without its argon2 cost)."""
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=12)
    token = await services.accounts.create_token(actor.user_id, name="web session", expires_at=expires)
    return PageSession(client, Actor(actor.email, token, actor.user_id))


def rows(html: str) -> list[str]:
    """The uuids of the listed sessions, in order."""
    return re.findall(r'<tr id="session-[^"]+" class="session[^"]*" data-uuid="([^"]+)"', html)


async def uuids_by_name(services: Services, user_id: int) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for t in await services.accounts.list_tokens(user_id, live=True):
        found.setdefault(str(t["name"]), []).append(str(t["uuid"]))
    return found


async def test_the_page_lists_own_sessions_and_signs_one_out(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    here = await browser_session(client, services, world.viewer_a)
    other = await browser_session(client, services, world.viewer_a)
    await browser_session(client, services, world.operator_a)  # someone else's: never listed
    page = await here.get("/account")
    assert page.status_code == 200, page.text
    mine = await uuids_by_name(services, world.viewer_a.user_id)
    # This browser first and marked; the other session; the API token the world made ("test").
    listed = rows(page.text)
    here_uuid = listed[0]
    other_uuid = next(u for u in mine["web session"] if u != here_uuid)
    assert sorted(listed) == sorted(mine["web session"] + mine["test"]) and len(listed) == 3
    assert page.text.count("this browser</span>") == 1 and 'aria-current="page"' in page.text
    assert 'href="/account"' in (await here.get("/executions")).text  # the header's link

    # Plain form (no JavaScript): back to the page, and the other browser is signed out.
    gone = await here.post(f"/account/sessions/{other_uuid}/sign-out", {"_csrf_token": here.csrf or ""})
    assert gone.status_code == 303 and gone.headers["location"] == "/account"
    assert (await other.get("/executions")).status_code == 303  # to sign-in
    assert other_uuid not in rows((await here.get("/account")).text)

    # Another user's session: 404 (the page's error), and it lives on.
    foreign = (await uuids_by_name(services, world.operator_a.user_id))["web session"][0]
    refused = await here.post(f"/account/sessions/{foreign}/sign-out", htmx_target="sessions")
    assert refused.status_code == 404 and "toast-error" in refused.text
    assert foreign in [str(t["uuid"]) for t in await services.accounts.list_tokens(world.operator_a.user_id, live=True)]

    # htmx: the list comes back in place, with a notice; the API token is revoked.
    api_uuid = mine["test"][0]
    swapped = await here.post(f"/account/sessions/{api_uuid}/sign-out", htmx_target="sessions")
    assert swapped.status_code == 200 and swapped.text.lstrip().startswith('<section id="sessions"')
    assert "Signed out: test." in swapped.text and rows(swapped.text) == [here_uuid]
    assert (await client.get(f"{API}/user", headers=world.viewer_a.headers)).status_code == 401

    # This browser's own session: the cookie is cleared and htmx navigates to the sign-in page.
    out = await here.post(f"/account/sessions/{here_uuid}/sign-out", htmx_target="sessions")
    assert out.status_code == 200 and out.headers["hx-redirect"] == "/sign-in"
    cookie = out.headers["set-cookie"]
    assert cookie.startswith('athena_session="";') and "Max-Age=0" in cookie
    assert (await here.get("/account")).status_code == 303


async def test_sign_out_everywhere_ends_every_session_and_token(
    client: httpx.AsyncClient, world: World, services: Services
) -> None:
    here = await browser_session(client, services, world.operator_a)
    other = await browser_session(client, services, world.operator_a)
    await here.get("/account")
    out = await here.post("/account/sign-out-everywhere", {"_csrf_token": here.csrf or ""})
    assert out.status_code == 303 and out.headers["location"] == "/sign-in"
    for session in (here, other):
        assert (await session.get("/account")).status_code == 303
    assert (await client.get(f"{API}/user", headers=world.operator_a.headers)).status_code == 401  # API token too
    assert await services.accounts.list_tokens(world.operator_a.user_id, live=True) == []
    # Another user is untouched.
    assert (await client.get(f"{API}/user", headers=world.viewer_a.headers)).status_code == 200


async def test_signed_out_visitors_are_sent_to_sign_in(client: httpx.AsyncClient, world: World) -> None:
    answer = await client.get("/account")
    assert answer.status_code == 303 and answer.headers["location"] == "/sign-in?next=%2Faccount"
    everywhere = await client.post("/account/sign-out-everywhere")
    assert everywhere.status_code == 403  # no CSRF token: nothing happens
    assert (await client.get(f"{API}/user", headers=world.viewer_a.headers)).status_code == 200
