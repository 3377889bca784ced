"""``athena workspaces``, ``users`` and ``tokens``: accounts managed from the shell."""

from __future__ import annotations

import uuid

import click

from app.cli.context import CliContext, run

ROLES = ["viewer", "operator", "approver", "admin"]


@click.group(name="workspaces", help="Manage workspaces.")
def workspaces() -> None: ...


@workspaces.command(name="create")
@click.argument("name")
@click.option("--organization", "organization", required=True, help="Organization multiplai id (created if new).")
def workspaces_create(name: str, organization: str) -> None:
    """Create a workspace (and its organization when new)."""
    ws = run(lambda s: s.accounts.create_workspace(name, organization))
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
    """Create a user (or reset one's password) with a role in a workspace."""
    from app.db.models import Role

    user = run(lambda s: s.accounts.create_user(email, password, name=name, workspace=workspace, role=Role(role)))
    click.echo(f"user {user.uuid} {user.email} is {role} in {workspace}")


@users.command(name="remove-membership")
@click.argument("email")
@click.option("--workspace", required=True, help="Workspace uuid or name.")
def users_remove_membership(email: str, workspace: str) -> None:
    """Take a user out of a workspace."""
    run(lambda s: s.accounts.remove_membership_of(email, workspace))
    click.echo(f"{email} is no longer a member of {workspace}")


@users.command(name="deactivate")
@click.argument("email")
def users_deactivate(email: str) -> None:
    """Stop a user signing in and revoke their tokens and sessions (their history stays)."""
    revoked = run(lambda s: s.accounts.set_active(email, False))
    click.echo(f"{email} is deactivated; revoked {revoked} token(s)")


@users.command(name="activate")
@click.argument("email")
def users_activate(email: str) -> None:
    """Let a deactivated user sign in again (with new tokens: the old ones stay revoked)."""
    run(lambda s: s.accounts.set_active(email, True))
    click.echo(f"{email} can sign in again")


@click.group(name="tokens", help="Manage API tokens.")
def tokens() -> None: ...


@tokens.command(name="create")
@click.argument("email")
@click.option("--name", default="cli", show_default=True, help="A label for the token.")
@click.option("--expires", "expires_days", type=float, default=None, help="Days until it expires (default: never).")
def tokens_create(email: str, name: str, expires_days: float | None) -> None:
    """Create an API token for a user and print it once."""
    import datetime as dt

    if expires_days is not None and expires_days <= 0:
        raise click.UsageError("--expires must be a positive number of days.")
    expires_at = dt.datetime.now(dt.UTC) + dt.timedelta(days=expires_days) if expires_days else None

    async def make(s: CliContext) -> str:
        user_id = await s.accounts.user_id_by_email(email)
        return await s.accounts.create_token(user_id, name=name, expires_at=expires_at)

    click.echo(run(make))
    click.echo("Store it now: it is not shown again.", err=True)


@tokens.command(name="list")
@click.argument("email")
def tokens_list(email: str) -> None:
    """List a user's tokens (never their secrets)."""

    async def make(s: CliContext) -> list[dict[str, object]]:
        return await s.accounts.list_tokens(await s.accounts.user_id_by_email(email))

    for t in run(make):
        click.echo(_token_line(t))


def _token_line(t: dict[str, object]) -> str:
    """One token: uuid, state (active, expired, revoked), name, then when it was created, last
    used and ends (UTC), as GET /api/v1/user/tokens gives them."""
    import datetime as dt

    def at(value: object) -> dt.datetime | None:
        if not isinstance(value, dt.datetime):
            return None
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)  # SQLite hands back naive UTC

    def when(value: object) -> str:
        moment = at(value)
        return f"{moment:%Y-%m-%d %H:%M}" if moment else "never"

    expires = at(t["expires_at"])
    if t["revoked_at"]:
        state = "revoked"
    elif expires is not None and expires <= dt.datetime.now(dt.UTC):
        state = "expired"
    else:
        state = "active"
    return (
        f"{t['uuid']}  {state:7}  {t['name']}  created {when(t['created_at'])}"
        f"  last used {when(t['last_used_at'])}  expires {when(t['expires_at'])}"
    )


@tokens.command(name="revoke")
@click.argument("email")
@click.option("--token", "token_uuid", default=None, help="The token's uuid (from `tokens list`).")
@click.option("--all", "revoke_all", is_flag=True, help="Every token and dashboard session of the user.")
def tokens_revoke(email: str, token_uuid: str | None, revoke_all: bool) -> None:
    """Revoke one token, or every token and session of a user."""
    if bool(token_uuid) == revoke_all:
        raise click.UsageError("Give either --token UUID or --all.")
    try:
        target = uuid.UUID(token_uuid) if token_uuid else None
    except ValueError:
        raise click.UsageError("--token must be a token uuid (see `athena tokens list`).") from None

    async def make(s: CliContext) -> int:
        return await s.accounts.revoke_tokens(await s.accounts.user_id_by_email(email), target)

    click.echo(f"revoked {run(make)} token(s) of {email}")
