"""The ``athena`` admin commands, run in a real process against a temporary SQLite database."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx

from app.asgi import create_app
from app.config import Settings

# One process runs the three commands through the click group of the ``athena`` console script
# (``app.__main__:main`` is ``litestar_group()`` with LITESTAR_APP set), paying the ~3 s of imports
# once instead of three times. Each command's output ends with a record separator.
DRIVER = """
import json, os, sys
os.environ.setdefault("LITESTAR_APP", "app.asgi:create_app")
from litestar.cli.main import litestar_group
for argv in json.loads(sys.argv[1]):
    try:
        litestar_group.main(args=argv, prog_name="athena")
    except SystemExit as exc:
        if exc.code:
            raise
    print("\\x1e", flush=True)
    print("\\x1e", file=sys.stderr, flush=True)
"""


def athena(*commands: list[str], env: dict[str, str], cwd: Path) -> tuple[list[str], list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, json.dumps(commands)],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split("\x1e")[:-1], done.stderr.split("\x1e")[:-1]


async def test_workspace_user_and_token_commands(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": ""}

    outputs, errors = athena(
        ["workspaces", "create", "Ops Team", "--organization", "org-cli"],
        [
            "users",
            "create",
            "Ops@Example.TEST",
            "--password",
            "s3cret pass",
            "--workspace",
            "Ops Team",
            "--role",
            "operator",
        ],
        ["tokens", "create", "ops@example.test", "--name", "ci"],
        env=env,
        cwd=tmp_path,
    )
    made, user, token = (out.strip() for out in outputs)
    workspace_uuid = re.fullmatch(r"workspace ([0-9a-f-]{36}) 'Ops Team' in organization 'org-cli'", made)
    assert workspace_uuid, made
    assert re.fullmatch(r"user [0-9a-f-]{36} ops@example.test is operator in Ops Team", user), user
    secret = token
    assert re.fullmatch(r"ath_[A-Za-z0-9_-]{43}", secret), token
    assert "not shown again" in errors[2]

    # The token works against the same database, with the role the CLI gave.
    app = create_app(Settings(database_url=url, redis_url=None, secret_key="cli-test"))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://cli.test") as client:
            me = await client.get("/api/v1/user", headers={"Authorization": f"Bearer {secret}"})
            assert me.status_code == 200, me.text
            data = me.json()["data"]
            assert data["email"] == "ops@example.test"
            assert data["workspaces"] == [
                {
                    "uuid": workspace_uuid.group(1),
                    "name": "Ops Team",
                    "organization_multiplai_id": "org-cli",
                    "role": "operator",
                }
            ]
            signed_in = await client.post(
                "/api/v1/auth/sign-in", json={"email": "ops@example.test", "password": "s3cret pass"}
            )
            assert signed_in.status_code == 200

            outputs, _ = athena(
                ["tokens", "list", "ops@example.test"],
                ["users", "remove-membership", "ops@example.test", "--workspace", "Ops Team"],
                ["tokens", "revoke", "ops@example.test", "--all"],
                env=env,
                cwd=tmp_path,
            )
            listed, removed, revoked = (out.strip() for out in outputs)
            assert [line.split()[1:3] for line in listed.splitlines()] == [["active", "sign-in"], ["active", "ci"]]
            assert secret not in listed  # secrets are never shown again
            assert removed == "ops@example.test is no longer a member of Ops Team"
            assert revoked == "revoked 2 token(s) of ops@example.test"
            for old in (secret, signed_in.json()["data"]["token"]):
                assert (await client.get("/api/v1/user", headers={"Authorization": f"Bearer {old}"})).status_code == 401
            again = await client.post(
                "/api/v1/auth/sign-in", json={"email": "ops@example.test", "password": "s3cret pass"}
            )
            assert again.json()["data"]["user"]["workspaces"] == []
    finally:
        await app.state.services.close()
