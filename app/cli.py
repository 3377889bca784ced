"""Our commands on Litestar's CLI: ``athena serve``, ``workspaces``, ``users``, ``tokens``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click
from litestar.plugins import CLIPluginProtocol

T = TypeVar("T")
ROLES = ["viewer", "operator", "approver", "admin"]


def _run(make: Callable[..., Awaitable[T]]) -> T:
    """Run a coroutine against a fresh Services (migrated database), then close it."""
    from app.config import get_settings
    from app.db.migrate import upgrade_to_head
    from app.services import Services

    upgrade_to_head()

    from app.lib.errors import AppError

    async def runner() -> T:
        services = Services.build(get_settings())
        try:
            return await make(services)
        finally:
            await services.close()

    try:
        return asyncio.run(runner())
    except AppError as exc:  # a clear one-line error, not a traceback
        raise click.ClickException(exc.message) from None


@click.command(name="serve", help="Migrate the database, then serve the app (production server).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    import os

    import uvicorn

    from app.db.migrate import upgrade_to_head
    from app.ops.logs import configure_logging

    # JSON logs by default in production; create_app applies the same settings in the server.
    os.environ.setdefault("LOG_FORMAT", "json")
    configure_logging(os.environ["LOG_FORMAT"], os.environ.get("LOG_LEVEL", "info"))
    upgrade_to_head()
    click.echo(f"Athena Monitor on http://{host}:{port}  (API docs: /schema)")
    uvicorn.run(
        "app.asgi:create_app",
        factory=True,
        host=host,
        port=port,
        ws_per_message_deflate=False,  # ~70 KiB per socket and a compression per client per message
        ws_max_size=64 * 1024,
        # Slow clients (docs/reliability.md): a deadline and a size bound on every request head,
        # idle keep-alive connections closed after 5 s, h11's buffer bounded as well.
        http=_http_protocol(),
        timeout_keep_alive=5,
        h11_max_incomplete_event_size=16 * 1024,
        proxy_headers=True,
        log_config=None,  # ours (LOG_FORMAT), not uvicorn's: its loggers propagate to the root handler
        log_level=os.environ.get("LOG_LEVEL", "info").lower(),
    )


def _http_protocol() -> type:
    """uvicorn's HTTP protocol (httptools when installed, else h11) with the request-head deadline."""
    from app.ops.http_guard import GuardedH11Protocol, GuardedHttpToolsProtocol

    try:
        import httptools  # noqa: F401
    except ImportError:
        return GuardedH11Protocol
    return GuardedHttpToolsProtocol


@click.group(name="workspaces", help="Manage workspaces.")
def workspaces() -> None: ...


@workspaces.command(name="create")
@click.argument("name")
@click.option("--organization", "organization", required=True, help="Organization multiplai id (created if new).")
def workspaces_create(name: str, organization: str) -> None:
    ws = _run(lambda s: s.accounts.create_workspace(name, organization))
    click.echo(f"workspace {ws.uuid} {name!r} in organization {organization!r}")


@click.group(name="users", help="Manage users.")
def users() -> None: ...


@users.command(name="create")
@click.argument("email")
@click.option("--password", required=True, help="Password (argon2id); resets an existing user's.")
@click.option("--workspace", required=True, help="Workspace uuid or name.")
@click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True)
@click.option("--name", default="", help="Display name.")
def users_create(email: str, password: str, workspace: str, role: str, name: str) -> None:
    from app.db.models import Role

    user = _run(lambda s: s.accounts.create_user(email, password, name=name, workspace=workspace, role=Role(role)))
    click.echo(f"user {user.uuid} {user.email} is {role} in {workspace}")


@click.group(name="tokens", help="Manage API tokens.")
def tokens() -> None: ...


@tokens.command(name="create")
@click.argument("email")
@click.option("--name", default="cli", show_default=True, help="A label for the token.")
@click.option("--expires", "expires_days", type=float, default=None, help="Days until it expires (default: never).")
def tokens_create(email: str, name: str, expires_days: float | None) -> None:
    import datetime as dt

    if expires_days is not None and expires_days <= 0:
        raise click.UsageError("--expires must be a positive number of days.")
    expires_at = dt.datetime.now(dt.UTC) + dt.timedelta(days=expires_days) if expires_days else None

    async def make(s):  # type: ignore[no-untyped-def]
        user_id = await s.accounts.user_id_by_email(email)
        return await s.accounts.create_token(user_id, name=name, expires_at=expires_at)

    token = _run(make)
    click.echo(token)
    click.echo("Store it now: it is not shown again.", err=True)


@users.command(name="remove-membership")
@click.argument("email")
@click.option("--workspace", required=True, help="Workspace uuid or name.")
def users_remove_membership(email: str, workspace: str) -> None:
    _run(lambda s: s.accounts.remove_membership_of(email, workspace))
    click.echo(f"{email} is no longer a member of {workspace}")


@tokens.command(name="list")
@click.argument("email")
def tokens_list(email: str) -> None:
    async def make(s):  # type: ignore[no-untyped-def]
        return await s.accounts.list_tokens(await s.accounts.user_id_by_email(email))

    for t in _run(make):
        state = "revoked" if t["revoked_at"] else "active"
        click.echo(f"{t['uuid']}  {state:7}  {t['name']}  created {t['created_at']:%Y-%m-%d %H:%M}")


@tokens.command(name="revoke")
@click.argument("email")
@click.option("--token", "token_uuid", default=None, help="The token's uuid (from `tokens list`).")
@click.option("--all", "revoke_all", is_flag=True, help="Every token and dashboard session of the user.")
def tokens_revoke(email: str, token_uuid: str | None, revoke_all: bool) -> None:
    import uuid

    if bool(token_uuid) == revoke_all:
        raise click.UsageError("Give either --token UUID or --all.")
    try:
        target = uuid.UUID(token_uuid) if token_uuid else None
    except ValueError:
        raise click.UsageError("--token must be a token uuid (see `athena tokens list`).") from None

    async def make(s):  # type: ignore[no-untyped-def]
        return await s.accounts.revoke_tokens(await s.accounts.user_id_by_email(email), target)

    click.echo(f"revoked {_run(make)} token(s) of {email}")


class AthenaCLIPlugin(CLIPluginProtocol):
    def on_cli_init(self, cli: click.Group) -> None:
        from app.day_counts_cli import day_counts
        from app.demo.cli import DEMO_COMMANDS  # lazy: app.demo imports app.asgi, which imports us
        from app.trash_cli import purge

        for command in (serve, workspaces, users, tokens, purge, day_counts, *DEMO_COMMANDS):
            cli.add_command(command)
