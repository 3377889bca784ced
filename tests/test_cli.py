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
from app.db.migrate import head_revision, script_heads

# One process runs several commands through ``app.cli.main`` (the ``athena`` console script),
# paying the imports once instead of once per command. Each command's output ends with a record
# separator.
DRIVER = """
import json, sys
from app.cli import main
for argv in json.loads(sys.argv[1]):
    try:
        main(argv)
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
                ["database", "show-current-revision"],  # Litestar's CLI (advanced-alchemy), through ours
                env=env,
                cwd=tmp_path,
            )
            listed, removed, revoked, revision = (out.strip() for out in outputs)
            assert [line.split()[1:3] for line in listed.splitlines()] == [["active", "sign-in"], ["active", "ci"]]
            assert secret not in listed  # secrets are never shown again
            assert removed == "ops@example.test is no longer a member of Ops Team"
            assert revoked == "revoked 2 token(s) of ops@example.test"
            assert revision.splitlines()[-1] == f"{head_revision()} (head)"
            for old in (secret, signed_in.json()["data"]["token"]):
                assert (await client.get("/api/v1/user", headers={"Authorization": f"Bearer {old}"})).status_code == 401
            again = await client.post(
                "/api/v1/auth/sign-in", json={"email": "ops@example.test", "password": "s3cret pass"}
            )
            assert again.json()["data"]["user"]["workspaces"] == []
    finally:
        await app.state.services.close()


HEAVY = ("sqlalchemy", "litestar", "alembic", "advanced_alchemy", "redis", "uvicorn", "argon2", "app.asgi")
PROBE = """
import json, sys
from app.cli import main
try:
    main(json.loads(sys.argv[1]))
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {"sqlalchemy", "litestar", "alembic",
      "advanced_alchemy", "redis", "uvicorn", "argon2"} or m.startswith("app.") and not m.startswith("app.cli"))))
"""


def test_help_loads_no_app_code(tmp_path: Path) -> None:
    """``athena --help`` and every command's ``--help`` list the commands from click alone: nothing
    of the app, its database layer, Litestar, Alembic or Redis is imported (that took seconds)."""
    for argv in (["--help"], ["users", "create", "--help"], ["tokens", "--help"], ["purge", "--help"], ["serve", "-h"]):
        done = subprocess.run(
            [sys.executable, "-c", PROBE, json.dumps(argv)], cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        *help_lines, modules = done.stdout.splitlines()
        help_text, loaded = "\n".join(help_lines), json.loads(modules)
        assert "Usage: athena" in help_text, help_text
        assert loaded == [], (argv, loaded)
        if argv == ["--help"]:
            for command in ("serve", "users", "tokens", "workspaces", "purge", "day-counts", "demo", "database"):
                assert re.search(rf"^  {command} ", help_text, re.MULTILINE), (command, help_text)


def test_unknown_command_is_a_usage_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(["nonsense"])], cwd=tmp_path, capture_output=True, text=True
    )
    assert "No such command 'nonsense'" in done.stderr


def test_script_heads_read_without_alembic_match_alembics() -> None:
    """The CLI skips Alembic when the database is at the heads it reads from the version files."""
    assert script_heads() == {head_revision()}


def test_nothing_in_the_app_imports_the_cli() -> None:
    """``app.cli`` sits on top (only ``python -m app`` imports it): a module below it importing it
    back (even inside a function) made the cycle app.cli <-> app.asgi / app.demo it replaced."""
    import ast

    root = Path(__file__).resolve().parent.parent / "app"
    offenders = []
    for path in root.rglob("*.py"):
        if path.is_relative_to(root / "cli") or path == root / "__main__.py":  # the two entry points
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            if any(name == "app.cli" or name.startswith("app.cli.") for name in names):
                offenders.append(str(path.relative_to(root)))
    assert offenders == []


async def test_a_deactivated_user_is_shut_out_and_can_be_let_back_in(tmp_path: Path) -> None:
    """``athena users deactivate`` (someone who left): their token answers 401 at once and their
    sign-in gets the wrong-password answer; ``activate`` lets them sign in again, the old token
    staying revoked."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": ""}
    outputs, _ = athena(
        ["workspaces", "create", "Ops", "--organization", "org-cli"],
        ["users", "create", "leaver@example.test", "--password", "pw pw pw", "--workspace", "Ops"],
        ["tokens", "create", "leaver@example.test"],
        env=env,
        cwd=tmp_path,
    )
    old = {"Authorization": f"Bearer {outputs[2].strip()}"}
    credentials = {"email": "leaver@example.test", "password": "pw pw pw"}
    wrong = {"email": "leaver@example.test", "password": "not it"}
    app = create_app(Settings(database_url=url, redis_url=None, secret_key="cli-test"))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://cli.test") as client:
            assert (await client.get("/api/v1/user", headers=old)).status_code == 200
            (said,), _ = athena(["users", "deactivate", "leaver@example.test"], env=env, cwd=tmp_path)
            assert said.strip() == "leaver@example.test is deactivated; revoked 1 token(s)"
            assert (await client.get("/api/v1/user", headers=old)).status_code == 401
            refused = await client.post("/api/v1/auth/sign-in", json=credentials)
            guessed = await client.post("/api/v1/auth/sign-in", json=wrong)
            assert refused.status_code == guessed.status_code == 422
            assert refused.json() == guessed.json()  # no telling a deactivated account from a wrong password

            (said,), _ = athena(["users", "activate", "leaver@example.test"], env=env, cwd=tmp_path)
            assert said.strip() == "leaver@example.test can sign in again"
            back = await client.post("/api/v1/auth/sign-in", json=credentials)
            assert back.status_code == 200, back.text
            fresh = {"Authorization": f"Bearer {back.json()['data']['token']}"}
            assert (await client.get("/api/v1/user", headers=fresh)).status_code == 200
            assert (await client.get("/api/v1/user", headers=old)).status_code == 401
    finally:
        await app.state.services.close()
