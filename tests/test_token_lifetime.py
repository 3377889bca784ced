"""Issue 21 item 5 (part): API sign-in tokens expire (TOKEN_LIFETIME_DAYS, sliding on use), the
answer says when, and GET /api/v1/user/tokens lists the user's live tokens and sessions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from sqlalchemy import select, update

from app.db.models import ApiToken
from tests.conftest import API, World

SIGN_IN = f"{API}/auth/sign-in"


def parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def aware(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


async def test_sign_in_tokens_expire_slide_on_use_and_are_listed(
    client: httpx.AsyncClient, world: World, services: Any
) -> None:
    signed = await client.post(SIGN_IN, json={"email": world.viewer_a.email, "password": "correct horse"})
    assert signed.status_code == 200, signed.text
    data = signed.json()["data"]
    lifetime = parse(data["expires_at"]) - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=29, hours=23) < lifetime <= dt.timedelta(days=30)
    headers = {"Authorization": f"Bearer {data['token']}"}

    listed = await client.get(f"{API}/user/tokens", headers=headers)
    assert listed.status_code == 200, listed.text
    rows = listed.json()["data"]
    mine = [r for r in rows if r["current"]]
    assert len(mine) == 1 and mine[0]["name"] == "sign-in"
    assert parse(mine[0]["expires_at"]) >= parse(data["expires_at"])  # this first use slid it already
    assert {"uuid", "name", "created_at", "last_used_at", "expires_at"} <= set(mine[0])
    assert "token" not in mine[0] and not any(data["token"] in str(v) for r in rows for v in r.values())

    # Sliding: a use after a minute pushes the end back to a full lifetime from now.
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    async with services.db.write() as session:
        await session.execute(
            update(ApiToken)
            .where(ApiToken.name == "sign-in", ApiToken.revoked_at.is_(None))
            .values(expires_at=soon, last_used_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5))
        )
    assert (await client.get(f"{API}/user", headers=headers)).status_code == 200
    async with services.db.read() as session:
        ends = (await session.execute(select(ApiToken.expires_at).where(ApiToken.name == "sign-in"))).scalars().all()
    assert len(ends) == 1 and aware(ends[0]) > dt.datetime.now(dt.UTC) + dt.timedelta(days=29)

    # Unused past its end: refused, and no longer listed.
    async with services.db.write() as session:
        await session.execute(
            update(ApiToken)
            .where(ApiToken.name == "sign-in")
            .values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    services.accounts.recent_sessions.forget_all()
    assert (await client.get(f"{API}/user", headers=headers)).status_code == 401
    others = (await client.get(f"{API}/user/tokens", headers=world.viewer_a.headers)).json()["data"]
    assert all(r["name"] != "sign-in" for r in others)


async def test_cli_tokens_can_be_named_and_expire(tmp_path: Any) -> None:
    """``athena tokens create --name --expires DAYS``: the token's end shows in the token list."""
    import os

    from app.asgi import create_app
    from app.config import Settings
    from tests.test_cli import athena

    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": ""}
    outputs, _ = athena(
        ["workspaces", "create", "Ops", "--organization", "org-cli"],
        ["users", "create", "ops@example.test", "--password", "pw", "--workspace", "Ops"],
        ["tokens", "create", "ops@example.test", "--name", "deploy bot", "--expires", "7"],
        env=env,
        cwd=tmp_path,
    )
    token = outputs[2].strip()
    app = create_app(Settings(database_url=url, redis_url=None, secret_key="cli-test"))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://cli.test") as client:
            listed = await client.get(f"{API}/user/tokens", headers={"Authorization": f"Bearer {token}"})
        # A second token, then past its end: the shell's list says so rather than "active".
        athena(["tokens", "create", "ops@example.test", "--name", "old", "--expires", "1"], env=env, cwd=tmp_path)
        async with app.state.services.db.write() as session:
            await session.execute(
                update(ApiToken).where(ApiToken.name == "old").values(expires_at=dt.datetime.now(dt.UTC))
            )
    finally:
        await app.state.services.close()
    (row,) = listed.json()["data"]
    assert row["name"] == "deploy bot" and row["current"]
    left = parse(row["expires_at"]) - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=6, hours=23) < left <= dt.timedelta(days=7)  # fixed: not a sign-in token

    (shown,), _ = athena(["tokens", "list", "ops@example.test"], env=env, cwd=tmp_path)
    old, bot = shown.strip().splitlines()  # newest first
    assert old.split()[1:3] == ["expired", "old"]
    assert bot.split()[1:4] == ["active", "deploy", "bot"]
    assert f"expires {parse(row['expires_at']):%Y-%m-%d %H:%M}" in bot and "last used 20" in bot
